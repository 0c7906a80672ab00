"""The AI spin-up data set, model, training under mpirun (DDP and DeepSpeed), evaluation
and export, on a small testbed case (10 deg, a few years, its matrix equilibrium)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch
import yaml

import elmai
from elmai.apps.testbed.run import run_testbed
from elmai.data import build_dataset, load
from elmai.data.features import PFT_POOLS, SOIL_VARS
from elmai.data.normalize import fit_stats
from elmai.data.splits import TEST, TRAIN, VALID
from elmai.io.elm_names import NATPFT
from elmai.training.export import example_inputs, export
from elmai.training.trainer import build_model, load_model
from tests.mpi_helpers import ELMAI, mpirun


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("case")
    run_testbed(run, resolution=10.0, years=4, equilibrium=True, forcing_years=4, progress=False)
    return run


@pytest.fixture(scope="module")
def dataset(case: Path) -> Path:
    path = case / "dataset.nc"
    build_dataset(case, 5, path)
    return path


def write_config(folder: Path, dataset: Path, **settings: object) -> Path:
    cfg = {"dataset": str(dataset), "out": str(folder / "run"), "epochs": 3, "batch_size": 32, "lr": 0.002}
    cfg.update(settings)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_dataset_groups_shapes_and_values_match_the_files(case: Path, dataset: Path) -> None:
    data = load(dataset)
    n = data.ncell
    shapes = {
        "forcing": (n, 12, 7),
        "static": (n, 10),
        "pft_weight": (n, NATPFT),
        "traits": (NATPFT, 22),
        "pft_early": (n, NATPFT, len(PFT_POOLS)),
        "soil_early": (n, 10, len(SOIL_VARS)),
        "pft_target": (n, NATPFT, len(PFT_POOLS)),
        "soil_target": (n, 10, len(SOIL_VARS)),
    }
    for name, shape in shapes.items():
        assert data.arrays[name].shape == shape, name
    # independent reader: the file as netCDF4-python sees it, and the restarts it came from
    with netCDF4.Dataset(dataset) as ds:
        assert ds["soil_target"].dimensions == ("cell", "level", "soil_pool")
        assert ds["soil_target"].units == "gC/m3"
        np.testing.assert_array_equal(ds["pft_early"][:], data.arrays["pft_early"])
    # the cells are the natural-vegetation columns (ELM's cols1d_ityplun = 1), in file order
    with netCDF4.Dataset(case / "elmai_testbed.elm.r.0005-01-01-00000.nc") as r:
        veg = np.flatnonzero(r["cols1d_ityplun"][:] == 1)
        soil4 = r["soil4c_vr"][:][veg, :10]
        deadstem = np.zeros((n, NATPFT))
        col, typ = r["pfts1d_column_index"][:] - 1, r["pfts1d_itypveg"][:]
        for p, (c, t) in enumerate(zip(col, typ, strict=True)):
            if c in veg:
                deadstem[np.searchsorted(veg, c), t] = r["deadstemc"][p]
    assert veg.size == n
    np.testing.assert_array_equal(data.arrays["soil_early"][..., SOIL_VARS.index("soil4c_vr")], soil4)
    np.testing.assert_array_equal(data.arrays["pft_early"][..., PFT_POOLS.index("deadstemc")], deadstem)
    with netCDF4.Dataset(case / "elmai_testbed.equilibrium.elm.r.0005-01-01-00000.nc") as r:
        np.testing.assert_array_equal(data.arrays["soil_target"][..., 7], r["soil4c_vr"][:][veg, :10])
    assert data.arrays["soil_target"][..., 7].sum() > 5 * data.arrays["soil_early"][..., 7].sum()


def test_splits_are_disjoint_and_blocks_do_not_straddle(dataset: Path) -> None:
    data = load(dataset)
    for split in ("random", "block"):
        counts = np.bincount(data.splits[split], minlength=3)
        assert counts.sum() == data.ncell and (counts > 0).all()
    block = data.splits["block"]
    key = np.floor((data.arrays["lat"] + 90) / 10) * 1000 + np.floor((data.arrays["lon"] % 360) / 10)
    for k in np.unique(key):
        assert np.unique(block[key == k]).size == 1  # a block sits wholly in one set


def test_statistics_come_from_training_cells_only(dataset: Path) -> None:
    data = load(dataset)
    train = data.splits["random"] == TRAIN
    refit = fit_stats(data.arrays, train)
    everything = fit_stats(data.arrays, np.ones(data.ncell, bool))
    for group, (mean, std) in data.stats["random"].items():
        np.testing.assert_allclose(mean, refit[group][0], rtol=1e-12, err_msg=group)
        np.testing.assert_allclose(std, refit[group][1], rtol=1e-12, err_msg=group)
    assert not np.allclose(data.stats["random"]["soil_target"][0], everything["soil_target"][0])


def test_dataset_build_under_mpirun_equals_serial(case: Path, dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds_mpi.nc"
    mpirun(2, "dataset", "build", "--run", str(case), "--early-year", "5", "--out", str(out))
    a, b = load(dataset), load(out)
    for name in a.arrays:
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name], err_msg=name)


def test_hard_constraints_hold_on_random_inputs(dataset: Path, tmp_path: Path) -> None:
    from elmai.training.config import TrainConfig

    data = load(dataset)
    model = build_model(TrainConfig.from_yaml(write_config(tmp_path, dataset)), data)
    model.eval()
    x = example_inputs(200, seed=5)
    with torch.no_grad():
        for p in model.parameters():  # large random weights push outputs to extremes
            p.add_(torch.randn_like(p) * 0.5)
        pft, soil = model(*x)
    assert (pft >= 0).all() and (soil >= 0).all()
    assert (pft[x[2] <= 0] == 0).all()  # absent PFTs hold nothing
    assert (pft[:, 0] == 0).all()  # nor does bare ground
    assert (pft[:, ~model.pool_mask[:, 3].bool(), 3] == 0).all()  # no dead stem on grasses
    assert (soil[:, model.soil_used == 0] == 0).all()


def test_ddp_training_under_mpirun_improves_and_resumes(dataset: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, dataset, epochs=3)
    mpirun(2, "train", "--config", str(config))
    run = tmp_path / "run"
    rows = json.loads((run / "metrics.json").read_text())
    assert len(rows) == 3 and rows[-1]["valid_loss"] < rows[0]["valid_loss"]
    assert (run / "checkpoint" / "model.pt").exists() and (run / "best.pt").exists()
    assert (run / "metrics.csv").read_text().count("\n") == 4
    mpirun(2, "train", "--config", str(config), "--resume", "--epochs", "5")
    rows2 = json.loads((run / "metrics.json").read_text())
    assert [r["epoch"] for r in rows2] == [0, 1, 2, 3, 4]
    assert rows2[:3] == rows  # the resumed run kept the history and went on from epoch 3


def test_deepspeed_training_under_mpirun_improves_and_resumes(dataset: Path, tmp_path: Path) -> None:
    pytest.importorskip("deepspeed")
    config = write_config(tmp_path, dataset, epochs=2, engine="deepspeed", zero_stage=1)
    mpirun(2, "train", "--config", str(config))
    run = tmp_path / "run"
    rows = json.loads((run / "metrics.json").read_text())
    assert rows[-1]["valid_loss"] < rows[0]["valid_loss"]
    assert (run / "checkpoint" / "current").is_dir()
    mpirun(2, "train", "--config", str(config), "--resume", "--epochs", "3")
    assert [r["epoch"] for r in json.loads((run / "metrics.json").read_text())] == [0, 1, 2]


def test_one_and_two_ranks_train_alike_and_seeds_repeat(dataset: Path, tmp_path: Path) -> None:
    losses = {}
    for name, ranks in (("one", 1), ("one_again", 1), ("two", 2)):
        folder = tmp_path / name
        folder.mkdir()
        # full batches only; every loss term on, the drift term too
        config = write_config(folder, dataset, epochs=1, max_steps=4, batch_size=32, drift_weight=0.001)
        mpirun(ranks, "train", "--config", str(config))
        losses[name] = json.loads((folder / "run" / "metrics.json").read_text())[-1]["valid_loss"]
    assert losses["one"] == losses["one_again"]  # fixed seeds: identical runs
    assert losses["two"] == pytest.approx(losses["one"], rel=1e-5)  # same global batches and loss


@pytest.fixture(scope="module")
def trained(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("trained")
    config = write_config(folder, dataset, epochs=2)
    mpirun(1, "train", "--config", str(config))
    return folder / "run" / "best.pt"


def test_explanations_of_the_spinup_model_are_complete(trained: Path, dataset: Path, tmp_path: Path) -> None:
    subprocess.run(
        [
            ELMAI,
            "explain",
            "spinup",
            "--model",
            str(trained),
            "--dataset",
            str(dataset),
            "--cells",
            "24",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    res = json.loads((tmp_path / "attributions.json").read_text())
    assert res["ig_completeness_max_relative_error"] <= 0.01
    for method in ("integrated gradients", "SHAP (expected gradients)"):
        groups = res[method]["by_group"]
        assert set(groups) == {"forcing", "static", "pft_weight", "pft_early", "soil_early", "decay_rate"}
        assert all(v >= 0 for v in groups.values()) and sum(groups.values()) > 0
        assert set(res[method]["forcing"]) >= {"TBOT", "PRECTmms"}
    assert (tmp_path / "attributions.png").stat().st_size > 10_000


def test_pi3nn_intervals_for_every_pool_cover_held_out_cells(
    trained: Path, dataset: Path, tmp_path: Path
) -> None:
    subprocess.run(
        [
            ELMAI,
            "uq",
            "intervals",
            "--model",
            str(trained),
            "--dataset",
            str(dataset),
            "--epochs",
            "30",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    pools = json.loads((tmp_path / "intervals.json").read_text())["pools"]
    names = {p["name"] for p in pools}
    assert {"soil3c_vr", "soil4c_vr", "cwdc_vr", "leafc", "frootc"} <= names
    assert all(p["n_test"] > 0 and p["mpiw_log"] > 0 for p in pools)
    # calibrated on validation cells, scored on test cells: near the level on average
    assert np.mean([p["picp"] for p in pools]) >= 0.85


def test_evaluate_and_export_parity_through_the_cpp_runner(
    trained: Path, dataset: Path, tmp_path: Path
) -> None:
    best = trained
    proc = subprocess.run(
        [
            ELMAI,
            "evaluate",
            "--model",
            str(best),
            "--dataset",
            str(dataset),
            "--json",
            "--out",
            str(tmp_path / "eval"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    scores = json.loads(proc.stdout)
    assert {"soil4c_vr", "soil3c_vr", "cwdc_vr", "deadstemc", "deadcrootc", "tlai"} <= set(scores["r2"])
    assert scores["split"] == "random" and scores["cells"] == int(
        (load(dataset).splits["random"] == TEST).sum()
    )
    for png in ("scatter.png", "maps_soil4c.png", "r2.png"):
        assert (tmp_path / "eval" / png).stat().st_size > 10_000
    out = tmp_path / "model.pt"
    meta = export(best, out)
    assert meta["input_order"] == ["forcing", "static", "pft_weight", "pft_early", "soil_early", "soil_rate"]
    assert json.loads(out.with_suffix(".json").read_text())["outputs"][1]["dims"] == [
        "cell",
        "level",
        "soil_pool",
    ]
    eager, _ = load_model(best)
    runner = elmai.Model(out)  # libtorch, the path Fortran takes
    data = load(dataset)
    cells = np.flatnonzero(data.splits["random"] == VALID)
    a = data.subset(cells)
    names = ("forcing", "static", "pft_weight", "pft_early", "soil_early", "decay_rate")
    x = [np.ascontiguousarray(a[k], dtype=np.float32) for k in names]
    pft_cpp, soil_cpp = runner(*x)
    with torch.no_grad():
        pft_py, soil_py = eager(*(torch.from_numpy(v) for v in x))
    for got, want in ((pft_cpp, pft_py.numpy()), (soil_cpp, soil_py.numpy())):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * float(np.abs(want).max()))


def test_bad_dataset_inputs_get_clear_errors(case: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="0099"):
        build_dataset(case, 99, tmp_path / "x.nc")
    empty = tmp_path / "no_target"
    empty.mkdir()
    for f in case.glob("elmai_testbed.elm.r.0005*"):
        shutil.copy(f, empty)
    with pytest.raises(FileNotFoundError, match="--target"):
        build_dataset(empty, 5, tmp_path / "x.nc")
