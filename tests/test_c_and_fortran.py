"""The C ABI and the Fortran module read restarts exactly as netCDF4-python does, and
report every failure as a status code and a message without stopping the program."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import elmai
from tests.compiled import compile_program, run_program
from tests.conftest import ROOT, read_all_netcdf4


@pytest.fixture(scope="module")
def c_reader(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("c") / "read_restart"
    return compile_program(ROOT / "csrc" / "tests" / "read_restart.c", out)


@pytest.fixture(scope="module")
def fortran_reader(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("f") / "read_restart"
    return compile_program(ROOT / "fortran_bridge" / "tests" / "read_restart.F90", out)


@pytest.mark.parametrize("var", ["soil4c_vr", "pfts1d_itypveg", "spinup_state", "deadstemc"])
def test_c_abi_reads_like_netcdf4(c_reader: Path, any_restart: Path, var: str) -> None:
    done = run_program(c_reader, str(any_restart), var)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {key: value for key, _, value in (line.partition(" ") for line in done.stdout.splitlines())}
    expected = read_all_netcdf4(any_restart)[var]
    assert tuple(int(x) for x in lines["shape"].split()) == expected.shape
    values = expected.astype(np.float64).ravel()
    fill = values >= 1e35
    assert int(lines["nfill"]) == fill.sum()
    assert float(lines["sum"]) == pytest.approx(values[~fill].sum(), rel=1e-12)
    assert float(lines["first"]) == values[0] and float(lines["last"]) == values[-1]
    assert lines["errors"] == "ok"


def test_fortran_reads_elm_arrays_without_transpose(fortran_reader: Path, any_restart: Path) -> None:
    done = run_program(fortran_reader, str(any_restart))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout
    ref = read_all_netcdf4(any_restart)
    out = {}
    for line in done.stdout.splitlines():
        key, _, value = line.rpartition(" ")
        out[key.strip()] = value
    ncol, nlev = ref["soil4c_vr"].shape
    assert f"soil4c_vr shape {nlev} {ncol}" in done.stdout
    assert float(out["soil4c_vr column 1 level 1"]) == ref["soil4c_vr"][0, 0]
    assert float(out["soil4c_vr column 2 level 3"]) == ref["soil4c_vr"][1, 2]
    assert float(out["tlai sum"]) == pytest.approx(ref["tlai"].sum(), rel=1e-14)
    assert int(out["spinup_state"]) == int(ref["spinup_state"])
    assert out["elmai version"] == elmai.__version__  # one version: pyproject.toml
