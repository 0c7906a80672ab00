"""30-day streamflow forecasts on surrogate forecasts (see surrogate.py): TST, LSTM, LSTM-ED
and persistence on the same inputs; median NSE over basins per lead day on the test period,
at several surrogate noise levels (0 = perfect forecast).

Causality by construction: `inputs` reads streamflow only up to the issue day t0 and the
drivers after t0 only through the surrogate forecast; tests check it by perturbing the
streamflow after t0."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from elmai.apps.hydrology.dataset import Prepared
from elmai.apps.hydrology.surrogate import perturb, seeded


@dataclass
class ForecastSetup:
    history: int = 90  # past days the models see
    lead: int = 30
    train_level: float = 1.0  # surrogate noise level the models train on
    eval_levels: list[float] = field(default_factory=lambda: [0.0, 1.0, 2.0])
    issue_stride: int = 10  # test issue days every this many days
    seed: int = 0


def inputs(
    p: Prepared, pairs: np.ndarray, s: ForecastSetup, level: float, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, ...]:
    """(past_x, past_q, future_x, static, target) of (basin, t0) pairs. Streamflow enters
    only for days <= t0 (NaN -> 0 with a flag); future drivers are surrogate forecasts made
    from the raw drivers (seeded per (basin, t0) unless `rng` is given) and then normalised."""
    b = pairs[:, 0:1]
    t0 = pairs[:, 1:2]
    past = t0 + np.arange(-s.history + 1, 1)
    fut = t0 + np.arange(1, s.lead + 1)
    past_x = p.x[b, past]
    q = p.y[b, past]
    past_q = np.stack([np.nan_to_num(q), np.isfinite(q).astype(np.float32)], axis=-1)
    raw = p.x_scaler.invert(p.x[b, fut])  # the true future drivers, raw units
    variables = p.driver_names
    noisy = (
        perturb(raw, variables, level, rng)
        if rng is not None
        else seeded(raw, variables, level, s.seed, pairs)
    )
    future_x = p.x_scaler.apply(noisy)
    target = p.y[b, fut]
    return past_x, past_q.astype(np.float32), future_x, p.static[pairs[:, 0]], target


def train_pairs(p: Prepared, s: ForecastSetup, period: slice) -> np.ndarray:
    t0 = np.arange(max(period.start, s.history - 1), period.stop - s.lead)
    return np.array([(b, t) for b in range(len(p.data.basins)) for t in t0])


def eval_pairs(p: Prepared, s: ForecastSetup, period: slice) -> np.ndarray:
    t0 = np.arange(max(period.start - 1, s.history - 1), period.stop - s.lead, s.issue_stride)
    return np.array([(b, t) for b in range(len(p.data.basins)) for t in t0])


def predict(model, p: Prepared, pairs: np.ndarray, s: ForecastSetup, level: float, batch: int = 256):
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), batch):
            px, pq, fx, st, _ = inputs(p, pairs[i : i + batch], s, level)
            t = [torch.from_numpy(a) for a in (px, pq, fx, st)]
            out.append(model(*t).numpy())
    return p.y_scaler.invert(np.concatenate(out))


def persistence(p: Prepared, pairs: np.ndarray, lead: int) -> np.ndarray:
    """Flow on the issue day, for every lead (NaN where it is missing)."""
    return np.repeat(p.q[pairs[:, 0], pairs[:, 1]][:, None], lead, axis=1)


def nse_by_lead(pred: np.ndarray, p: Prepared, pairs: np.ndarray, lead: int) -> dict[str, float]:
    """Median over basins of the NSE of each lead day's forecasts (one per issue day)."""
    from elmai.apps.timeseries.metrics import nse

    obs = p.q[pairs[:, 0:1], pairs[:, 1:2] + np.arange(1, lead + 1)]
    out = {}
    for k in range(lead):
        per = [nse(pred[pairs[:, 0] == b, k], obs[pairs[:, 0] == b, k]) for b in np.unique(pairs[:, 0])]
        out[str(k + 1)] = float(np.nanmedian(per))
    return out


def train_model(
    kind: str, p: Prepared, s: ForecastSetup, period: slice, hidden: int, epochs: int, steps: int,
    batch_size: int, lr: float, level: float, log: Callable[[str], None] | None = print,
):  # fmt: skip
    import torch

    from elmai.apps.hydrology.forecast_models import build
    from elmai.apps.hydrology.train import fit

    pairs = train_pairs(p, s, period)
    bstd = torch.from_numpy(p.basin_std)

    def batch(rng: np.random.Generator):
        pick = pairs[rng.integers(0, len(pairs), batch_size)]
        px, pq, fx, st, y = inputs(p, pick, s, level, rng)  # fresh noise every batch
        t = tuple(torch.from_numpy(a) for a in (px, pq, fx, st))
        return t, torch.from_numpy(y), bstd[pick[:, 0]]

    torch.manual_seed(s.seed)
    model = build(kind, p.x.shape[-1], p.static.shape[-1], s.lead, hidden)
    t0 = time.perf_counter()
    history = fit(model, batch, epochs, steps, lr, s.seed, log)
    history["seconds"] = time.perf_counter() - t0
    return model, history


def run_forecast(
    data, static: list[str], dynamic: list[str], periods: dict, s: ForecastSetup, models: dict[str, dict],
    log: Callable[[str], None] | None = print,
) -> dict:  # fmt: skip
    """Train each of `models` (name -> {kind, hidden, epochs, steps, batch_size, lr, level})
    on the training period and score it per lead day on the test period at every level of
    `s.eval_levels`; persistence is scored alongside. Results are keyed by level ("1.0")."""
    from elmai.apps.hydrology.dataset import prepare

    train = data.index(*periods["train"])
    test = data.index(*periods["test"])
    basins = np.arange(len(data.basins))
    lo = max(0, test.start - s.history)
    p = prepare(data, dynamic, static, "streamflow", basins, train, slice(lo, max(train.stop, test.stop)))
    pairs = eval_pairs(p, s, test)
    out: dict = {
        "persistence": {"median_nse_by_lead": nse_by_lead(persistence(p, pairs, s.lead), p, pairs, s.lead)}
    }
    for name, m in models.items():
        level = m.get("level", s.train_level)
        if log:
            log(f"forecast {name}: training on surrogate level {level}")
        model, hist = train_model(
            m["kind"], p, s, train, m["hidden"], m["epochs"], m["steps"], m["batch_size"], m["lr"], level, log
        )
        by_level = {}
        for ev in m.get("eval_levels", s.eval_levels):
            by_level[str(float(ev))] = nse_by_lead(predict(model, p, pairs, s, ev), p, pairs, s.lead)
        out[name] = {
            "kind": m["kind"],
            "train_level": level,
            "by_level": by_level,
            "median_nse_by_lead": by_level[str(float(level))],
            "train_seconds": hist["seconds"],
            "loss": hist["loss"],
            "parameters": int(sum(t.numel() for t in model.parameters())),
        }
        out[name]["_model"] = model
    out["_prepared"] = p
    out["_pairs"] = pairs
    return out
