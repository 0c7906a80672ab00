"""Time-series models: skill scores against their definitions, the CAMELS and testbed
readers against independent reads of the files, windows, and the CAMELS LSTM trained
under mpirun beating climatology and persistence on every basin."""

from __future__ import annotations

import json
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch
import yaml

from elmai.apps.explain.attributions import ScalarOutput, integrated_gradients, shap_values
from elmai.apps.timeseries import metrics
from elmai.apps.timeseries.data import load_camels, read_camels_streamflow
from elmai.apps.timeseries.models import LSTMRegressor, TransformerRegressor
from elmai.apps.timeseries.train import Featurizer, TimeseriesConfig, load_series, train_timeseries
from elmai.errors import ElmaiError, OutputExistsError
from tests.conftest import ROOT, shared_data
from tests.mpi_helpers import mpirun

BASINS = ["01022500", "01547700", "02064000"]


def test_scores_match_their_definitions() -> None:
    rng = np.random.default_rng(0)
    obs = rng.gamma(2.0, 1.0, 500)
    assert metrics.nse(obs, obs) == pytest.approx(1.0) and metrics.kge(obs, obs) == pytest.approx(1.0)
    assert metrics.nse(np.full_like(obs, obs.mean()), obs) == pytest.approx(0.0, abs=1e-12)
    # KGE of a scaled copy: r = 1, alpha = beta = 1.2
    assert metrics.kge(1.2 * obs, obs) == pytest.approx(1 - np.sqrt(0.04 + 0.04))
    assert metrics.rmse(obs + 0.5, obs) == pytest.approx(0.5)
    sim = obs.copy()
    obs_gap = obs.copy()
    obs_gap[::7] = np.nan  # missing observations are skipped
    assert metrics.nse(sim, obs_gap) == pytest.approx(1.0)
    assert np.isnan(metrics.nse(obs, np.zeros_like(obs)))  # no variance: no score
    series = np.arange(10.0)[None]
    np.testing.assert_array_equal(metrics.persistence(series)[0, 1:], series[0, :-1])
    season = np.tile(np.arange(1, 3), 5)
    clim = metrics.climatology(series, season, np.arange(10))
    np.testing.assert_allclose(clim[0, :2], [4.0, 5.0])


def test_camels_reader_converts_streamflow_and_keeps_gaps(tmp_path: Path) -> None:
    root = shared_data("camels_us")
    ds = load_camels(root, BASINS, ["prcp", "tmax"])
    assert ds.dynamic.shape == (3, len(ds.time), 2) and str(ds.time[0]) == "2000-01-01"
    # independent read: cfs -> mm/day over the header's area
    lines = (
        (root / "basin_mean_forcing" / "daymet" / f"{BASINS[0]}_lump_cida_forcing_leap.txt")
        .read_text()
        .split("\n")
    )
    area = float(lines[2])
    first = (root / "usgs_streamflow" / f"{BASINS[0]}_streamflow_qc.txt").read_text().split("\n")[0].split()
    assert ds.target[0, 0] == pytest.approx(float(first[4]) * 0.0283168466 * 86400 / area * 1000)
    assert float(lines[4].split()[5]) == pytest.approx(ds.dynamic[0, 0, 0])  # prcp of day 1
    gap = tmp_path / "q.txt"
    gap.write_text("01022500 2000 01 01   255.00 A:e\n01022500 2000 01 02  -999.00 M\n")
    _, q = read_camels_streamflow(gap, 1e9)
    assert np.isfinite(q[0]) and np.isnan(q[1])
    with pytest.raises(ElmaiError, match="unknown CAMELS inputs"):
        load_camels(root, BASINS, ["rain"])


