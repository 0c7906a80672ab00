"""Smooth random fields on the sphere: the spatial variety a climate and soils need
(elevation, precipitation modulation, inter-annual anomalies), reproducible by seed."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator


def smooth_field(
    lat: np.ndarray, lon: np.ndarray, scale_deg: float, rng: np.random.Generator, n: int = 1
) -> np.ndarray:
    """n fields of unit variance at points (lat, lon), correlated over ~scale_deg degrees.

    Gaussian noise on a coarse grid of scale_deg spacing, interpolated (cubic) to the points;
    periodic in longitude."""
    clat = np.arange(-90 - scale_deg, 90 + 2 * scale_deg, scale_deg)
    clon = np.arange(-2 * scale_deg, 360 + 3 * scale_deg, scale_deg)
    ncore = int(np.ceil(360 / scale_deg))
    out = np.empty((n, lat.size))
    for k in range(n):
        core = rng.standard_normal((clat.size, ncore))
        values = core[:, np.arange(clon.size) % ncore]  # periodic in longitude
        f = RegularGridInterpolator((clat, clon), values, method="cubic")
        v = f(np.column_stack([lat, np.mod(lon, 360)]))
        out[k] = (v - v.mean()) / (v.std() + 1e-12)
    return out
