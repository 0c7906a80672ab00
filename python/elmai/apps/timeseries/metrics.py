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


def alpha_nse(sim: np.ndarray, obs: np.ndarray) -> float:
    """alpha of the NSE decomposition (Gupta et al. 2009): std(sim) / std(obs)."""
    s, o = _valid(sim, obs)
    return float(s.std() / o.std()) if o.size and o.std() > 0 else float("nan")


def beta_nse(sim: np.ndarray, obs: np.ndarray) -> float:
    """beta of the NSE decomposition, NeuralHydrology's form: (mean(sim) - mean(obs)) / std(obs)."""
    s, o = _valid(sim, obs)
    return float((s.mean() - o.mean()) / o.std()) if o.size and o.std() > 0 else float("nan")


def peak_timing(sim: np.ndarray, obs: np.ndarray, window: int = 3) -> float:
    """Mean absolute offset (steps) between observed peaks and the simulated peak within
    +-`window` steps (Kratzert et al. 2020, NeuralHydrology's mean_peak_timing): peaks of
    the valid observations by scipy's find_peaks (distance 100, prominence std(obs)); peaks
    whose window reaches a gap or the ends are skipped."""
    from scipy import signal

    pos = np.flatnonzero(np.isfinite(obs) & np.isfinite(sim))
    if pos.size < 2 * window + 1:
        return float("nan")
    s, o = sim[pos], obs[pos]
    peaks, _ = signal.find_peaks(o, distance=100, prominence=np.std(o))
    errors = []
    for i in peaks:
        if i - window < 0 or i + window >= o.size or pos[i + window] - pos[i - window] != 2 * window:
            continue
        if s[i] > s[i - 1] and s[i] > s[i + 1]:
            j = i
        else:
            j = i - window + int(np.argmax(s[i - window : i + window + 1]))
        errors.append(abs(int(pos[i]) - int(pos[j])))
    return float(np.mean(errors)) if errors else float("nan")


def hydro_scores(sim: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """The streamflow metrics of the hydrology protocol, NaN observations masked."""
    return {
        "nse": nse(sim, obs),
        "kge": kge(sim, obs),
        "alpha_nse": alpha_nse(sim, obs),
        "beta_nse": beta_nse(sim, obs),
        "peak_timing": peak_timing(sim, obs),
    }
