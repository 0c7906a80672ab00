"""`elmai spinup` and Fortran example 03 on a small testbed case with a briefly trained
model: the pools written are the model's (checked against eager torch), N and P follow
by stoichiometry, the file passes every check, the input is never touched, AD-mode files
get deflated pools, bad inputs get clear errors, and the in-model Fortran spin-up writes
the same pools as the CLI."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch

import elmai
from elmai.data import build_dataset
from elmai.data.features import PFT_POOLS, SOIL_VARS
from elmai.errors import ElmaiError
from elmai.io.elm_params import SOIL_CP, default_params
from elmai.io.soil_levels import DZSOI_DECOMP
from elmai.spinup import SpinupCheckError, ai_spinup
from elmai.spinup.run import early_inputs
from elmai.testbed.run import run_testbed
from elmai.training.config import TrainConfig
from elmai.training.export import export
from elmai.training.trainer import load_model, train
from tests.compiled import compile_program, run_program

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "fortran_bridge" / "examples" / "03_spinup_in_model" / "spinup_in_model.F90"
ELMAI = str(Path(sys.executable).with_name("elmai"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ai")
    case = root / "case"
    run_testbed(case, resolution=10.0, years=4, forcing_years=4, equilibrium=True, progress=False)
    build_dataset(case, 5, root / "ds.nc")
    cfg = TrainConfig(dataset=str(root / "ds.nc"), out=str(root / "run"), epochs=4, batch_size=32, lr=0.003)
    train(cfg, progress=False)
    export(root / "run" / "best.pt", root / "model.pt")
    return {
        "root": root,
        "early": case / "elmai_testbed.elm.r.0005-01-01-00000.nc",
        "model": root / "model.pt",
        "best": root / "run" / "best.pt",
    }


def test_spinup_writes_the_models_pools_checked_and_leaves_the_input_alone(
    trained: dict, tmp_path: Path
) -> None:
    early, out = trained["early"], tmp_path / "ai.elm.r.0005-01-01-00000.nc"
    before = sha(early)
    res = ai_spinup(early, trained["model"], out)
    assert sha(early) == before and res.checks_ok and elmai.check_restart(out).ok
    # the pools are the eager model's prediction on the same inputs (independent path: torch)
    inputs, cells = early_inputs(
        early,
        *sorted(early.parent.glob("*.datm.forcing.nc")),
        *sorted(early.parent.glob("surfdata_*.nc")),
        default_params(),
    )
    eager, _ = load_model(trained["best"])
    names = ("forcing", "static", "pft_weight", "pft_early", "soil_early", "soil_rate")
    with torch.no_grad():
        pft, soil = (
            t.double().numpy() for t in eager(*(torch.tensor(inputs[n], dtype=torch.float32) for n in names))
        )
    with netCDF4.Dataset(out) as ds, netCDF4.Dataset(early) as e0:
        s4 = ds["soil4c_vr"][:][cells.column, :10]
        np.testing.assert_allclose(s4, soil[..., SOIL_VARS.index("soil4c_vr")], rtol=1e-5)
        np.testing.assert_allclose(
            ds["soil4n_vr"][:][cells.column, :10], s4 / default_params().soil_cn[3], rtol=1e-12
        )
        np.testing.assert_allclose(ds["soil4p_vr"][:][cells.column, :10], s4 / SOIL_CP[3], rtol=1e-12)
        present = cells.pft_index >= 0
        dead = ds["deadstemc"][:][cells.pft_index[present]]
        np.testing.assert_allclose(
            dead, pft[..., PFT_POOLS.index("deadstemc")][present], rtol=1e-5, atol=1e-6
        )
        stock = sum(ds[f"soil{k}c_vr"][:][:, :10] @ DZSOI_DECOMP for k in range(1, 5))
        np.testing.assert_allclose(ds["totsomc"][:], stock, rtol=1e-9)
        # litter keeps the early C:N where it held carbon
        c0, n0 = e0["litr2c_vr"][:][:, :10], e0["litr2n_vr"][:][:, :10]
        c1, n1 = ds["litr2c_vr"][:][:, :10], ds["litr2n_vr"][:][:, :10]
        held = c0 > 1e-6
        np.testing.assert_allclose(n1[held] / c1[held], n0[held] / c0[held], rtol=1e-9)
        assert "elmai spinup" in ds.history
    assert res.totals_pgc["ai"]["soil4"] > res.totals_pgc["early"]["soil4"]


def test_cli_prints_totals_and_checks(trained: dict, tmp_path: Path) -> None:
    out = tmp_path / "ai.nc"
    proc = subprocess.run(
        [
            ELMAI,
            "spinup",
            "--restart",
            str(trained["early"]),
            "--model",
            str(trained["model"]),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "soil4" in proc.stdout and "absent_pft_pools" in proc.stdout and f"wrote {out}" in proc.stdout


def test_ad_mode_restart_gets_deflated_pools(trained: dict, tmp_path: Path) -> None:
    ad_case = tmp_path / "ad"
    run_testbed(ad_case, resolution=10.0, years=4, forcing_years=4, spinup="ad", progress=False)
    early = ad_case / "elmai_testbed.elm.r.0005-01-01-00000.nc"
    normal = tmp_path / "normal.nc"
    ai_spinup(trained["early"], trained["model"], normal)
    out = tmp_path / "ai_ad.nc"
    res = ai_spinup(early, trained["model"], out)
    assert res.checks_ok
    with netCDF4.Dataset(out) as ds:
        assert int(ds["spinup_state"][:]) == 1
        scal = ds["scalaravg_col"][:][:, :10]
        s4 = ds["soil4c_vr"][:][:, :10]
    # continuing in normal mode inflates soil4 by 70/scalaravg: it must match what the model predicted
    inputs, cells = early_inputs(
        early,
        *sorted(ad_case.glob("*.datm.forcing.nc")),
        *sorted(ad_case.glob("surfdata_*.nc")),
        default_params(),
    )
    pred = elmai.Model(trained["model"])(
        *(
            np.ascontiguousarray(inputs[n], dtype=np.float32)
            for n in ("forcing", "static", "pft_weight", "pft_early", "soil_early", "soil_rate")
        )
    )[1]
    np.testing.assert_allclose(
        s4[cells.column] * 70.0 / np.maximum(scal[cells.column], 1e-3), pred[..., 7], rtol=1e-5
    )


def test_refuses_bad_inputs_and_failing_results(trained: dict, tmp_path: Path) -> None:
    early = trained["early"]
    with pytest.raises(ElmaiError, match="never modifies its input"):
        ai_spinup(early, trained["model"], early)
    lonely = tmp_path / "lonely.nc"
    lonely.write_bytes(early.read_bytes())
    with pytest.raises(FileNotFoundError, match="--forcing"):
        ai_spinup(lonely, trained["model"], tmp_path / "x.nc")
    # a restart that breaks a check the merge does not touch: refused, nothing written; --force keeps it
    broken = early.parent / "broken.elm.r.0005-01-01-00000.nc"
    broken.write_bytes(early.read_bytes())
    with netCDF4.Dataset(broken, "r+") as ds:  # elmai's writer refuses NaN: break it with another
        ds["sminn"][3] = np.nan
    out = tmp_path / "ai.nc"
    try:
        with pytest.raises(SpinupCheckError, match="finite"):
            ai_spinup(broken, trained["model"], out)
        assert not out.exists() and not list(tmp_path.glob(".*unchecked"))
        res = ai_spinup(broken, trained["model"], out, force=True)
        assert out.exists() and not res.checks_ok
    finally:
        broken.unlink()


def test_fortran_example_03_matches_the_cli(trained: dict, tmp_path: Path) -> None:
    out, inputs = tmp_path / "ai.nc", tmp_path / "inputs.nc"
    ai_spinup(trained["early"], trained["model"], out, save_inputs=inputs)
    exe = compile_program(EXAMPLE, tmp_path / "spinup_in_model")
    proc = run_program(exe, str(trained["model"]), str(trained["early"]), str(inputs), str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    worst = float(proc.stdout.strip().splitlines()[-1].split(":")[-1])
    assert worst <= 1e-6
