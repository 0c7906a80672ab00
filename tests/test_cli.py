"""`elmai restart info|diff` and `python -m elmai.config`, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import elmai
from elmai import config
from tests.conftest import read_all_netcdf4


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "elmai", *args], capture_output=True, text=True, timeout=120)


def test_info_table_and_json(elmai_restart: Path) -> None:
    table = run("restart", "info", str(elmai_restart))
    assert table.returncode == 0, table.stderr
    assert "soil4c_vr" in table.stdout and "(column, levgrnd)" in table.stdout
    info = json.loads(run("restart", "info", str(elmai_restart), "--json").stdout)
    ref = read_all_netcdf4(elmai_restart)
    assert info["n_variables"] == len(ref)
    assert info["spinup_state"] == int(ref["spinup_state"])
    assert info["dims"]["levgrnd"] == 15
    present = (ref["pfts1d_wtcol"] > 0) & (ref["pfts1d_itypveg"] > 0)
    assert info["vegetated_pfts"] == int(present.sum())


def test_diff_exit_codes_and_report(elmai_restart: Path, tmp_path: Path) -> None:
    same = tmp_path / "same.nc"
    elmai.write_restart(elmai_restart, same, {})
    done = run("restart", "diff", str(elmai_restart), str(same))
    assert done.returncode == 0, done.stdout
    assert "0 differ" in done.stdout

    soil = read_all_netcdf4(elmai_restart)["soil3c_vr"].copy()
    soil[2, 5] *= 1.001
    changed = tmp_path / "changed.nc"
    elmai.write_restart(elmai_restart, changed, {"soil3c_vr": soil})
    done = run("restart", "diff", str(elmai_restart), str(changed))
    assert done.returncode == 1
    assert "soil3c_vr" in done.stdout and "column=2, levgrnd=5" in done.stdout
    report = json.loads(run("restart", "diff", str(elmai_restart), str(changed), "--json").stdout)
    (entry,) = [v for v in report["variables"] if v["status"] != "equal"]
    assert entry["name"] == "soil3c_vr" and entry["n_diff"] == 1
    assert np.isclose(entry["max_rel"], 0.001 / 1.001)
    # within tolerance counts as equal
    assert run("restart", "diff", str(elmai_restart), str(changed), "--rtol", "0.01").returncode == 0


def test_diff_reports_missing_variables(tmp_path: Path) -> None:
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    elmai.write_netcdf(a, {"x": (("n",), np.arange(3.0)), "y": (("n",), np.zeros(3))})
    elmai.write_netcdf(b, {"x": (("n",), np.arange(3.0)), "z": (("n",), np.zeros(3))})
    done = run("restart", "diff", str(a), str(b))
    assert done.returncode == 1
    assert "only in A" in done.stdout and "only in B" in done.stdout


def test_cli_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    done = run("restart", "info", str(tmp_path / "missing.nc"))
    assert done.returncode == 2
    assert "missing.nc" in done.stderr and "Traceback" not in done.stderr


def test_config_flags_point_at_installed_files() -> None:
    assert (config.fortran_module_dir() / "elmai.mod").is_file()
    assert (config.lib_dir() / "libelmai.so").is_file()
    assert (config.include_dir() / "elmai.h").is_file()
    assert (config.cmake_dir() / "elmaiConfig.cmake").is_file()
    out = subprocess.run([sys.executable, "-m", "elmai.config", "--libs"], capture_output=True, text=True)
    assert "-lelmai_fortran -lelmai" in out.stdout


def test_core_was_built_against_the_running_torch() -> None:
    info = config.build_info()
    assert torch.__version__.split("+")[0] == info["torch"]
    assert int(info["cxx11_abi"]) == int(torch.compiled_with_cxx11_abi())
