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
from elmai.apps.testbed.run import run_testbed
from elmai.data import build_dataset
from elmai.data.features import PFT_POOLS, SOIL_VARS
from elmai.errors import ElmaiError
from elmai.io.elm_params import default_params, read_params
from elmai.io.soil_levels import DZSOI_DECOMP
from elmai.spinup import SpinupCheckError, ai_spinup
from elmai.spinup.input_ranges import OutsideTrainingError
from elmai.spinup.run import early_inputs
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
        read_params(early.parent / "clm_params.nc"),
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
        # soil C:P floats in ELM: soil4 P keeps each cell's early C:P at each level
        c0, p0 = e0["soil4c_vr"][:][cells.column, :10], e0["soil4p_vr"][:][cells.column, :10]
        held = c0 > 1e-9
        p1 = ds["soil4p_vr"][:][cells.column, :10]
        np.testing.assert_allclose(p1[held], (s4 * p0 / c0)[held], rtol=1e-9)
        live = (cells.pft_index >= 0) & (cells.weight > 0)
        dead = ds["deadstemc"][:][cells.pft_index[live]]
        np.testing.assert_allclose(dead, pft[..., PFT_POOLS.index("deadstemc")][live], rtol=1e-5, atol=1e-6)
        # zero-weight pfts and the live vegetation pools keep what the early restart holds
        seed = (cells.pft_index >= 0) & (cells.weight == 0)
        at = cells.pft_index[seed]
        np.testing.assert_array_equal(ds["deadstemc"][:][at], e0["deadstemc"][:][at])
        for fast in ("leafc", "frootc", "livestemc", "leafc_storage", "tlai"):
            np.testing.assert_array_equal(ds[fast][:], e0[fast][:])
        # totals moved by the change of what they sum (ELM's col_cs_summary)
        som = [f"soil{k}c_vr" for k in (1, 2, 3, 4)]
        d_som = sum((ds[v][:][:, :10] - e0[v][:][:, :10]) @ DZSOI_DECOMP for v in som)
        np.testing.assert_allclose(ds["totsomc"][:], e0["totsomc"][:] + d_som, rtol=1e-9, atol=1e-9)
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
    # AD pools scaled to normal mode are far outside what the model saw (normal-mode data
    # only): the guard refuses them, and --force runs the deflation this test is about
    with pytest.raises(OutsideTrainingError, match="--force"):
        ai_spinup(early, trained["model"], out)
    assert not out.exists()
    res = ai_spinup(early, trained["model"], out, force=True)
    assert res.checks_ok and res.input_ranges["beyond_margin"] > 0
    prm = read_params(ad_case / "clm_params.nc")
    factor = prm.ad_factors[7]  # soil4: max(1, 1/(k_s4 * 365)) = 27.4 for ELM's default k_s4
    assert abs(factor - 27.3959) < 1e-3
    with netCDF4.Dataset(out) as ds:
        assert int(ds["spinup_state"][:]) == 1
        scal = ds["scalaravg_col"][:][:, :10]
        s4 = ds["soil4c_vr"][:][:, :10]
    # continuing in normal mode inflates soil4 by factor/scalaravg: it must match what the model predicted
    inputs, cells = early_inputs(
        early,
        *sorted(ad_case.glob("*.datm.forcing.nc")),
        *sorted(ad_case.glob("surfdata_*.nc")),
        prm,
    )
    pred = elmai.Model(trained["model"])(
        *(
            np.ascontiguousarray(inputs[n], dtype=np.float32)
            for n in ("forcing", "static", "pft_weight", "pft_early", "soil_early", "soil_rate")
        )
    )[1]
    np.testing.assert_allclose(
        s4[cells.column] * factor / np.where(scal[cells.column] < 1e-3, 1.0, scal[cells.column]),
        pred[..., 7],
        rtol=1e-5,
    )


