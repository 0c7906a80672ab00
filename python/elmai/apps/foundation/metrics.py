"""Scores on land, every cell weighted by cos(latitude): RMSE, Pearson correlation and
SSIM (Wang et al. 2004, 7x7 uniform window, constants K1 = 0.01, K2 = 0.03 on the
target's range, averaged over land cells). Maps are (..., H, W) with NaN off land."""

from __future__ import annotations

import numpy as np

__all__ = ["correlation", "rmse", "ssim"]


def _w(lat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.cos(np.deg2rad(lat))[:, None], shape[-2:])


def rmse(pred: np.ndarray, target: np.ndarray, lat: np.ndarray) -> float:
    ok = np.isfinite(target) & np.isfinite(pred)
    w = np.broadcast_to(_w(lat, target.shape), target.shape)
    return float(np.sqrt(np.sum(w[ok] * (pred[ok] - target[ok]) ** 2) / np.sum(w[ok])))


def correlation(pred: np.ndarray, target: np.ndarray, lat: np.ndarray) -> float:
    ok = np.isfinite(target) & np.isfinite(pred)
    w = np.broadcast_to(_w(lat, target.shape), target.shape)[ok]
    a, b = pred[ok], target[ok]
    a, b = a - np.average(a, weights=w), b - np.average(b, weights=w)
    return float(np.sum(w * a * b) / np.sqrt(np.sum(w * a * a) * np.sum(w * b * b) + 1e-300))


def ssim(pred: np.ndarray, target: np.ndarray, window: int = 7) -> float:
    """Mean SSIM over land of each (H, W) map in the stack, averaged over maps."""
    from scipy.ndimage import uniform_filter

    t2 = target.reshape(-1, *target.shape[-2:])
    p2 = pred.reshape(-1, *pred.shape[-2:])
    scores = []
    for p, t in zip(p2, t2, strict=True):
        land = np.isfinite(t)
        lo, hi = np.nanmin(t), np.nanmax(t)
        c1, c2 = (0.01 * (hi - lo)) ** 2, (0.03 * (hi - lo)) ** 2
        fill = float(np.nanmean(t))  # off land both maps hold the same value
        t0 = np.where(land, t, fill)
        p0 = np.where(land, np.nan_to_num(p, nan=fill), fill)

        def f(x: np.ndarray) -> np.ndarray:
            return uniform_filter(x, window, mode=("nearest", "wrap"))

        mt, mp = f(t0), f(p0)
        vt, vp, cov = f(t0 * t0) - mt**2, f(p0 * p0) - mp**2, f(t0 * p0) - mt * mp
        s = ((2 * mt * mp + c1) * (2 * cov + c2)) / ((mt**2 + mp**2 + c1) * (vt + vp + c2))
        scores.append(float(s[land].mean()))
    return float(np.mean(scores))
