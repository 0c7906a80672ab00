"""Surface data of the testbed: soil texture and organic matter per soil level, and the
mix of ELM's 17 natural PFTs on each gridcell's vegetated column, set by climate.

The PFT mix follows CLM/ELM biogeography (coldest/warmest month, precipitation): each
PFT gets a smooth suitability score, and the cell keeps its best five above 5%. Smooth
scores make neighbouring climates share PFTs, as real land does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elmai.io.elm_names import NATPFT
from elmai.testbed.climate import Climate
from elmai.testbed.fields import smooth_field
from elmai.testbed.grid import LandGrid

NLEVSOI = 10
MAX_PFTS_PER_COLUMN = 5
MIN_PFT_WEIGHT = 0.05


@dataclass
class Surface:
    pct_nat_pft: np.ndarray  # (NATPFT, ngrid) percent of the vegetated column, sums to 100
    pct_sand: np.ndarray  # (NLEVSOI, ngrid) percent
    pct_clay: np.ndarray  # (NLEVSOI, ngrid) percent
    organic: np.ndarray  # (NLEVSOI, ngrid) kg/m3 soil organic matter density

    @property
    def pft_weights(self) -> np.ndarray:
        """(NATPFT, ngrid) fractions of the column (pfts1d_wtcol)."""
        return self.pct_nat_pft / 100.0


def _rise(x: np.ndarray, at: float, width: float) -> np.ndarray:
    """0 well below `at`, 1 well above (logistic)."""
    return 1.0 / (1.0 + np.exp(-(x - at) / width))


def _fall(x: np.ndarray, at: float, width: float) -> np.ndarray:
    return 1.0 - _rise(x, at, width)


def pft_suitability(t_cold: np.ndarray, t_warm: np.ndarray, precip: np.ndarray) -> np.ndarray:
    """(NATPFT, ngrid) unnormalised suitability of each PFT in each climate."""
    tc, tw, p = t_cold, t_warm, precip
    grow = _rise(tw, 8.0, 1.5)  # a warm enough summer for trees
    s = np.zeros((NATPFT,) + tc.shape)
    s[0] = 0.6 * _fall(p, 220, 60) + 0.8 * _fall(tw, 3.0, 1.5) + 0.03  # bare ground
    s[1] = _rise(tc, -15, 3) * _fall(tc, 6, 2) * _rise(p, 500, 100) * grow * 0.8  # NET temperate
    s[2] = _fall(tc, -8, 3) * _rise(tc, -32, 3) * _rise(tw, 11, 1.5) * _rise(p, 280, 60)  # NET boreal
    s[3] = _fall(tc, -30, 3) * _rise(tw, 11, 1.5) * _rise(p, 200, 60) * 0.9  # NDT boreal (larch)
    s[4] = _rise(tc, 16, 1.5) * _rise(p, 1700, 200)  # BET tropical
    s[5] = _rise(tc, 3, 2) * _fall(tc, 15, 2) * _rise(p, 900, 150) * 0.7  # BET temperate
    s[6] = _rise(tc, 15, 1.5) * _rise(p, 900, 150) * _fall(p, 2200, 250) * 0.8  # BDT tropical
    s[7] = _rise(tc, -15, 3) * _fall(tc, 5, 2) * _rise(p, 550, 100) * _rise(tw, 16, 1.5)  # BDT temperate
    s[8] = _fall(tc, -8, 3) * _rise(tw, 12, 1.5) * _rise(p, 300, 60) * 0.6  # BDT boreal
    s[9] = _rise(tc, 0, 2) * _rise(p, 180, 40) * _fall(p, 700, 120) * 0.7  # BE shrub
    s[10] = (
        _rise(tc, -20, 3) * _fall(tc, 5, 2) * _rise(p, 220, 50) * _fall(p, 800, 120) * 0.7
    )  # BD shrub temp.
    s[11] = _rise(tw, 4, 1.5) * _fall(tw, 14, 1.5) * 0.8  # BD shrub boreal (tundra)
    s[12] = _rise(tw, 2, 1.5) * _fall(tw, 13, 1.5)  # C3 arctic grass
    s[13] = _fall(tc, 12, 2) * _rise(tw, 12, 2) * _rise(p, 250, 60) * 0.8  # C3 grass
    s[14] = _rise(tc, 12, 2) * _rise(p, 300, 60) * _fall(p, 1500, 200)  # C4 grass
    s[15] = _rise(tc, -8, 3) * _rise(tw, 18, 2) * _rise(p, 450, 80) * 0.25  # crop
    s[16] = _rise(tw, 22, 2) * _fall(p, 600, 100) * _rise(p, 150, 40) * 0.15  # irrigated crop
    return s


def pft_mix(suitability: np.ndarray) -> np.ndarray:
    """Percent per PFT: scores squared (sharper), best MAX_PFTS_PER_COLUMN kept above
    MIN_PFT_WEIGHT, renormalised to 100."""
    w = suitability**2
    w = w / w.sum(axis=0, keepdims=True)
    rank = np.argsort(np.argsort(-w, axis=0), axis=0)
    w = np.where((rank < MAX_PFTS_PER_COLUMN) & (w >= MIN_PFT_WEIGHT), w, 0.0)
    empty = w.sum(axis=0) == 0
    w[0, empty] = 1.0  # nothing suits: bare ground
    return 100.0 * w / w.sum(axis=0, keepdims=True)


def make_surface(grid: LandGrid, climate: Climate, seed: int = 1) -> Surface:
    rng = np.random.default_rng(seed)
    lat, lon = grid.cell_lat, grid.cell_lon
    t_ann = climate.annual_mean_temperature_c()
    precip = climate.annual_precipitation_mm()
    pct = pft_mix(pft_suitability(climate.coldest_month_c(), climate.warmest_month_c(), precip))

    texture, sorting = smooth_field(lat, lon, 8.0, rng, n=2)
    aridity = np.tanh((600 - precip) / 500)  # dry land is sandier
    depth = np.arange(NLEVSOI)[:, None]
    sand = (
        np.clip(40 + 22 * aridity + 15 * texture, 5, 92)[None, :] - 1.5 * depth * (1 + 0.3 * sorting)[None, :]
    )
    sand = np.clip(sand, 3, 95)
    clay = np.clip((100 - sand) * (0.35 + 0.1 * sorting[None, :]) + 1.2 * depth, 2, 70)
    clay = np.minimum(clay, 100 - sand)
    # organic matter: rich in cold wet soils, decreasing with depth
    rich = np.clip(60 * _fall(t_ann, 2, 4) * _rise(precip, 300, 100) + 15, 5, 130)
    organic = rich[None, :] * np.exp(-depth / 3.0)
    return Surface(pct_nat_pft=pct, pct_sand=sand, pct_clay=clay, organic=organic)