def test_bad_configs_get_clear_errors(tmp_path: Path) -> None:
    camels = "data: {source: camels, root: x, basins: [a], inputs: [prcp], train: [2000, 2001]"
    cases = {
        camels + "}": "missing data.test",
        "data: {source: grib}": "data.source must be one of camels, testbed",
        "data: {source: testbed, run: r, target: GPP, inputs: [TBOT], train: [1, 2], test: [3, 3]}\n"
        "model: {type: gru}": "model.type must be one of lstm, transformer",
        "nonsense: 1\ndata: {source: camels}": "unknown key 'nonsense'; allowed: data, model, name, out",
        camels + ", test: [2002, 2002], basin: [b]}": "unknown key 'data.basin'; allowed in data: basins",
        camels + ", test: [2002, 2002]}\ntraining: {epochs: ten}": "training.epochs must be an integer",
        camels + ", test: [2002, 2002]}\nmodel: {type: lstm, hidden: 1.5}": "model.hidden must be an integer",
        camels + ", test: 2002}": "data.test must be a list",
        camels + ", test: [2002, 2002]}\nout: [a]": "out must be a string",
        "- a list": "must be a mapping",
        "data: {source: camels\n": "not valid YAML",
    }
    for i, (text, message) in enumerate(cases.items()):
        f = tmp_path / f"c{i}.yaml"
        f.write_text(text)
        with pytest.raises(ElmaiError, match=message) as e:
            TimeseriesConfig.load(f)
        assert str(f) in str(e.value) and isinstance(e.value, ValueError)
    with pytest.raises(ElmaiError, match="does not exist"):
        TimeseriesConfig.load(tmp_path / "missing.yaml")
    with pytest.raises(ElmaiError, match="is not a file"):
        TimeseriesConfig.load(tmp_path)


def test_config_paths_are_relative_to_the_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for shipped in sorted((ROOT / "configs" / "timeseries").glob("*.yaml")):
        cfg = TimeseriesConfig.load(shipped)  # every shipped config loads, strictly
        assert Path(cfg.out) == ROOT / "runs" / shipped.stem
    sub = tmp_path / "exp"
    sub.mkdir()
    f = sub / "c.yaml"
    f.write_text(
        "data: {source: testbed, run: r, target: GPP, inputs: [TBOT], train: [1, 2], test: [3, 3]}\n"
        "out: results\n"
    )
    monkeypatch.chdir(tmp_path)  # not the YAML's folder
    cfg = TimeseriesConfig.load(f)
    assert cfg.out == str(sub / "results") and cfg.data["run"] == str(sub / "r")


def test_windows_hold_the_right_steps() -> None:
    ds = load_camels(shared_data("camels_us"), BASINS, ["prcp", "tmax"])
    train = ds.period("2000-01-01", "2001-12-31")
    feat = Featurizer(ds, train, seq_len=10, lagged=True)
    w = feat.windows(ds.period("2002-01-01", "2002-12-31"))
    k = 5
    e, t = w.entity[k], w.t[k]
    expect = (ds.dynamic[e, t - 9 : t + 1] - feat.dyn_mean) / feat.dyn_std
    np.testing.assert_allclose(w.x[k, :, :2].numpy(), expect, rtol=1e-5, atol=1e-5)
    lag = (ds.target[e, t - 10 : t] - feat.y_mean) / feat.y_std
    np.testing.assert_allclose(w.x[k, :, 2].numpy(), lag, rtol=1e-5, atol=1e-5)
    assert w.base[k] == ds.target[e, t - 1]  # the prediction is a change from the last observation
    assert w.y[k].item() == pytest.approx((ds.target[e, t] - ds.target[e, t - 1]) / feat.y_std, rel=1e-5)


def test_camels_lstm_under_mpirun_beats_both_baselines_on_every_basin(tmp_path: Path) -> None:
    shared_data("camels_us")
    out = tmp_path / "lstm"
    mpirun(
        2,
        "timeseries",
        "train",
        "--config",
        str(ROOT / "configs" / "timeseries" / "camels_lstm.yaml"),
        "--out",
        str(out),
    )
    s = json.loads((out / "metrics.json").read_text())
    assert s["ranks"] == 2 and s["lagged_target"]
    for basin in BASINS:
        nse = {k: v["nse"] for k, v in s["per_entity"][basin].items()}
        assert nse["model"] > nse["climatology"] and nse["model"] > nse["persistence"], (basin, nse)
    assert (out / "test_series.png").stat().st_size > 0


