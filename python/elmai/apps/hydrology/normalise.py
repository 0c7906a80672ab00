"""Normalisation fitted on the training basins and training period only, so no test-period
or held-out-basin statistic leaks into training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scaler:
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, axis: tuple[int, ...]) -> Scaler:
        mean = np.nanmean(values, axis=axis)
        std = np.nanstd(values, axis=axis)
        return cls(mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32))

    def apply(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.std).astype(np.float32)

    def invert(self, values: np.ndarray) -> np.ndarray:
        return values * self.std + self.mean

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": np.atleast_1d(self.mean).tolist(), "std": np.atleast_1d(self.std).tolist()}


def fit_dynamic(series: np.ndarray, basins: np.ndarray, period: slice) -> Scaler:
    """Per feature over training basins x training dates; `series` is basin x date x feature."""
    return Scaler.fit(series[basins, period], axis=(0, 1))


def fit_static(static: np.ndarray, basins: np.ndarray) -> Scaler:
    return Scaler.fit(static[basins], axis=(0,))
