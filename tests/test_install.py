"""elmai installs like a library: a wheel built from this checkout, installed with its
declared dependencies into a fresh virtual environment (no access to .venv or to the
checkout), runs `elmai --help`, `elmai check` on a restart, `elmai spinup` with the shipped
model (the core's dependencies only: no apps extra) and `python -m elmai.config`.

The wheel compiles the core (about a minute on 2 cores); the fresh environment gets
torch==2.13.0 and the declared dependencies from the pip configuration `make setup` uses
(the local wheel folder and package indexes). About 2-3 minutes in all on 2 cores. Marked
`network` (pip may reach a package index): deselect with `-m 'not network'` offline.
ELMAI_INSTALL_SRC builds another source tree instead of this checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from elmai.apps.testbed.run import run_testbed
from elmai.io.sample_restart import make_sample_restart
from tests.conftest import ROOT

pytestmark = pytest.mark.network

TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.13.0")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    src = Path(os.environ.get("ELMAI_INSTALL_SRC", ROOT))
    # nothing from the checkout or .venv leaks in: no PYTHONPATH, no ELMAI_DATA
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ELMAI_DATA", "VIRTUAL_ENV")}
    dist, build = tmp_path / "dist", tmp_path / "build"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",  # against this environment's torch, as `make setup` builds
            "--no-deps",
            f"-Cbuild-dir={build}",  # not the checkout's build/: other builds may be running
            "-w",
            str(dist),
            str(src),
        ],
        tmp_path,
        env,
    )
    (wheel,) = dist.glob("elmai-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    py, bin_ = venv / "bin" / "python", venv / "bin"
    _run([str(py), "-m", "pip", "install", "-q", TORCH_SPEC, str(wheel)], tmp_path, env)

    work = tmp_path / "work"  # not the checkout: `import elmai` must find the installed copy
    work.mkdir()
    where = _run(
        [str(py), "-c", "import elmai, json; print(json.dumps([elmai.__file__, elmai.__version__]))"],
        work,
        env,
    )
    file, version = json.loads(where.stdout)
    assert (
        str(venv) in file
        and version
        == _run(
            [str(py), "-c", "import importlib.metadata as m; print(m.version('elmai'))"], work, env
        ).stdout.strip()
    )

    helped = _run([str(bin_ / "elmai"), "--help"], work, env)
    for command in ("restart", "check", "train", "spinup", "timeseries"):
        assert command in helped.stdout

    restart = work / "case.elm.r.0021-01-01-00000.nc"
    make_sample_restart(restart, ngridcells=20, seed=3)
    checked = subprocess.run(
        [str(bin_ / "elmai"), "check", str(restart)], cwd=work, env=env, capture_output=True, text=True
    )
    assert checked.returncode in (0, 1), checked.stderr  # 1: a rule failed; never a crash
    assert "Traceback" not in checked.stderr and checked.stdout.strip()

    # the core alone (no apps extra: no scipy, xarray, matplotlib, global-land-mask here)
    # spins up with the shipped model through the C++ runner
    absent = _run([str(py), "-c", "import importlib.util as u; print([m for m in ('scipy', 'xarray', "
                   "'matplotlib', 'global_land_mask') if u.find_spec(m)])"], work, env).stdout  # fmt: skip
    assert absent.strip() == "[]"
    run_testbed(work / "world", resolution=10.0, years=4, forcing_years=4, progress=False)  # this env's apps
    early = work / "world" / "elmai_testbed.elm.r.0005-01-01-00000.nc"
    spinup = [str(bin_ / "elmai"), "spinup", "--restart", str(early), "--out", "ai.nc", "--force"]
    spun = _run(spinup, work, env)
    assert "shipped" in spun.stdout and (work / "ai.nc").exists()

    libs = _run([str(py), "-m", "elmai.config", "--libs"], work, env).stdout
    assert "-lelmai_fortran -lelmai" in libs and str(venv) in libs
    # the package's data search does not guess paths outside a source checkout
    missing = subprocess.run(
        [str(py), "-c", "from elmai.apps.uq.uci import data_dir; data_dir()"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "ELMAI_DATA" in missing.stderr
