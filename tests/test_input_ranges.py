"""The training-range guard of `elmai spinup`: the trainer records every input feature's
min and max over the training cells (in the space the model normalises in), `elmai
export` copies them into the sidecar, and a case with cells outside them is reported, or
refused beyond the margin unless forced. Values are checked against numpy on the data
set itself, not against the code under test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch

from elmai.cli import main
from elmai.data.dataset import TRAIN, load
from elmai.data.features import FORCING_VARS, PFT_POOLS, SOIL_VARS, STATIC_VARS
from elmai.spinup import ai_spinup
from elmai.spinup.input_ranges import (
    INPUT_MARGIN,
    OutsideTrainingError,
    check_input_ranges,
    refuse_beyond_margin,
)
from elmai.spinup.run import case_params, early_history, early_inputs
from elmai.training.export import export, load_sidecar

EARLY = "elmai_testbed.elm.r.0005-01-01-00000.nc"


@pytest.fixture(scope="module")
def case(trained_small_model: Path) -> dict:
    """The session's small model, its checkpoint, data set, case and the early inputs."""
    root = trained_small_model.parent
    early = root / "case" / EARLY
    extra = {
        "forcing": next(early.parent.glob("*.datm.forcing.nc")),
        "surfdata": next(early.parent.glob("surfdata_*.nc")),
        "params": early.parent / "clm_params.nc",
        "history": early_history(early),
    }
    inputs, cells = early_inputs(
        early, extra["forcing"], extra["surfdata"], case_params(early, None), extra["history"]
    )
    total = inputs["soil_early"].sum(axis=(1, 2))
    vegetated = np.flatnonzero(total > 0)
    return {
        # a cell of typical soil carbon (a bare one holds none to swell)
        "rich": int(vegetated[np.argsort(total[vegetated])[vegetated.size // 2]]),
        "model": trained_small_model,
        "best": root / "run" / "best.pt",
        "dataset": root / "ds.nc",
        "early": early,
        "extra": extra,
        "inputs": inputs,
        "cells": cells,
    }


def _options(extra: dict) -> dict:
    """ai_spinup's keywords for a restart copied away from its case folder."""
    return {
        "forcing": str(extra["forcing"]),
        "surfdata": str(extra["surfdata"]),
        "params": str(extra["params"]),
        "history": [str(h) for h in extra["history"]],
    }


def test_checkpoint_records_training_ranges_and_the_sidecar_copies_them(case: dict) -> None:
    blob = torch.load(case["best"], map_location="cpu", weights_only=False)
    ranges = blob["input_ranges"]
    data = load(case["dataset"])
    train = data.splits[ranges["split"]] == TRAIN
    assert ranges["training_cells"] == int(train.sum())
    a = {k: np.asarray(v)[train] for k, v in data.arrays.items() if k not in ("traits", "respired_fraction")}
    g = ranges["groups"]
    # forcing: per variable over cells and months, linear
    assert g["forcing"]["space"] == "linear" and g["forcing"]["features"] == list(FORCING_VARS)
    np.testing.assert_allclose(g["forcing"]["min"], a["forcing"].min(axis=(0, 1)))
    np.testing.assert_allclose(g["forcing"]["max"], a["forcing"].max(axis=(0, 1)))
    assert g["static"]["features"] == list(STATIC_VARS)
    np.testing.assert_allclose(g["static"]["max"], a["static"].max(axis=0))
    assert g["pft_weight"]["max"] == [pytest.approx(a["pft_weight"].max())]
    # PFT pools: log1p, over the present PFTs only
    present = a["pft_weight"] > 0
    leaf = a["pft_early"][..., PFT_POOLS.index("leafc")][present]
    assert g["pft_early"]["space"] == "log1p"
    assert g["pft_early"]["min"][0] == pytest.approx(np.log1p(leaf.min()))
    assert g["pft_early"]["max"][0] == pytest.approx(np.log1p(leaf.max()))
    # soil pools and decay rates: log1p, over the levels; the data set's decay_rate is soil_rate
    s4 = SOIL_VARS.index("soil4c_vr")
    assert g["soil_early"]["max"][s4] == pytest.approx(np.log1p(a["soil_early"][..., s4].max()))
    assert g["soil_rate"]["space"] == "log1p" and g["soil_rate"]["features"] == list(SOIL_VARS)
    assert g["soil_rate"]["max"][0] == pytest.approx(np.log1p(a["decay_rate"][..., 0].max()))
    # export copies them unchanged into the sidecar
    assert load_sidecar(case["model"])["input_ranges"] == json.loads(json.dumps(ranges))


def test_guard_finds_injected_cells_and_refuses_beyond_the_margin(case: dict) -> None:
    ranges = load_sidecar(case["model"])["input_ranges"]
    cells = case["cells"]
    inputs = {k: v.copy() for k, v in case["inputs"].items()}
    t = FORCING_VARS.index("TBOT")
    lo, hi = (ranges["groups"]["forcing"][k][t] for k in ("min", "max"))
    near, far = 7, 42  # just above the trained range, and far beyond its margin
    inputs["forcing"][near, 6, t] = hi + 0.1 * (hi - lo)
    inputs["forcing"][far, 6, t] = hi + 40.0 + (INPUT_MARGIN + 1.0) * (hi - lo)
    base = check_input_ranges(ranges, case["inputs"], cells.lat, cells.lon)
    rep = check_input_ranges(ranges, inputs, cells.lat, cells.lon)
    assert rep.checked and rep.cells == cells.lat.size
    tbot = rep.per_feature["forcing/TBOT"]
    x = inputs["forcing"][..., t]
    assert tbot["outside"] == int(((x.max(axis=1) > hi) | (x.min(axis=1) < lo)).sum())
    pad = INPUT_MARGIN * (hi - lo)
    assert tbot["beyond_margin"] == int(((x.max(axis=1) > hi + pad) | (x.min(axis=1) < lo - pad)).sum())
    assert rep.beyond_margin == base.beyond_margin + 1
    first = rep.examples[0]  # beyond the margin comes first
    assert first.beyond_margin and first.feature == "forcing/TBOT"
    assert (first.lat, first.lon) == (cells.lat[far], cells.lon[far])
    assert first.value == pytest.approx(inputs["forcing"][far, 6, t])
    assert first.trained == pytest.approx((lo, hi))
    assert "forcing/TBOT" in rep.paragraph() and f"lat {cells.lat[far]:.2f}" in rep.paragraph()
    with pytest.raises(OutsideTrainingError) as e:
        refuse_beyond_margin(rep, "case.r.nc")
    msg = str(e.value)
    assert "'case.r.nc'" in msg and "forcing/TBOT" in msg and "--force" in msg
    assert f"lat {cells.lat[far]:.2f}, lon {cells.lon[far]:.2f}" in msg
    refuse_beyond_margin(rep, "case.r.nc", force=True)  # forced: no error
    # pools are checked in log space, on present PFTs only: x 1e6 on one cell's soil is beyond
    soil = {**case["inputs"], "soil_early": case["inputs"]["soil_early"].copy()}
    rich = case["rich"]
    soil["soil_early"][rich] *= 1e6
    rep = check_input_ranges(ranges, soil, cells.lat, cells.lon)
    at = (cells.lat[rich], cells.lon[rich])
    hits = [e for e in rep.examples if (e.lat, e.lon) == at]
    assert len(hits) == 1 and hits[0].beyond_margin and hits[0].feature.startswith("soil_early/")
    assert any(k.startswith("soil_early/") and v["beyond_margin"] for k, v in rep.per_feature.items())
    pft = {**case["inputs"], "pft_early": case["inputs"]["pft_early"].copy()}
    absent = case["inputs"]["pft_weight"] == 0
    pft["pft_early"][absent] = 1e9  # pools on absent PFTs are not read by the model
    assert check_input_ranges(ranges, pft, cells.lat, cells.lon).per_feature == base.per_feature
    # no ranges (an older export): reported as not checked, never refused
    none = check_input_ranges(None, inputs, cells.lat, cells.lon)
    assert not none.checked and "cannot check" in none.paragraph()
    refuse_beyond_margin(none, "case.r.nc")


@pytest.fixture
def swollen(case: dict, tmp_path: Path) -> Path:
    """The early restart with one natural-vegetation column's soil x 1e6: its C, N and P
    (ratios kept) and the column totals over them, so that it is a valid ELM file (the
    input check passes) far outside the training ranges."""
    from elmai.io import elm_names as N
    from elmai.io.soil_levels import DZSOI_DECOMP

    path = tmp_path / EARLY
    shutil.copy(case["early"], path)
    column = int(case["cells"].column[case["rich"]])
    with netCDF4.Dataset(path, "r+") as ds:
        added = {}
        for pool in N.CTC_POOLS:
            for e in N.ELEMENTS:
                v = N.vr_pool(pool, e)
                x = ds[v][:]
                added[v] = float(x[column, : N.NLEVDECOMP] @ DZSOI_DECOMP) * (1e6 - 1)
                x[column] *= 1e6
                ds[v][:] = x
        for total, (terms, optional) in N.ELM_TOTALS.items():
            if total in ds.variables and ds[total].dimensions == ("column",):
                t = ds[total][:]
                t[column] += sum(added.get(term, 0.0) for term in terms + optional)
                ds[total][:] = t
    return path


def test_spinup_refuses_beyond_the_margin_unless_forced(case: dict, swollen: Path, tmp_path: Path) -> None:
    out = tmp_path / "ai.nc"
    lat, lon = case["cells"].lat[case["rich"]], case["cells"].lon[case["rich"]]
    with pytest.raises(OutsideTrainingError, match="--force") as e:
        ai_spinup(swollen, case["model"], out, **_options(case["extra"]))
    assert str(swollen) in str(e.value) and f"lat {lat:.2f}, lon {lon:.2f}" in str(e.value)
    assert "soil_early/" in str(e.value) and not out.exists()
    res = ai_spinup(swollen, case["model"], out, force=True, **_options(case["extra"]))
    assert out.exists() and res.input_ranges["beyond_margin"] >= 1
    assert json.loads(json.dumps(res.input_ranges))["checked"] is True  # fits in JSON


def test_cli_refuses_then_forces_and_reports(
    case: dict, swollen: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    e = case["extra"]
    argv = [
        "spinup",
        "--restart",
        str(swollen),
        "--model",
        str(case["model"]),
        "--out",
        str(tmp_path / "a.nc"),
    ]
    argv += ["--forcing", str(e["forcing"]), "--surfdata", str(e["surfdata"]), "--params", str(e["params"])]
    argv += ["--history", *map(str, e["history"])] if e["history"] else []
    assert main(argv) == 1
    got = capsys.readouterr()
    assert "outside the range the model was trained on" in got.out
    assert "beyond the margin" in got.err and "--force" in got.err and str(swollen) in got.err
    assert main([*argv, "--force"]) in (0, 1)  # 1 if the swollen soil fails the checks: kept anyway
    assert (tmp_path / "a.nc").exists()


def test_old_checkpoint_exports_and_spinup_says_it_cannot_check(
    case: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    blob = torch.load(case["best"], map_location="cpu", weights_only=False)
    del blob["input_ranges"]
    (tmp_path / "run").mkdir()
    torch.save(blob, tmp_path / "run" / "best.pt")
    meta = export(tmp_path / "run" / "best.pt", tmp_path / "old.pt")
    assert "input_ranges" not in meta and "input_ranges" not in load_sidecar(tmp_path / "old.pt")
    res = ai_spinup(case["early"], tmp_path / "old.pt", tmp_path / "ai.nc")
    assert res.checks_ok and res.input_ranges["checked"] is False
    warnings = [line for line in capsys.readouterr().out.splitlines() if "cannot check" in line]
    assert len(warnings) == 1
