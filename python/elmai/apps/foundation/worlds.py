"""One testbed world as monthly global maps: the world (resolution, seed, climate shift,
parameter draw) is built as `elmai testbed run` builds it, stepped month by month from
bare ground in memory (no h0 files: the corpus needs the maps, not ELM's layout), and
every channel of `variables.CHANNELS` is scattered onto the (lat, lon) grid, NaN off land.
Fluxes and precipitation are per day (log1p then means something on them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from elmai.apps.foundation.variables import CHANNELS
from elmai.apps.testbed.climate import DAYS_IN_MONTH
from elmai.apps.testbed.dynamics import Fluxes, Model, State
from elmai.apps.testbed.ensemble import ParamSpec, apply, draw
from elmai.apps.testbed.world import World
from elmai.io.elm_names import NLEVDECOMP
from elmai.io.elm_params import ElmParams, default_params, read_params
from elmai.io.soil_levels import node_depths

__all__ = ["PARAM_SPECS", "WorldSpec", "simulate", "static_maps", "world_params"]

SECONDS_PER_DAY = 86400.0
# The parameter draws that make worlds differ in their biogeochemistry, not only climate.
PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("q10_hr", 1.3, 2.2),
    ParamSpec("k_s3", 0.0008, 0.0025),
    ParamSpec("k_s4", 0.00006, 0.00018),
    ParamSpec("slatop", 0.8, 1.25),
    ParamSpec("froot_leaf", 0.8, 1.25),
)
_DEPTH = node_depths()[:NLEVDECOMP]
_BANDS = {
    "SOILC_0_10CM": _DEPTH < 0.1,
    "SOILC_10_60CM": (_DEPTH >= 0.1) & (_DEPTH < 0.6),
    "SOILC_BELOW_60CM": _DEPTH >= 0.6,
}


@dataclass(frozen=True)
class WorldSpec:
    """A world: `seed` sets climate and surface, `warming` (K) shifts temperature,
    `param_draw` (>= 0) picks a draw of PARAM_SPECS (-1: the default parameters) unless a
    `params_file` (ELM parameter file) is given."""

    resolution: float
    seed: int
    warming: float = 0.0
    param_draw: int = -1
    params_file: str = ""

    def label(self) -> str:
        return f"r{self.resolution:g}_s{self.seed}_w{self.warming:+.1f}_p{self.param_draw}"

    def as_dict(self) -> dict:
        return asdict(self)


def world_params(spec: WorldSpec) -> ElmParams:
    if spec.params_file:
        return read_params(spec.params_file)
    base = default_params()
    if spec.param_draw < 0:
        return base
    values = draw(list(PARAM_SPECS), spec.param_draw + 1, seed=2027)[spec.param_draw]
    return apply(base, list(PARAM_SPECS), values)


def static_maps(world: World) -> dict[str, np.ndarray]:
    """Per-gridcell static channels (ngrid,)."""
    s, c = world.surface, world.climate
    pct = s.pct_nat_pft
    return {
        "PCT_SAND": s.pct_sand[0],
        "PCT_CLAY": s.pct_clay[0],
        "ELEVATION": c.elevation_km,
        "LANDFRAC": world.grid.cell_landfrac,
        "PFT_TREE": pct[1:9].sum(axis=0),
        "PFT_SHRUB": pct[9:12].sum(axis=0),
        "PFT_GRASS": pct[12:].sum(axis=0),
        "PFT_BARE": pct[0],
    }


def _monthly(model: Model, state: State, f: Fluxes, forcing: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    stock = model.soil_stock(state.soil_c)  # (8, ngrid) gC/m2
    level_c = state.soil_c[4:] * (model.soil_stock(np.eye(NLEVDECOMP)))  # (4, ngrid, lev) gC/m2
    vc, vn, vp = model.veg_totals(state)
    lai = (state.veg_c[0] * model.params.pft["slatop"][None, :] * model.wtcol).sum(axis=1)
    day = SECONDS_PER_DAY
    out = {
        name: np.asarray(forcing[name], dtype=np.float64)
        for name in ("TBOT", "FSDS", "FLDS", "QBOT", "PSRF", "WIND")
    }
    out["PRECTmms"] = forcing["PRECTmms"] * day
    out |= {
        "GPP": f.gpp * day,
        "AR": f.ar * day,
        "HR": f.hr * day,
        "ER": (f.ar + f.hr) * day,
        "NEE": f.nee * day,
        "TLAI": lai,
        "TOTVEGC": vc,
        "TOTVEGN": vn,
        "TOTVEGP": vp,
        "TOTLITC": stock[:3].sum(axis=0),
        "CWDC": stock[3],
    }
    for i in range(4):
        out[f"SOIL{i + 1}C"] = stock[4 + i]
    out["TOTSOMN"] = model.soil_stock(state.soil_n)[4:].sum(axis=0)
    out["TOTSOMP"] = model.soil_stock(state.soil_p)[4:].sum(axis=0)
    for band, levels in _BANDS.items():
        out[band] = level_c[:, :, levels].sum(axis=(0, 2))
    out["SMINN"], out["SMINP"] = state.sminn, state.sminp
    return out


def simulate(
    spec: WorldSpec, years: int, spin_years: int = 0, forcing_years: int = 20
) -> tuple[World, np.ndarray]:
    """The world and its maps (12 * years, channel, nlat, nlon) float32 after `spin_years`
    unrecorded years from bare ground; statics repeat every month."""
    world = World.build(spec.resolution, forcing_years, spec.seed, world_params(spec), warming=spec.warming)
    model = world.model()
    state = State.bare(world.grid.ngrid)
    model.advance(state, world.climate, 0, spin_years)
    statics = static_maps(world)
    names = [c.name for c in CHANNELS]
    grid = world.grid
    maps = np.full((12 * years, len(names), *grid.land.shape), np.nan, dtype=np.float32)
    for year in range(spin_years, spin_years + years):
        for month in range(12):
            forcing = world.climate.month(year, month)
            f = model.step(state, forcing, DAYS_IN_MONTH[month] * SECONDS_PER_DAY)
            fields = _monthly(model, state, f, forcing) | statics
            t = 12 * (year - spin_years) + month
            maps[t][:, grid.jxy - 1, grid.ixy - 1] = np.stack([fields[n] for n in names])
    return world, maps
