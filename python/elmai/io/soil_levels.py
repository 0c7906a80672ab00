"""ELM's standard soil layer structure (clm_varcon / initVerticalMod, nlevgrnd = 15).

Node depths grow exponentially: zsoi(j) = 0.025 (exp(0.5 (j - 0.5)) - 1) m; the BGC
layer thicknesses dzsoi_decomp are the first nlevdecomp = 10 thicknesses. A stock per
m2 is sum_j pool_vr(j) * dzsoi_decomp(j).
"""

from __future__ import annotations

import numpy as np

from elmai.io.elm_names import NLEVDECOMP, NLEVGRND


def node_depths(nlev: int = NLEVGRND) -> np.ndarray:
    j = np.arange(1, nlev + 1)
    return 0.025 * (np.exp(0.5 * (j - 0.5)) - 1.0)


def layer_thickness(nlev: int = NLEVGRND) -> np.ndarray:
    z = node_depths(nlev)
    dz = np.empty(nlev)
    dz[0] = 0.5 * (z[0] + z[1])
    dz[1:-1] = 0.5 * (z[2:] - z[:-2])
    dz[-1] = z[-1] - z[-2]
    return dz


def interface_depths(nlev: int = NLEVGRND) -> np.ndarray:
    """zisoi(0..nlev): layer boundaries, 0 at the surface."""
    z, dz = node_depths(nlev), layer_thickness(nlev)
    zi = np.empty(nlev + 1)
    zi[0] = 0.0
    zi[1:-1] = 0.5 * (z[:-1] + z[1:])
    zi[-1] = z[-1] + 0.5 * dz[-1]
    return zi


DZSOI_DECOMP: np.ndarray = layer_thickness()[:NLEVDECOMP]


def stock(pool_vr: np.ndarray) -> np.ndarray:
    """Per-m2 stock of (column, levgrnd) pool(s) over the BGC levels."""
    return pool_vr[..., :NLEVDECOMP] @ DZSOI_DECOMP


SOM_DIFFUSIVITY = 1e-4  # m2/yr: ELM's som_diffus (bioturbation)


def mixing_matrix(diffusivity: float, depth: float) -> np.ndarray:
    """(nlev, nlev) tendency operator (1/yr) of vertical diffusion of a BGC pool in
    conservative flux form over the levels above `depth` (m), zero flux at its boundaries:
    d(x_i)/dt = (F_{i+1/2} - F_{i-1/2}) / dz_i with F = D (x_{i+1} - x_i) / (z_{i+1} - z_i),
    so the column stock sum(x dz) is conserved exactly. Monthly explicit steps are stable:
    D dt / dz^2 < 0.03 on ELM's thinnest level."""
    z, dz = node_depths()[:NLEVDECOMP], DZSOI_DECOMP
    n = int((z < depth).sum())
    op = np.zeros((NLEVDECOMP, NLEVDECOMP))
    for i in range(n - 1):
        g = diffusivity / (z[i + 1] - z[i])  # m/yr between levels i and i+1
        op[i, i] -= g / dz[i]
        op[i, i + 1] += g / dz[i]
        op[i + 1, i + 1] -= g / dz[i + 1]
        op[i + 1, i] += g / dz[i + 1]
    return op
