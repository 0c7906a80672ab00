"""Normalisation of the spin-up data set: pools in log space (log1p of gC/m2 or gC/m3),
then standardised per feature with statistics fitted on training cells only."""

from __future__ import annotations

import numpy as np

POOL_GROUPS = ("pft_early", "soil_early", "pft_target", "soil_target", "decay_rate")
GROUPS = ("forcing", "static", "traits") + POOL_GROUPS


def to_log(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(x, 0.0, None))


def transformed(arrays: dict[str, np.ndarray], group: str) -> np.ndarray:
    """The group's array in the space its statistics describe (log for pools)."""
    x = arrays[group]
    return to_log(x) if group in POOL_GROUPS else x


def _mean_std(
    x: np.ndarray, axes: tuple[int, ...], mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    if mask is None:
        mean, std = x.mean(axis=axes), x.std(axis=axes)
    else:
        w = np.broadcast_to(mask, x.shape).astype(np.float64)
        n = np.maximum(w.sum(axis=axes), 1.0)
        mean = (x * w).sum(axis=axes) / n
        std = np.sqrt(((x - np.expand_dims(mean, axes)) ** 2 * w).sum(axis=axes) / n)
    return mean, np.where(std > 1e-8, std, 1.0)


def fit_stats(arrays: dict[str, np.ndarray], train: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{group: (mean, std)} from the training cells `train` (boolean over cells). Absent
    PFTs (weight 0) are left out of the PFT statistics; soil statistics are per level and pool."""
    present = arrays["pft_weight"][train] > 0  # (n, NATPFT)
    stats = {
        "forcing": _mean_std(arrays["forcing"][train], (0, 1)),
        "static": _mean_std(arrays["static"][train], (0,)),
    }
    traits = np.broadcast_to(arrays["traits"][None], (int(train.sum()),) + arrays["traits"].shape)
    traits = np.concatenate([traits, arrays["pft_weight"][train][..., None]], axis=-1)
    stats["traits"] = _mean_std(traits, (0, 1), present[..., None])
    for g in ("pft_early", "pft_target"):
        stats[g] = _mean_std(transformed(arrays, g)[train], (0, 1), present[..., None])
    for g in ("soil_early", "soil_target", "decay_rate"):
        stats[g] = _mean_std(transformed(arrays, g)[train], (0,))
    return stats