def test_testbed_fluxes_come_from_the_elm_files(tmp_path: Path) -> None:
    cfg_file = tmp_path / "gpp.yaml"
    cfg = yaml.safe_load((ROOT / "configs" / "timeseries" / "testbed_gpp_lstm.yaml").read_text())
    cfg["data"].update(run=str(tmp_path / "run"), years=4, train=[1, 3], test=[4, 4])
    cfg["model"].update(seq_len=6, hidden=16)
    cfg["training"].update(epochs=2)
    cfg["out"] = str(tmp_path / "out")
    cfg_file.write_text(yaml.safe_dump(cfg))
    config = TimeseriesConfig.load(cfg_file)
    ds = load_series(config.data)
    assert ds.dynamic.shape[:2] == ds.target.shape and ds.target.shape[1] == 48
    h0 = sorted((tmp_path / "run").glob("*.elm.h0.0002-07.nc"))[0]
    with netCDF4.Dataset(h0) as f:  # independent reader; July: 31 days
        np.testing.assert_allclose(ds.target[:, 18], f["GPP"][0] * 31 * 86400, rtol=1e-6)
    assert ds.static is not None and ds.static.shape[1] == 18  # 17 PFT covers + latitude
    summary = train_timeseries(config, progress=False)
    assert summary is not None and np.isfinite(summary["median_nse"]["model"])
    resolved = yaml.safe_load((tmp_path / "out" / "resolved_config.yaml").read_text())
    assert resolved["config"]["data"]["run"] == str(tmp_path / "run") and resolved["versions"]["torch"]
    config.training["epochs"] = 3  # another experiment into the same folder: refused
    with pytest.raises(OutputExistsError, match="--overwrite"):
        train_timeseries(config, progress=False)


def test_transformer_ignores_window_length_for_positions() -> None:
    torch.manual_seed(0)
    m = TransformerRegressor(3, d_model=16, heads=2, layers=1, dropout=0.0).eval()
    x = torch.randn(4, 20, 3)
    assert m(x).shape == (4,) and m(x[:, -10:]).shape == (4,)


def test_integrated_gradients_are_complete_and_shap_sums_to_the_prediction_gap() -> None:
    torch.manual_seed(0)
    lstm = LSTMRegressor(3, hidden=8, dropout=0.0).eval()
    x = torch.randn(32, 12, 3)
    ig = integrated_gradients(lstm, (x,), ["window"], tolerance=1e-3)
    assert np.abs(ig.delta).max() <= 1e-3 * np.abs(ig.output_change).max()
    np.testing.assert_allclose(ig.values[0].reshape(32, -1).sum(1), ig.output_change, atol=2e-3)
    # a two-input model: group sums add up too
    lin = torch.nn.Linear(5, 1)

    class Cat(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.two = ScalarOutput(lin, lambda y: y[:, 0])

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return self.two(torch.cat([a, b], dim=1))

    a, b = torch.randn(16, 2), torch.randn(16, 3)
    ig2 = integrated_gradients(Cat(), (a, b), ["a", "b"])
    total = ig2.values[0].sum(1) + ig2.values[1].sum(1)
    np.testing.assert_allclose(total, ig2.output_change, atol=1e-6)
    # a linear model's SHAP values are w * (x - E[background]) (sampled: to within the noise)
    bg = (torch.randn(64, 2), torch.randn(64, 3))
    sv = shap_values(Cat(), (a, b), ["a", "b"], background=bg)
    assert sv.values[0].shape == (16, 2) and sv.values[1].shape == (16, 3)
    w = lin.weight.detach().numpy()[0]
    expect = np.hstack([a.numpy() - bg[0].numpy().mean(0), b.numpy() - bg[1].numpy().mean(0)]) * w
    np.testing.assert_allclose(np.hstack(sv.values), expect, atol=0.3 * np.abs(w).max())