def test_refuses_bad_inputs_and_failing_results(trained: dict, tmp_path: Path) -> None:
    early = trained["early"]
    with pytest.raises(ElmaiError, match="never modifies its input"):
        ai_spinup(early, trained["model"], early)
    lonely = tmp_path / "lonely.nc"
    lonely.write_bytes(early.read_bytes())
    with pytest.raises(ElmaiError, match="--forcing"):
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
    """Example 03 gathers the natural-vegetation columns, runs the model through libtorch
    and scatters only the written pools (PFTs of non-zero weight; N and P by the merge's
    rules) exactly as `elmai spinup` does, on the testbed as written and on a layout made
    to reach every rule: gridcells left without natural vegetation, a level that held no
    CWD/soil3 carbon (the column's ratio) and a column without soil4 (1 / initial C:P)."""
    exe = compile_program(EXAMPLE, tmp_path / "spinup_in_model")
    model = trained["model"]

    def run_03(early: Path, tag: str, force: bool = False) -> str:
        out, inputs = tmp_path / f"ai_{tag}.nc", tmp_path / f"inputs_{tag}.nc"
        # one libtorch thread on both sides: a float32 network's last bits follow the split
        res = ai_spinup(early, model, out, save_inputs=inputs, threads=1, force=force)
        proc = run_program(exe, str(model), str(early), str(inputs), str(out), "1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"spun up {res.cells} natural-vegetation column(s)" in proc.stdout
        worst = float(proc.stdout.strip().splitlines()[-1].split(":")[-1])
        assert worst <= 1e-6, proc.stdout
        return proc.stdout

    run_03(trained["early"], "testbed")
    early = trained["early"]
    crafted = early.parent / "crafted03.elm.r.0005-01-01-00000.nc"
    crafted.write_bytes(early.read_bytes())
    try:
        with netCDF4.Dataset(crafted, "r+") as ds:
            ltype = ds["cols1d_ityplun"][:]
            veg = np.flatnonzero(ltype == 1)
            ltype[veg[[3, 50]]] = 5  # two gridcells' only natural column becomes a lake
            ds["cols1d_ityplun"][:] = ltype
            veg = np.flatnonzero(ltype == 1)
            soil3, cwd = ds["soil3c_vr"][:], ds["cwdc_vr"][:]
            full = [c for c in veg if (soil3[c, :10] > 0).sum() >= 2 and (cwd[c, :10] > 0).sum() >= 2]
            assert len(full) >= 3
            for c in full[:3]:
                for pool in ("soil3", "cwd"):
                    x = ds[f"{pool}c_vr"][:]
                    x[c, np.flatnonzero(x[c, :10] > 0)[0]] = 0.0
                    ds[f"{pool}c_vr"][:] = x
                for element in "cnp":
                    x = ds[f"soil4{element}_vr"][:]
                    x[c, :10] = 0.0
                    ds[f"soil4{element}_vr"][:] = x
        run_03(crafted, "crafted", force=True)
    finally:
        crafted.unlink()


def test_fortran_example_03_matches_the_cli_on_the_real_elm_restart(trained: dict, tmp_path: Path) -> None:
    """The same on the real ELM restart (4 landunits, 16 columns, 32 pfts, zero-weight
    pfts holding ELM's seed pools), and with a second natural-vegetation column in its
    gridcell (as a second topounit has)."""
    from tests.conftest import shared_data
    from tests.real_elm_case import make_case

    exe = compile_program(EXAMPLE, tmp_path / "spinup_in_model")
    model = trained["model"]
    early = make_case(shared_data("elm"), tmp_path / "kougarok")
    two = early.with_name(early.name.replace(".elm.r.", "_two.elm.r."))
    two.write_bytes(early.read_bytes())
    with netCDF4.Dataset(two, "r+") as ds:
        ltype = ds["cols1d_ityplun"][:]
        first, other = np.flatnonzero(ltype == 1)[0], np.flatnonzero(ltype != 1)[4]
        ltype[other] = 1
        ds["cols1d_ityplun"][:] = ltype
        for name, var in ds.variables.items():
            if name.endswith("_vr") and var.dimensions[0] == "column":
                x = var[:]
                x[other] = x[first]
                var[:] = x
    for early_file, ncells in ((early, 1), (two, 2)):
        out, inputs = tmp_path / f"ai_{ncells}.nc", tmp_path / f"inputs_{ncells}.nc"
        res = ai_spinup(early_file, model, out, save_inputs=inputs, threads=1, force=True)
        assert res.cells == ncells
        proc = run_program(exe, str(model), str(early_file), str(inputs), str(out), "1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"spun up {ncells} natural-vegetation column(s) of 16 column(s), 32 pft(s)" in proc.stdout
        worst = float(proc.stdout.strip().splitlines()[-1].split(":")[-1])
        assert worst <= 1e-6, proc.stdout
