"""Surface data of the testbed: soil texture and organic matter per soil level, and the
mix of ELM's 17 natural PFTs on each gridcell's vegetated column, set by climate, and the
landunit fractions of each gridcell (PCT_NATVEG, PCT_CROP, PCT_URBAN, PCT_LAKE, PCT_WETLAND,
PCT_GLACIER, as ELM's surface data carry them).

The PFT mix follows CLM/ELM biogeography (coldest/warmest month, precipitation): each
PFT gets a smooth suitability score, and the cell keeps its best five above 5%. Smooth
scores make neighbouring climates share PFTs, as real land does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elmai.apps.testbed.climate import Climate
from elmai.apps.testbed.fields import smooth_field
from elmai.apps.testbed.grid import LandGrid
from elmai.io.elm_names import ISTCROP, ISTDLAK, ISTICE, ISTSOIL, ISTWET, NATPFT, URBAN_LANDUNITS

NLEVSOI = 10
MAX_PFTS_PER_COLUMN = 5
MIN_PFT_WEIGHT = 0.05
# ELM's crop functional types without use_crop (create_crop_landunit): natural PFTs 0-14
# stay on the vegetated column, c3_crop (15) and c3_irrigated (16) get one column each on
# the crop landunit (initGridCellsMod set_landunit_crop_noncompete, cft_lb..cft_ub)
CFT_TYPES: tuple[int, ...] = (15, 16)
NATPFT_WITH_CROP = 15
# Column weights on each urban landunit (roof, sunwall, shadewall, impervious road,
# pervious road; cols1d_wtlnd), the fractions of the real Kougarok restart's urban landunits
URBAN_COLUMN_WTLND: dict[int, tuple[float, ...]] = {
    7: (0.6, 0.4 / 3, 0.4 / 3, 0.35 / 3, 0.05 / 3),
    8: (0.25, 0.25, 0.25, 0.2, 0.05),
    9: (0.25, 0.25, 0.25, 0.05, 0.2),
}


@dataclass
class Surface:
    pct_nat_pft: np.ndarray  # (NATPFT, ngrid) percent of the vegetated column, sums to 100
    pct_sand: np.ndarray  # (NLEVSOI, ngrid) percent
    pct_clay: np.ndarray  # (NLEVSOI, ngrid) percent
    organic: np.ndarray  # (NLEVSOI, ngrid) kg/m3 soil organic matter density
    # landunit percentages of the gridcell (ELM surfdata); None: all natural vegetation
    pct_lake: np.ndarray | None = None  # (ngrid,)
    pct_wetland: np.ndarray | None = None  # (ngrid,)
    pct_glacier: np.ndarray | None = None  # (ngrid,)
    pct_urban: np.ndarray | None = None  # (3, ngrid): urban_tbd, urban_hd, urban_md
    pct_crop: np.ndarray | None = None  # (ngrid,); None: no crop landunit
    pct_cft: np.ndarray | None = None  # (2, ngrid) percent of the crop landunit (c3_crop, c3_irrigated)

    @property
    def pft_weights(self) -> np.ndarray:
        """(NATPFT, ngrid) fractions of the column (pfts1d_wtcol)."""
        return self.pct_nat_pft / 100.0

    @property
    def ngrid(self) -> int:
        return int(self.pct_nat_pft.shape[1])

    def _pct(self, x: np.ndarray | None, shape: tuple[int, ...] = ()) -> np.ndarray:
        return np.zeros(shape + (self.ngrid,)) if x is None else x

    @property
    def pct_natveg(self) -> np.ndarray:
        """(ngrid,) percent of the gridcell on the natural-vegetation landunit (the rest)."""
        other = (
            self._pct(self.pct_lake) + self._pct(self.pct_wetland) + self._pct(self.pct_glacier)
            + self._pct(self.pct_urban, (3,)).sum(axis=0) + self._pct(self.pct_crop)
        )  # fmt: skip
        return np.clip(100.0 - other, 0.0, 100.0)

    def landunit_weights(self) -> dict[int, np.ndarray]:
        """{landunit type: (ngrid,) weight relative to the gridcell}; they sum to 1."""
        w = {ISTSOIL: self.pct_natveg / 100.0}
        if self.pct_crop is not None:
            w[ISTCROP] = self.pct_crop / 100.0
        for i, ltype in enumerate(URBAN_LANDUNITS):
            w[ltype] = self._pct(self.pct_urban, (3,))[i] / 100.0
        w[ISTDLAK] = self._pct(self.pct_lake) / 100.0
        w[ISTWET] = self._pct(self.pct_wetland) / 100.0
        w[ISTICE] = self._pct(self.pct_glacier) / 100.0
        return w


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


def landunit_fractions(
    grid: LandGrid, climate: Climate, seed: int = 1, glacier_cells: bool = False
) -> dict[str, np.ndarray]:
    """Percent of each gridcell on lake, wetland, glacier and urban landunits: lakes (up to
    ~10%) in some cool wet cells, wetlands (up to ~12%) in wet lowland-like cells, glacier on
    ice-sheet latitudes (|lat| >= 60 and cold, at most 90% so that the vegetated column stays
    present, or 100% there with `glacier_cells`: gridcells without natural vegetation), urban
    only as a tiny medium-density fraction in a few temperate cells. Drawn from their own
    random stream, so the PFT mix and soils of a seed do not change."""
    rng = np.random.default_rng(seed + 7919)
    lat, lon = grid.cell_lat, grid.cell_lon
    t_ann = climate.annual_mean_temperature_c().astype(np.float64)
    precip = climate.annual_precipitation_mm().astype(np.float64)
    f_lake, f_wet, f_urb = smooth_field(lat, lon, 5.0, rng, n=3)
    lake = np.where(f_lake > 0.8, np.clip(4.0 * (f_lake - 0.8), 0, 1) * (3 + 7 * _fall(t_ann, 5, 4)), 0.0)
    wet = np.where(f_wet > 0.9, np.clip(3.0 * (f_wet - 0.9), 0, 1) * 12 * _rise(precip, 500, 100), 0.0)
    ice = np.where(np.abs(lat) >= 60, np.clip((-8.0 - t_ann) / 12.0, 0, 1), 0.0)
    glacier = 100.0 * np.where(glacier_cells & (ice >= 0.9), 1.0, np.minimum(ice, 0.9))
    lake = np.where(glacier > 0, 0.0, np.round(lake, 2))
    wet = np.where(glacier > 0, 0.0, np.round(wet, 2))
    urban = np.zeros((3, lat.size))
    urban[2] = np.where((f_urb > 1.6) & (np.abs(lat) > 20) & (np.abs(lat) < 55) & (glacier == 0), 0.5, 0.0)
    return {"lake": lake, "wetland": wet, "glacier": np.round(glacier, 2), "urban": urban}


def make_surface(
    grid: LandGrid, climate: Climate, seed: int = 1, crop: bool = False, glacier_cells: bool = False
) -> Surface:
    """Soils, the natural PFT mix and the landunit fractions. `crop`: the crop PFTs (15, 16)
    leave the natural mix for a crop landunit (ELM's create_crop_landunit), which takes
    their share of the natural-vegetation landunit."""
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
    lu = landunit_fractions(grid, climate, seed, glacier_cells)
    surface = Surface(pct_nat_pft=pct, pct_sand=sand, pct_clay=clay, organic=organic)
    surface.pct_lake, surface.pct_wetland = lu["lake"], lu["wetland"]
    surface.pct_glacier, surface.pct_urban = lu["glacier"], lu["urban"]
    if crop:
        share = pct[list(CFT_TYPES)].sum(axis=0)  # percent of the natural column
        natural = pct.copy()
        natural[list(CFT_TYPES)] = 0.0
        empty = natural.sum(axis=0) == 0
        natural[0, empty] = 100.0  # all crop: the natural column is bare ground
        surface.pct_nat_pft = 100.0 * natural / natural.sum(axis=0, keepdims=True)
        surface.pct_cft = np.where(share > 0, 100.0 * pct[list(CFT_TYPES)] / np.maximum(share, 1e-300), 50.0)
        surface.pct_crop = surface.pct_natveg * share / 100.0
    return surface
