"""Surrogate weather forecasts (no forecast archive is offline): the observed future
ERA5-Land drivers with seeded errors that grow with lead time. Labelled "surrogate"
wherever a figure uses them; level 0 is the perfect forecast.

At lead l (days) and level k the error is
- precipitation: multiplicative, log-normal with sd k * 0.35 * sqrt(l), mean preserved
  (0.35 at day 1, 0.93 at day 7, 1.9 at day 30: GEFS-like loss of daily skill);
- temperature: additive normal with sd k * 0.6 * sqrt(l) degC (0.6 at day 1, 3.3 at day 30);
- potential evaporation: multiplicative, log-normal with sd k * 0.1 * sqrt(l).
Errors are independent across days and drivers; each (basin, issue day) has its own seed,
so a forecast is the same in every run and for every model."""

from __future__ import annotations

import numpy as np

SD_PER_SQRT_DAY = {
    "total_precipitation_sum": ("mult", 0.35),
    "temperature_2m_mean": ("add", 0.6),
    "potential_evaporation_sum": ("mult", 0.10),
}


def lead_sd(variable: str, leads: np.ndarray, level: float) -> np.ndarray:
    return level * SD_PER_SQRT_DAY.get(variable, ("add", 0.0))[1] * np.sqrt(leads)


def perturb(future: np.ndarray, variables: list[str], level: float, rng: np.random.Generator) -> np.ndarray:
    """`future`: n x lead x driver, raw units (lead 1 first); a perturbed copy."""
    if level == 0:
        return future.copy()
    out = future.astype(np.float64, copy=True)
    leads = np.arange(1, future.shape[1] + 1)
    for j, v in enumerate(variables):
        kind, _ = SD_PER_SQRT_DAY.get(v, ("add", 0.0))
        sd = lead_sd(v, leads, level)[None, :]
        z = rng.standard_normal(out.shape[:2])
        if kind == "mult":
            out[..., j] *= np.exp(sd * z - sd**2 / 2)
        else:
            out[..., j] += sd * z
    return out.astype(np.float32)


def seeded(future: np.ndarray, variables: list[str], level: float, seed: int, keys: np.ndarray) -> np.ndarray:
    """Perturb each row with its own generator seeded by (seed, *keys[row]): the same
    (basin, issue day) gets the same surrogate forecast whatever the batch."""
    out = np.empty_like(future)
    for i, key in enumerate(keys):
        rng = np.random.default_rng([seed, int(level * 1000), *map(int, key)])
        out[i] = perturb(future[i : i + 1], variables, level, rng)[0]
    return out
