"""Skill scores of simulated against observed series (NaN observations skipped) and the
two baselines every model here must beat."""

from __future__ import annotations

import numpy as np


def _valid(sim: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(obs) & np.isfinite(sim)
    return sim[ok], obs[ok]


def nse(sim: np.ndarray, obs: np.ndarray) -> float:
    """Nash-Sutcliffe efficiency: 1 - SSE / variance of the observations (1 is perfect,
    0 is no better than the observed mean)."""
    s, o = _valid(sim, obs)
    var = ((o - o.mean()) ** 2).sum()
    return float(1 - ((s - o) ** 2).sum() / var) if var > 0 else float("nan")  # e.g. a desert's zero GPP


def kge(sim: np.ndarray, obs: np.ndarray) -> float:
    """Kling-Gupta efficiency (Gupta et al. 2009): 1 - distance of (r, alpha, beta) from 1."""
    s, o = _valid(sim, obs)
    if o.std() == 0 or s.std() == 0 or o.mean() == 0:
        return float("nan")
    r = np.corrcoef(s, o)[0, 1]
    alpha, beta = s.std() / o.std(), s.mean() / o.mean()
    return float(1 - np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2))


def rmse(sim: np.ndarray, obs: np.ndarray) -> float:
    s, o = _valid(sim, obs)
    return float(np.sqrt(((s - o) ** 2).mean()))


def scores(sim: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    return {"nse": nse(sim, obs), "kge": kge(sim, obs), "rmse": rmse(sim, obs)}


def climatology(target: np.ndarray, season: np.ndarray, train: np.ndarray, smooth: int = 0) -> np.ndarray:
    """Per entity, the training mean of each season key (day of year or month), over the
    whole record; `smooth` > 0 averages a centred window of that many keys (cyclic)."""
    keys = np.unique(season)
    table = np.full((target.shape[0], keys.max() + 1), np.nan)
    for k in keys:
        t = train[season[train] == k]
        if t.size:
            table[:, k] = np.nanmean(target[:, t], axis=1)
    if smooth > 1:
        vals = table[:, 1:] if keys.min() >= 1 else table
        pad = np.concatenate([vals[:, -smooth:], vals, vals[:, :smooth]], axis=1)
        kernel = np.ones(smooth) / smooth
        sm = np.array([np.convolve(np.nan_to_num(row, nan=np.nanmean(row)), kernel, "same") for row in pad])
        sm = sm[:, smooth:-smooth]
        if keys.min() >= 1:
            table[:, 1:] = sm
        else:
            table = sm
    return table[:, season]


def persistence(target: np.ndarray) -> np.ndarray:
    """The previous step's observation."""
    out = np.full_like(target, np.nan)
    out[:, 1:] = target[:, :-1]
    return out
