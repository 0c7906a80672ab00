"""Per-basin metrics and their summary over basins (median and quartiles), NaN observations
masked; the one metric implementation is elmai.apps.timeseries.metrics."""

from __future__ import annotations

import numpy as np

from elmai.apps.timeseries.metrics import hydro_scores

METRICS = ("nse", "kge", "alpha_nse", "beta_nse", "peak_timing")


def per_basin(sim: np.ndarray, obs: np.ndarray, basins: list[str]) -> dict[str, dict[str, float]]:
    """sim, obs: basin x date in the target's units."""
    return {b: hydro_scores(sim[i], obs[i]) for i, b in enumerate(basins)}


def summary(scores: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for m in METRICS:
        v = np.array([s[m] for s in scores.values()], dtype=float)
        v = v[np.isfinite(v)]
        if v.size:
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            out[m] = {"median": float(med), "q25": float(q1), "q75": float(q3), "basins": int(v.size)}
    return out


def medians(scores: dict[str, dict[str, float]], metric: str = "nse") -> float:
    v = np.array([s[metric] for s in scores.values()], dtype=float)
    return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")
