"""The transfer protocol on small worlds: worlds that differ, a data set from several worlds,
few-shot splits, fine-tuning, the per-cell and CTSM metrics against direct computations,
the cost arithmetic, and a deterministic rebuild of a pre-trained model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from elmai.apps.testbed.climate import make_climate
from elmai.apps.testbed.dynamics import State
from elmai.apps.testbed.grid import make_grid
from elmai.apps.testbed.run import RunResult, YearLog
from elmai.apps.testbed.world import World
from elmai.apps.transfer import metrics
from elmai.apps.transfer.pretrained_build import CHECKPOINT_NAME, MODEL_NAME, build_pretrained
from elmai.apps.transfer.protocol import TransferOptions, run_transfer
from elmai.apps.transfer.worlds import WorldSpec
from elmai.data.dataset import load, merge
from elmai.data.splits import TEST, TRAIN, VALID, sample_split

SOURCES = (WorldSpec("s1", 10.0, 1), WorldSpec("s3", 10.0, 3, warming=1.0, params_draw=0))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("source")
    card = build_pretrained(
        root / "work", root / "model", SOURCES, early_years=4, forcing_years=2, epochs=2, progress=False
    )
    return root, card


def test_warming_shifts_every_temperature_only() -> None:
    grid = make_grid(15.0)
    a, b = make_climate(grid, 2, seed=4), make_climate(grid, 2, seed=4, warming=2.5)
    np.testing.assert_allclose(b.TBOT - a.TBOT, 2.5, atol=1e-4)  # float32 kelvin
    np.testing.assert_array_equal(a.PRECTmms, b.PRECTmms)
    assert (b.QBOT > a.QBOT).all()  # constant relative humidity: warmer air holds more water


def test_a_sample_of_cells_spins_up_as_inside_the_whole_grid() -> None:
    world = World.build(15.0, forcing_years=2, seed=5)
    cells = np.array([3, 17, 40])
    full, part = world.model(), world.model(cells=cells)
    s_full, s_part = State.bare(world.grid.ngrid), State.bare(cells.size)
    full.advance(s_full, world.climate, 0, 3)
    part.advance(s_part, world.climate.cells(cells), 0, 3)
    # equal up to the order of floating-point sums over the grid
    np.testing.assert_allclose(part.totals(s_part)["C"], full.totals(s_full)["C"][cells], rtol=1e-7)


def test_parameter_draws_are_fixed_and_within_their_ranges() -> None:
    a, b = WorldSpec("a", 10.0, 1, params_draw=3), WorldSpec("b", 20.0, 9, params_draw=3)
    assert a.params().ctc == b.params().ctc  # a draw index names the same parameters everywhere
    d = a.describe()["params"]
    from elmai.apps.transfer.worlds import parameter_ranges

    for name, (lo, hi) in parameter_ranges().items():
        assert lo <= d[name] <= hi
    assert WorldSpec("c", 10.0, 1).params().ctc["k_s4"] != a.params().ctc["k_s4"]


def test_few_shot_split_knows_only_its_fraction() -> None:
    split = sample_split(1000, 0.05, seed=2)
    assert ((split == TRAIN) | (split == VALID)).sum() == 50
    assert (split == VALID).sum() == 10 and (split == TEST).sum() == 950
    np.testing.assert_array_equal(split, sample_split(1000, 0.05, seed=2))


def test_log_ratio_percentiles_against_numpy() -> None:
    rng = np.random.default_rng(0)
    true = {"soil4c_vr": rng.uniform(10, 1e4, 500)}
    true["soil4c_vr"][:7] = 0.0  # columns without the pool are not scored
    pred = {"soil4c_vr": true["soil4c_vr"] * np.exp(rng.normal(0, 0.3, 500))}
    got = metrics.log_ratio_percentiles(pred, true)["soil4c_vr"]
    r = np.abs(np.log(pred["soil4c_vr"][7:] / true["soil4c_vr"][7:]))
    assert got["cells"] == 493
    assert got["p50"] == pytest.approx(np.median(r)) and got["p90"] == pytest.approx(np.percentile(r, 90))


def test_ctsm_criteria_follow_the_stability_script() -> None:
    years = [
        YearLog(
            y,
            gpp_pgc=100.0 + 0.01 * y,
            nee_pgc=0.0,
            totecosysc_pgc=2000.0 + 0.1 * y,
            disequilibrium_area=0.02,
            balance_failures=0,
            drift_years=1 if y < 3 else 3,
            totsomc_pgc=1500.0 + 0.1 * y,
            totvegc_pgc=500.0,
            tlai=2.0 + 0.1 * y,
        )
        for y in range(1, 5)
    ]
    run = RunResult("x", "c", 1, years, start_pgc={"totecosysc": 2000.0, "totsomc": 1500.0, "totvegc": 500.0})
    c = metrics.ctsm_criteria(run, 3)
    assert c["TOTECOSYSC"]["value"] == pytest.approx(0.1) and c["TOTECOSYSC"]["met"] is False
    assert c["TOTVEGC"]["value"] == pytest.approx(0.0) and c["TOTVEGC"]["met"] is True
    assert c["GPP"]["value"] == pytest.approx(0.01) and c["GPP"]["met"] is True  # year 4 vs year 1
    assert c["TLAI"]["value"] == pytest.approx(0.1) and c["TLAI"]["met"] is False
    assert c["area_drifting"]["met"] is True and c["all_met"]["met"] is False
    short = metrics.ctsm_criteria(RunResult("x", "c", 1, years[:3], start_pgc=run.start_pgc), 3)
    assert short["GPP"]["value"] is None and short["all_met"]["met"] is False  # too short to judge


def test_merged_data_set_holds_every_world(source) -> None:
    root, card = source
    parts = [load(root / "work" / "worlds" / w.name / "dataset.nc") for w in SOURCES]
    merged = merge(parts, seed=0)
    assert merged.ncell == sum(p.ncell for p in parts) == card["trained_on"]["cells"]
    np.testing.assert_array_equal(
        merged.arrays["soil_target"][parts[0].ncell :], parts[1].arrays["soil_target"]
    )
    other = load(root / "work" / "worlds" / "s1" / "dataset.nc")
    other.arrays["traits"] = other.arrays["traits"] * 1.1
    with pytest.raises(Exception, match="constants"):
        merge([parts[0], other])


def test_rebuild_is_deterministic(source, tmp_path) -> None:
    root, card = source
    again = build_pretrained(
        root / "work", tmp_path / "model", SOURCES, early_years=4, forcing_years=2, epochs=2, progress=False
    )
    a = torch.load(root / "model" / CHECKPOINT_NAME, weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "model" / CHECKPOINT_NAME, weights_only=False)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert again["input_order"] == card["input_order"]


def test_transfer_settings_end_to_end(source, tmp_path) -> None:
    root, card = source
    opts = TransferOptions(
        out=tmp_path,
        model=root / "model" / MODEL_NAME,
        checkpoint=root / "model" / CHECKPOINT_NAME,
        early_years=4,
        forcing_years=2,
        finetune_epochs=2,
        full_epochs=2,
        reference_max_years=30,
        progress=False,
        targets={"1deg": WorldSpec("t1", 10.0, 101), "params": WorldSpec("tp", 10.0, 103, params_draw=7)},
        reference_sample=40,
        source_cells=card["trained_on"]["cells"],
    )
    r = run_transfer(["zero_shot_1deg", "few_shot_20pct", "unseen_params", "full_train"], opts)
    zero, few = r["zero_shot_1deg"], r["few_shot_20pct"]
    assert zero["cells_trained_on"] == 0 and few["cells_trained_on"] == round(0.2 * few["cells"])
    assert few["cells_scored"] == few["cells"] - few["cells_trained_on"]
    for e in r.values():
        assert e["checks_ok"] and e["balance_failures"] == 0
        assert set(e["r2"]) >= {"soil4c_vr", "deadstemc", "tlai"}
        assert set(e["log_ratio_p90"]) >= {"soil4c_vr", "cwdc_vr"}
        assert 0.0 <= e["drifting_fraction_ai_alone"] <= 1.0 and 0.0 <= e["drifting_fraction_refined"] <= 1.0
        assert {"TOTECOSYSC", "TOTSOMC", "TOTVEGC", "GPP", "TLAI", "area_drifting"} <= set(e["ctsm_criteria"])
        g, refs = e["gridcell_years"], e["reference_years"]
        assert g["ai_route_simulation"] == (4 + 2 + 2 + 1) * e["cells"]
        ad = refs["ad"] if refs["ad"] is not None else refs["ad_years_run"]
        assert g["training_targets"] == e["cells_trained_on"] * ad and g["ad"] == ad * e["cells"]
    assert r["unseen_params"]["target_world"]["params_draw"] == 7
    full = r["full_train"]  # trained from scratch on 85% of the world, scored on the other 15%
    assert full["cells_scored"] == full["cells"] - full["cells_trained_on"] and full["cells_trained_on"] > 0
    # the few-shot model is the source fine-tuned: same normalisation, other weights
    tuned = torch.load(tmp_path / "few_shot_20pct" / "train" / "best.pt", weights_only=False)["state_dict"]
    src = torch.load(root / "model" / CHECKPOINT_NAME, weights_only=False)["state_dict"]
    assert torch.equal(tuned["soil_target_mean"], src["soil_target_mean"])
    assert any(not torch.equal(tuned[k], src[k]) for k in src if not k.endswith(("_mean", "_std")))
    # a second call keeps what ran
    assert (
        run_transfer(["zero_shot_1deg"], opts)["zero_shot_1deg"]
        == json.loads((tmp_path / "transfer.json").read_text())["zero_shot_1deg"]
    )


def test_ctsm_criteria_from_h0_files(tmp_path) -> None:
    """Monthly h0 files with known trends: the stocks' annual means one cycle apart, GPP in
    PgC/yr per yr, TLAI land-mean, the drifting area weighted by area x landfrac."""
    from elmai.io.netcdf_writer import write_netcdf

    area_km2, landfrac = np.array([1e6, 3e6]), np.array([1.0, 0.5])  # land 1e12 and 1.5e12 m2
    trend = np.array([5.0, 0.1])  # gC/m2/yr: cell 0 drifts, cell 1 does not
    files = []
    for year in range(3):
        for month in range(12):
            path = tmp_path / f"c.elm.h0.{year + 1:04d}-{month + 1:02d}.nc"
            x = 1000.0 + trend * (year + month / 12)
            variables = {
                "area": (("lndgrid",), area_km2),
                "landfrac": (("lndgrid",), landfrac),
                "TOTECOSYSC": (("time", "lndgrid"), x[None]),
                "TOTSOMC": (("time", "lndgrid"), 0.5 * x[None]),
                "TOTVEGC": (("time", "lndgrid"), np.full((1, 2), 300.0)),
                "GPP": (("time", "lndgrid"), np.full((1, 2), 1e-5 * (1 + 0.01 * year))),
                "TLAI": (("time", "lndgrid"), np.full((1, 2), 2.0)),
            }
            write_netcdf(path, variables, {})
            files.append(path)
    crit, area = metrics.ctsm_criteria_from_h0(files, cycle=2)
    land = np.array([1e12, 1.5e12])
    assert crit["TOTECOSYSC"]["value"] == pytest.approx((trend * land).sum() / 1e15)
    assert crit["TOTSOMC"]["value"] == pytest.approx(0.5 * (trend * land).sum() / 1e15)
    assert crit["TOTVEGC"]["value"] == pytest.approx(0.0, abs=1e-12) and crit["TLAI"]["met"] is True
    gpp = (1e-5 * 0.02 * land).sum() * 365 * 86400 / 1e15 / 2
    assert crit["GPP"]["value"] == pytest.approx(gpp)
    assert area == pytest.approx(1e12 / 2.5e12) and crit["area_drifting"]["met"] is False
    with pytest.raises(ValueError, match="need 36"):
        metrics.ctsm_criteria_from_h0(files[:30], cycle=2)
