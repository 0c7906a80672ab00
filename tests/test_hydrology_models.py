"""Issue 26, models: forecasts cannot see future streamflow (causality), the simulation
transformer is causal in time, attention rows are normalised, surrogate forecast errors grow
with lead time and are seeded, and a tiny simulation run writes its resolved config,
metrics and CDF plot. Few basins, few years, tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from elmai.apps.hydrology import caravan
from elmai.apps.hydrology.config import DYNAMIC, HydrologyConfig
from elmai.apps.hydrology.dataset import prepare
from elmai.apps.hydrology.forecast import ForecastSetup, eval_pairs, inputs, persistence
from elmai.apps.hydrology.forecast_models import TST, Block, build
from elmai.apps.hydrology.models import TransformerSim
from elmai.apps.hydrology.surrogate import lead_sd, perturb, seeded
from tests.conftest import shared_data

BASINS = ["01022500", "09107000"]
STATIC = ["p_mean", "aridity", "area"]


@pytest.fixture(scope="module")
def prepared():
    nc = shared_data("caravan_camels", caravan.NETCDF)
    data = caravan.load(nc, BASINS, STATIC)
    train = data.index("2000-10-01", "2003-09-30")
    return prepare(data, DYNAMIC, STATIC, "streamflow", np.arange(2), train, slice(0, train.stop))


def _predict(model, p, pairs, s):
    model.eval()
    with torch.no_grad():
        return model(*[torch.from_numpy(a) for a in inputs(p, pairs, s, 1.0)[:4]]).numpy()


@pytest.mark.parametrize("kind", ["tst", "lstm", "lstm_ed"])
def test_future_streamflow_cannot_change_a_forecast(prepared, kind: str) -> None:
    s = ForecastSetup(history=30, lead=10)
    torch.manual_seed(0)
    model = build(kind, len(DYNAMIC), len(STATIC), s.lead, 16)
    t0 = 7600
    pairs = np.array([[0, t0], [1, t0]])
    before = _predict(model, prepared, pairs, s)
    saved = prepared.y.copy()
    try:
        prepared.y[:, t0 + 1 :] = 1e3 * np.random.default_rng(1).standard_normal(
            prepared.y[:, t0 + 1 :].shape
        )
        after = _predict(model, prepared, pairs, s)
        np.testing.assert_array_equal(before, after)  # future flow: no effect at all
        prepared.y[:, t0] += 5.0  # the issue day's flow is an input: it must matter
        assert np.abs(_predict(model, prepared, pairs, s) - before).max() > 1e-4
    finally:
        prepared.y[:] = saved


def test_persistence_is_the_issue_day_flow(prepared) -> None:
    pairs = np.array([[0, 7600], [1, 7700]])
    out = persistence(prepared, pairs, 30)
    assert out.shape == (2, 30) and np.all(out[0] == prepared.q[0, 7600])
    pairs = eval_pairs(
        prepared, ForecastSetup(issue_stride=10), prepared.data.index("2001-01-01", "2001-12-31")
    )
    assert (np.diff(pairs[pairs[:, 0] == 0, 1]) == 10).all()


def test_simulation_transformer_is_causal() -> None:
    torch.manual_seed(0)
    m = TransformerSim(3, 2, hidden=16).eval()
    x, st = torch.randn(2, 50, 3), torch.randn(2, 2)
    a = m(x, st)
    x2 = x.clone()
    x2[:, 30:] += 10
    b = m(x2, st)
    assert torch.allclose(a[:, :30], b[:, :30], atol=1e-5) and not torch.allclose(a[:, 30:], b[:, 30:])


def test_tst_attention_rows_sum_to_one() -> None:
    torch.manual_seed(0)
    m = TST(3, 2, lead=5, hidden=16).eval()
    args = [torch.randn(4, 12, 3), torch.randn(4, 12, 2), torch.randn(4, 5, 3), torch.randn(4, 2)]
    Block.record = True
    try:
        out = m(*args)
    finally:
        Block.record = False
    assert out.shape == (4, 5)
    cross = m.decoder[0].weights["cross"]  # queries (12 past flow + 5 leads) over 12 + 5 fused tokens
    assert cross.shape == (4, 17, 17)
    torch.testing.assert_close(cross.sum(-1), torch.ones(4, 17))
    torch.testing.assert_close(m.fusion.weights.sum(-1), torch.ones(4, 5))
    torch.testing.assert_close(m.past_enc[0].weights["self"].sum(-1), torch.ones(4, 12))


def test_surrogate_errors_grow_with_lead_and_are_seeded() -> None:
    rng = np.random.default_rng(0)
    true = np.ones((4000, 30, 3), np.float32) * np.array([2.0, 10.0, 3.0], np.float32)
    noisy = perturb(true, DYNAMIC, 1.0, rng)
    temp_sd = (noisy[..., 1] - 10.0).std(axis=0)
    np.testing.assert_allclose(temp_sd[[0, 6, 29]], lead_sd(DYNAMIC[1], np.array([1, 7, 30]), 1.0), rtol=0.08)
    log_p = np.log(noisy[..., 0] / 2.0).std(axis=0)
    assert log_p[0] < log_p[6] < log_p[29]
    assert abs(noisy[..., 0].mean() / 2.0 - 1) < 0.1  # mean-preserving at lead 1..30 on average
    np.testing.assert_array_equal(perturb(true[:3], DYNAMIC, 0.0, rng), true[:3])  # level 0: perfect
    keys = np.array([[0, 5], [1, 5]])
    a = seeded(true[:2], DYNAMIC, 1.0, 0, keys)
    b = seeded(true[:2][::-1], DYNAMIC, 1.0, 0, keys[::-1])[::-1]
    np.testing.assert_array_equal(a, b)  # same (basin, day): same forecast whatever the batch


def test_tiny_simulation_run_writes_its_resolved_config(tmp_path: Path) -> None:
    from elmai.apps.hydrology.simulation import run_simulation

    nc = shared_data("caravan_camels", caravan.NETCDF)
    raw = {
        "name": "tiny",
        "data": {"netcdf": str(nc), "basins": BASINS, "static": STATIC},
        "periods": {"train": ["2000-10-01", "2002-09-30"], "test": ["2002-10-01", "2003-09-30"]},
        "model": {"type": "lstm", "hidden": 8},
        "training": {
            "epochs": 1,
            "steps_per_epoch": 2,
            "batch_size": 4,
            "seq_length": 120,
            "predict_last": 60,
        },
        "out": str(tmp_path / "run"),
    }
    r = run_simulation(HydrologyConfig.from_mapping(raw), log=None)
    out = tmp_path / "run"
    assert {"resolved_config.yaml", "metrics.json", "nse_cdf.png", "model.pt"} <= {
        f.name for f in out.iterdir()
    }
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["per_basin"]["model"]) == set(BASINS)
    assert set(m["per_basin"]["model"]["01022500"]) == {"nse", "kge", "alpha_nse", "beta_nse", "peak_timing"}
    assert r["summary"]["climatology"]["nse"]["basins"] == 2
    assert "tiny" in (out / "resolved_config.yaml").read_text()


def test_ilstm_attentions_are_normalised() -> None:
    from elmai.apps.hydrology.ilstm import ILSTM

    torch.manual_seed(0)
    m = ILSTM(3, 2, hidden=4, span=6, last=5).eval()
    x, st = torch.randn(2, 20, 3), torch.randn(2, 2)
    m.record = True
    y = m(x, st)
    assert y.shape == (2, 20) and (y[:, :15] == 0).all()  # only the last 5 days are predicted
    torch.testing.assert_close(m.beta.sum(-1), torch.ones(2, 5))  # over the 3 drivers
    torch.testing.assert_close(m.alpha.sum(-1), torch.ones(2, 5, 3))  # over the 6 lags
    assert m.alpha.shape == (2, 5, 3, 6)


def test_ungauged_folds_partition_the_basins() -> None:
    from elmai.apps.hydrology.ungauged import INPUT_SETS, LABEL, RS, folds

    f = folds(10, 3, 0)
    assert sorted(np.concatenate(f).tolist()) == list(range(10)) and [len(a) for a in f] == [4, 3, 3]
    assert set(INPUT_SETS["geo_rs_lstm"]) == set(INPUT_SETS["geo_lstm"]) | set(RS)
    assert LABEL == "satellite-derived attributes, not images"
