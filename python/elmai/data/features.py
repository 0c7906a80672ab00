"""What the spin-up model reads and predicts, under ELM's names: one record per gridcell in
five input groups (forcing, static surface, PFT traits, PFT-level pools, layered soil
pools) and the same pools at equilibrium as targets.

Everything is read from ELM-format files (restart, surfdata, datm forcing, parameter
file), so a real ELM case works as well as the testbed's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elmai.errors import DtypeError, ElmaiError, InvalidValueError, ShapeError, VariableNotFoundError
from elmai.io import elm_names as N
from elmai.io.elm_params import PFT_PARAMETERS, ElmParams, find_params
from elmai.io.forcing import forcing_climatology
from elmai.io.restart import Restart, open_restart
from elmai.io.soil_levels import node_depths
from elmai.io.subgrid import Subgrid
from elmai.io.surface import read_surface

FORCING_VARS = ("TBOT", "PRECTmms", "FSDS", "FLDS", "QBOT", "PSRF", "WIND")
STATIC_VARS = (
    "lat_sin",
    "lat_cos",
    "lon_sin",
    "lon_cos",
    "pct_sand",
    "pct_clay",
    "organic",
    "tbot_mean",
    "prect_mean",
    "tbot_range",
)
TRAIT_VARS = tuple(p for p in PFT_PARAMETERS) + ("pft_weight",)
PFT_POOLS = tuple(f"{t}c" for t in N.PFT_TISSUES)  # leafc ... deadcrootc
SOIL_POOLS = N.CTC_POOLS
SOIL_VARS = tuple(f"{p}c_vr" for p in SOIL_POOLS)


@dataclass
class CellPools:
    """Pools of every natural-vegetation column (one per topounit of each gridcell that has
    one), the unit the spin-up model predicts: `ncell` rows in restart column order."""

    pft: np.ndarray  # (ncell, NATPFT, len(PFT_POOLS)) gC/m2 of PFT
    soil: np.ndarray  # (ncell, NLEVDECOMP, len(SOIL_VARS)) gC/m3
    weight: np.ndarray  # (ncell, NATPFT) PFT weight on the column
    lat: np.ndarray
    lon: np.ndarray
    column: np.ndarray  # restart column index of each cell's natural-vegetation column
    pft_index: np.ndarray  # (ncell, NATPFT) restart pft index, -1 where the slot is absent
    spinup_state: int
    scalaravg: np.ndarray | None  # (ncell, NLEVDECOMP) ELM's mean decomposition scalar, if valid
    gridcell: np.ndarray | None = None  # (ncell,) restart gridcell of each cell
    column_weight: np.ndarray | None = None  # (ncell,) the column's fraction of its gridcell
    layout: dict[str, int] | None = None  # what elmai leaves alone (see read_cell_pools)
    # (ncell, NLEVDECOMP) scalaravg_col as the file holds it (0 before AD year 20): what
    # ELM divides an AD file's pools by when it leaves AD
    scalaravg_file: np.ndarray | None = None


def _scalar(r: Restart, name: str, default: int = 0) -> int:
    if name not in r:
        return default
    values = np.asarray(r.read(name)).reshape(-1)
    if values.size != 1 or values.dtype.kind not in "iuf":
        raise ShapeError(f"'{r.path}': {name} must be one number (ELM reads a scalar), not {values.size}")
    if not np.isfinite(values[0]):
        raise InvalidValueError(f"'{r.path}': {name} is {values[0]} (ELM reads an integer)")
    return int(values[0])


def read_cell_pools(path: str | os.PathLike[str]) -> CellPools:
    """The natural-vegetation (istsoil) columns of a restart and their natural PFT slots.

    Works on any layout ELM writes (initGridCellsMod): one natural-vegetation column per
    topounit holding the natural PFTs (17, or 15 with use_crop), kept at zero weight too;
    crop, urban, lake, wetland and glacier columns are left as they are and counted in
    `layout` (crop soil follows harvest and fertiliser management, which the model does
    not see; special landunits have no soil BGC). Gridcells without a natural-vegetation
    column (glacier-only) are counted there too, never an error. `path` may also be an
    open Restart (the spin-up reads its input once)."""
    if isinstance(path, Restart):
        return _cell_pools(path, path.path)
    with open_restart(path) as r:
        return _cell_pools(r, path)


def _check_maps(sub: Subgrid, dims: dict[str, int], path: str | os.PathLike[str]) -> None:
    """The subgrid maps the spin-up reads: one value per gridcell, column or pft, and every
    index inside its dimension (a corrupted map would index another cell's pools)."""
    for field_name in ("gridcell_lat", "gridcell_lon", "column_landunit_type", "column_gridcell",
                       "column_weight", "pft_column", "pft_type", "pft_weight_column"):  # fmt: skip
        values = getattr(sub, field_name)
        if values is None:
            continue
        dim = field_name.split("_")[0]  # gridcell_*, column_*, pft_*: the dimension it runs along
        if values.shape != (dims.get(dim, -1),):
            raise ShapeError(
                f"'{path}': {sub.source_variable(field_name)} has shape {values.shape}, expected "
                f"({dims.get(dim)},) (one value per {dim})"
            )
    for field_name, low, high in (("gridcell_lat", -90.0, 90.0), ("gridcell_lon", -360.0, 360.0)):
        values = getattr(sub, field_name)
        bad = np.flatnonzero(~((values >= low) & (values <= high)))
        if bad.size:
            i = int(bad[0])
            raise InvalidValueError(
                f"'{path}': {sub.source_variable(field_name)}[{i}] = {values[i]:g}, "
                f"outside [{low:g}, {high:g}]"
            )
    for field_name, dim in (("column_gridcell", "gridcell"), ("pft_column", "column")):
        values = getattr(sub, field_name)
        bad = np.flatnonzero(values >= dims[dim])
        if bad.size:
            i = int(bad[0])
            raise InvalidValueError(
                f"'{path}': {sub.source_variable(field_name)}[{i}] = {int(values[i]) + 1} points past the "
                f"{dim} dimension ({dims[dim]}): a corrupted subgrid map"
            )


def _cell_pools(r: Restart, path: str | os.PathLike[str]) -> CellPools:
    sub = r.subgrid
    need = [*PFT_POOLS, *SOIL_VARS]
    missing = [n for n in need if n not in r]
    if missing:
        raise VariableNotFoundError(f"'{path}' lacks {', '.join(missing)} (needed for the spin-up model)")
    for field_name in ("column_landunit_type", "column_gridcell", "pft_column", "pft_type",
                       "pft_weight_column",
                       "gridcell_lat", "gridcell_lon"):  # fmt: skip
        if getattr(sub, field_name) is None:
            raise VariableNotFoundError(
                f"'{path}' lacks {sub.source_variable(field_name)} (ELM's subgrid map)"
            )
    ng, ncol = r.dims["gridcell"], r.dims["column"]
    _check_maps(sub, r.dims, path)
    veg_col = np.flatnonzero(sub.column_landunit_type == N.ISTSOIL)
    cell_of_col = np.full(ncol, -1)
    cell_of_col[veg_col] = np.arange(veg_col.size)
    on_veg = (sub.pft_column >= 0) & (cell_of_col[np.maximum(sub.pft_column, 0)] >= 0)
    bad_type = on_veg & ((sub.pft_type < 0) | (sub.pft_type >= N.NATPFT))
    if bad_type.any():
        i = int(np.flatnonzero(bad_type)[0])
        raise ShapeError(
            f"'{path}': pft {i} on natural-vegetation column {int(sub.pft_column[i])} has type "
            f"{int(sub.pft_type[i])}; ELM's natural PFTs are 0..{N.NATPFT - 1}"
        )
    pft_index = np.full((veg_col.size, N.NATPFT), -1)
    idx = np.flatnonzero(on_veg)
    pft_index[cell_of_col[sub.pft_column[idx]], sub.pft_type[idx]] = idx
    present = pft_index >= 0
    safe = np.where(present, pft_index, 0)
    for name in (*PFT_POOLS, *SOIL_VARS):  # the pools the model reads: numbers, one per pft / column level
        info = r.info(name)
        want = ("pft",) if name in PFT_POOLS else ("column", "levgrnd")
        if info.dtype.kind not in "fiu":
            raise DtypeError(f"'{path}': {name} holds {info.dtype} values, not numbers")
        if info.dims != want or (len(want) == 2 and info.shape[1] < N.NLEVDECOMP):
            raise ShapeError(f"'{path}': {name} is on {info.dims} {info.shape}, expected {want} (ELM layout)")
    pft = np.stack([np.where(present, r.read(n)[safe], 0.0) for n in PFT_POOLS], axis=-1)
    weight = np.where(present, sub.pft_weight_column[safe], 0.0)
    soil = np.stack([r.read(n)[veg_col, : N.NLEVDECOMP] for n in SOIL_VARS], axis=-1)
    state = _scalar(r, "spinup_state")
    scalaravg = scalaravg_file = None
    if "scalaravg_col" in r:
        s = r.read("scalaravg_col")[veg_col, : N.NLEVDECOMP]
        scalaravg_file = s
        # ELM accumulates it in AD years 20-40 only: 1e36 (never set) is no scalar
        if s.size and np.isfinite(s).all() and (s > 0).all() and (s < 1e30).all():
            scalaravg = s
    gridcell = sub.column_gridcell[veg_col]
    lat, lon = sub.gridcell_lat[gridcell], sub.gridcell_lon[gridcell]
    col_weight = sub.column_weight[veg_col] if sub.column_weight is not None else np.ones(veg_col.size)
    types = sub.column_landunit_type
    layout = {
        "gridcells": int(ng),
        "natural_vegetation_columns": int(veg_col.size),
        "crop_columns": int((types == N.ISTCROP).sum()),
        "special_columns": int((~np.isin(types, N.BGC_LANDUNITS)).sum()),
        "gridcells_without_natural_vegetation": int(ng - np.unique(gridcell).size),
    }
    for name, arr in (("PFT pools", pft), ("soil pools", soil)):
        bad = ~np.isfinite(arr) | (arr < 0)
        if bad.any():
            at = np.argwhere(bad)[0]
            cell = int(at[0])
            what = (
                f"{PFT_POOLS[at[2]]} of pft {int(pft_index[cell, at[1]])}"
                if arr is pft
                else f"{SOIL_VARS[at[2]]} at level {int(at[1])}"
            )
            raise ElmaiError(
                f"'{path}': {name} hold NaN/negative values: {what}, column {int(veg_col[cell])} "
                f"(gridcell {int(gridcell[cell])}, lat {lat[cell]:.2f}, lon {lon[cell]:.2f})"
            )
    return CellPools(
        pft, soil, weight, lat, lon, veg_col, pft_index, state, scalaravg, gridcell, col_weight, layout,
        scalaravg_file,
    )


def read_forcing(
    path: str | os.PathLike[str], lat: np.ndarray, lon: np.ndarray, progress: bool | None = None
) -> np.ndarray:
    """(ngrid, 12, len(FORCING_VARS)): the monthly climatology of the recycled forcing, from
    any form ELM reads (cpl_bypass all_hourly.nc or zone files, datm Solr/Prec/TPQWL streams,
    a monthly or climatology file: elmai.io.forcing)."""
    return forcing_climatology(path, lat, lon, progress=progress)


def read_static(
    path: str | os.PathLike[str], lat: np.ndarray, lon: np.ndarray, forcing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(ngrid, len(STATIC_VARS)) position, topsoil texture and organic matter, climate means;
    and the land area of each gridcell (m2, AREA x LANDFRAC_PFT)."""
    s = read_surface(path, lat, lon)  # 2-D (lsmlat, lsmlon) or 1-D (gridcell) surfdata
    zero = np.zeros(lat.size)
    top = {
        "PCT_SAND": s.pct_sand[:3].mean(axis=0),
        "PCT_CLAY": s.pct_clay[:3].mean(axis=0),
        "ORGANIC": zero if s.organic is None else s.organic[:3].mean(axis=0),
    }
    area = s.area * s.landfrac * 1e6
    t = forcing[:, :, FORCING_VARS.index("TBOT")]
    rlat, rlon = np.radians(lat), np.radians(lon)
    cols = [
        np.sin(rlat),
        np.cos(rlat),
        np.sin(rlon),
        np.cos(rlon),
        top["PCT_SAND"],
        top["PCT_CLAY"],
        top["ORGANIC"],
        t.mean(axis=1),
        forcing[:, :, FORCING_VARS.index("PRECTmms")].mean(axis=1),
        t.max(axis=1) - t.min(axis=1),
    ]
    return np.stack(cols, axis=1), area


def pft_traits(params: ElmParams) -> np.ndarray:
    """(NATPFT, len(PFT_PARAMETERS)): each PFT's parameters, as the model's PFT tokens carry."""
    return np.stack([params.pft[p] for p in PFT_PARAMETERS], axis=1)


def _fallback_env(
    params: ElmParams, forcing: np.ndarray | None, scalaravg: np.ndarray | None, depth: np.ndarray
) -> np.ndarray:
    """The environmental scalar without h0: scalaravg_col's (its depth part removed), else
    a Q10 estimate from the forcing's monthly air temperature."""
    if scalaravg is not None:
        env = scalaravg[:, N.SCALARAVG_LEVEL : N.SCALARAVG_LEVEL + 1] / depth[N.SCALARAVG_LEVEL]
        return np.repeat(env, N.NLEVDECOMP, axis=1)
    if forcing is None:
        raise ElmaiError("no h0 scalars, no valid scalaravg_col and no forcing: cannot estimate decay")
    t = forcing[:, :, FORCING_VARS.index("TBOT")] - 273.15
    q10 = (params.ctc["q10_hr"] ** ((t - 25.0) / 10.0) * np.where(t > 0, 1.0, 0.05)).mean(axis=1)
    return np.repeat(q10[:, None], N.NLEVDECOMP, axis=1)


def decomposition_rates(
    params: ElmParams,
    forcing: np.ndarray | None,
    scalaravg: np.ndarray | None,
    env: np.ndarray | None = None,
) -> np.ndarray:
    """(ncell, NLEVDECOMP, 8) climatological decay rate of each pool (1/yr), as ELM's
    decomp_k: k x t_scalar x w_scalar x o_scalar x depth scalar (DecompCascadeCNMod), from
    the best source there is, each used so that the depth scalar counts once:
    1. `env`: the cycle-mean T_SCALAR x W_SCALAR x O_SCALAR per level from h0 history
       (elmai.io.history.decomposition_scalars);
    2. ELM's scalaravg_col: the mean t x w x o x depth scalar of level 4 (0-based 3),
       accumulated in AD years 20-40 (one value per column): its environmental part
       (divided by level 4's depth scalar) is taken for every level;
    3. otherwise an estimate: a Q10 temperature scalar of the forcing's monthly air
       temperature (x 0.05 below freezing), moisture and oxygen taken as 1."""
    ctc = params.ctc
    depth = np.exp(-node_depths()[: N.NLEVDECOMP] / ctc["decomp_depth_efolding"])
    missing = None if env is None else np.isnan(env).any(axis=1)  # cells h0 has no scalar for
    if env is None or missing.any():
        fallback = _fallback_env(params, forcing, scalaravg, depth)
        env = fallback if env is None else np.where(missing[:, None], fallback, env)
    return np.stack([ctc[N.CTC_DECAY_RATE[p]] * 365.0 * env * depth[None, :] for p in SOIL_POOLS], axis=-1)


def respired_fractions(params: ElmParams) -> np.ndarray:
    """(8,) the respired fraction of each soil pool's decay (the rest moves down the cascade;
    CWD fragments without respiration, soil4 is all respired)."""
    rf = {donor: 1.0 if name is None else params.ctc[name] for donor, _, name in N.CTC_CASCADE}
    return np.array([rf.get(p, 0.0) for p in SOIL_POOLS])


def load_params(run_dir: Path, params_file: str | None) -> ElmParams:
    """The case's parameter file: `params_file`, else the one clm_params*.nc in `run_dir`."""
    return find_params(run_dir, params_file)


def climate_inputs(
    forcing: str | os.PathLike[str],
    surfdata: str | os.PathLike[str],
    params: ElmParams,
    lat: np.ndarray,
    lon: np.ndarray,
    scalaravg: np.ndarray | None,
    history: list[Path] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(forcing climatology, static fields, land area m2, decay rates) of the given cells.
    Decay rates from the h0 `history` files' decomposition scalars when given (the run's own
    T_SCALAR x W_SCALAR x O_SCALAR per level), else as decomposition_rates falls back."""
    from elmai.io.history import decomposition_scalars

    f = read_forcing(forcing, lat, lon)
    static, area = read_static(surfdata, lat, lon, f)
    env = decomposition_scalars(history, lat, lon) if history else None
    return f, static, area, decomposition_rates(params, f, scalaravg, env)
