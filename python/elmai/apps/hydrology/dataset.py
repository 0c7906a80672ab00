"""From a Caravan data set and a run's choices to normalised arrays: forcing (basin x date
x feature), static attributes (basin x attribute) and the target (basin x date, NaN kept:
the loss and the metrics mask it). Statistics come from the training basins and dates only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from elmai.apps.hydrology.caravan import Caravan
from elmai.apps.hydrology.normalise import Scaler, fit_dynamic, fit_static


@dataclass
class Prepared:
    data: Caravan
    x: np.ndarray  # basin x date x dynamic feature, normalised
    static: np.ndarray  # basin x attribute, normalised
    y: np.ndarray  # basin x date, normalised target (NaN where missing)
    q: np.ndarray  # basin x date, target in its units (NaN where missing)
    x_scaler: Scaler
    s_scaler: Scaler | None
    y_scaler: Scaler
    basin_std: np.ndarray  # per basin: std of normalised target in the training period (NSE* loss)
    driver_names: list[str] = field(default_factory=list)


def prepare(
    data: Caravan,
    dynamic: list[str],
    static: list[str],
    target: str,
    train_basins: np.ndarray,
    train: slice,
    used: slice,
) -> Prepared:
    """Check the used dates (`used`, warm-up included) of every basin: NaN forcing is an
    error, an all-NaN target in the training period is an error, gaps are masked."""
    data.check_forcing(dynamic, used.start, used.stop)
    data.check_target(train.start, train.stop, target)
    raw = np.stack([data.series[v] for v in dynamic], axis=-1)
    x_scaler = fit_dynamic(raw, train_basins, train)
    x = x_scaler.apply(raw)
    if static:
        s_raw = np.stack([data.attributes[a] for a in static], axis=-1)
        s_scaler = fit_static(s_raw, train_basins)
        s = s_scaler.apply(s_raw)
    else:
        s_scaler, s = None, np.zeros((len(data.basins), 0), np.float32)
    q = data.series[target]
    y_scaler = Scaler.fit(q[train_basins, train], axis=(0, 1))
    y = y_scaler.apply(q)
    with np.errstate(invalid="ignore"):
        bstd = np.nanstd(y[:, train], axis=1)
    bstd = np.where(np.isfinite(bstd), bstd, 1.0).astype(np.float32)
    return Prepared(data, x, s, y, q, x_scaler, s_scaler, y_scaler, bstd, list(dynamic))


def training_windows(y: np.ndarray, basins: np.ndarray, period: slice, seq: int, last: int) -> np.ndarray:
    """(basin, end) pairs: windows of `seq` days ending in `period` whose last `last` days
    hold at least one observed target; the input may start before the period (warm-up)."""
    pairs = []
    for b in basins:
        ends = np.arange(max(period.start + last - 1, seq - 1), period.stop)
        ok = np.isfinite(y[b, ends])
        pairs.append(np.stack([np.full(ok.sum(), b), ends[ok]], axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), int)


def eval_ends(period: slice, seq: int, last: int) -> np.ndarray:
    """Window ends whose last `last` days tile `period` (the final window may overlap)."""
    first = max(period.start + last - 1, seq - 1)
    ends = list(range(first, period.stop, last))
    if ends[-1] != period.stop - 1:
        ends.append(period.stop - 1)
    return np.array(ends)


def gather(p: Prepared, pairs: np.ndarray, seq: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs (n x seq x F), static (n x S) and targets (n x seq) of the (basin, end) pairs."""
    offs = np.arange(-seq + 1, 1)
    idx = pairs[:, 1:2] + offs
    b = pairs[:, 0:1]
    return p.x[b, idx], p.static[pairs[:, 0]], p.y[b, idx]
