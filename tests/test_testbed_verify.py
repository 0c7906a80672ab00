"""`elmai testbed verify`: continue from a restart in the same world and report the CLM5
criterion year by year (table + PNG); works on restarts elmai rewrote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import elmai
from elmai.apps.testbed.run import run_testbed
from elmai.apps.testbed.verify import verify


@pytest.fixture(scope="module")
def equilibrium_restart(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("eq")
    result = run_testbed(out, resolution=10, years=3, forcing_years=3, spinup="matrix", progress=False)
    return result.restarts[-1]


def test_verify_an_equilibrium_restart(equilibrium_restart: str, tmp_path: Path) -> None:
    result = verify(equilibrium_restart, years=3, out=tmp_path, progress=False)
    assert [y.year for y in result.years] == [4, 5, 6]  # continues from the restart's year
    assert result.balance_failures == 0
    assert result.years[-1].disequilibrium_area < 0.03
    assert (tmp_path / "verify.png").stat().st_size > 10_000


def test_verify_a_perturbed_restart_elmai_wrote(equilibrium_restart: str, tmp_path: Path) -> None:
    """Half the passive soil carbon (a poor AI prediction) is far from equilibrium."""
    with elmai.open_restart(equilibrium_restart) as r:
        updates = {f"soil4{e}_vr": r.read(f"soil4{e}_vr") * 0.5 for e in "cnp"}
    ai = tmp_path / "ai.elm.r.0004-01-01-00000.nc"
    elmai.write_restart(equilibrium_restart, ai, updates, history="perturbed soil4")
    result = verify(ai, years=3, out=tmp_path / "v", progress=False)
    assert result.years[-1].disequilibrium_area > 0.5
    assert np.mean([y.nee_pgc for y in result.years]) < 0  # the soil takes carbon up again


def test_cli_verify(equilibrium_restart: str, tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "elmai",
        "testbed",
        "verify",
        equilibrium_restart,
        "--years",
        "3",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "met in year" in done.stdout and "verify.png" in done.stdout


def test_verify_refuses_files_the_testbed_did_not_write(tmp_path: Path) -> None:
    from elmai.io.sample_restart import make_sample_restart

    path = tmp_path / "other.nc"
    make_sample_restart(path, ngridcells=10)
    with pytest.raises(elmai.errors.VariableNotFoundError, match="not written by the elmai testbed"):
        verify(path, years=1, out=tmp_path / "v", progress=False)
