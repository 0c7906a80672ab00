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

from elmai.errors import ElmaiError, ShapeError, VariableNotFoundError
from elmai.io import elm_names as N
from elmai.io.elm_params import PFT_PARAMETERS, ElmParams, read_params
from elmai.io.restart import open_restart
from elmai.io.soil_levels import node_depths

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
PFT_POOLS = ("leafc", "frootc", "livestemc", "deadstemc", "livecrootc", "deadcrootc")
SOIL_POOLS = ("litr1", "litr2", "litr3", "cwd", "soil1", "soil2", "soil3", "soil4")
SOIL_VARS = tuple(f"{p}c_vr" for p in SOIL_POOLS)
# respired fraction of each pool's decay (CWD fragments without respiration; soil4 -> CO2)
RESPIRED = {
    "litr1": "rf_l1s1",
    "litr2": "rf_l2s2",
    "litr3": "rf_l3s3",
    "cwd": None,
    "soil1": "rf_s1s2",
    "soil2": "rf_s2s3",
    "soil3": "rf_s3s4",
    "soil4": 1.0,
}
DECAY = {
    "litr1": "k_l1",
    "litr2": "k_l2",
    "litr3": "k_l3",
    "cwd": "k_frag",
    "soil1": "k_s1",
    "soil2": "k_s2",
    "soil3": "k_s3",
    "soil4": "k_s4",
}


@dataclass
class CellPools:
    """Pools per natural-vegetation column of each gridcell (ngrid, ...)."""

    pft: np.ndarray  # (ngrid, NATPFT, len(PFT_POOLS)) gC/m2 of PFT
    soil: np.ndarray  # (ngrid, NLEVDECOMP, len(SOIL_VARS)) gC/m3
    weight: np.ndarray  # (ngrid, NATPFT) PFT weight on the column
    lat: np.ndarray
    lon: np.ndarray
    column: np.ndarray  # restart column index of each gridcell's vegetated column
    pft_index: np.ndarray  # (ngrid, NATPFT) restart pft index, -1 where the slot is absent
    spinup_state: int
    scalaravg: np.ndarray | None  # (ngrid, NLEVDECOMP) ELM's mean decomposition scalar


def read_cell_pools(path: str | os.PathLike[str]) -> CellPools:
    """The vegetated (istsoil) column of every gridcell and its 17 natural PFT slots."""
    with open_restart(path) as r:
        sub = r.subgrid
        need = [*PFT_POOLS, *SOIL_VARS]
        missing = [n for n in need if n not in r]
        if missing:
            raise VariableNotFoundError(f"'{path}' lacks {', '.join(missing)} (needed for the spin-up model)")
        ng = r.dims["gridcell"]
        veg_col = np.flatnonzero(sub.column_landunit_type == N.ISTSOIL)
        col_of_cell = np.full(ng, -1)
        col_of_cell[sub.column_gridcell[veg_col]] = veg_col
        if (col_of_cell < 0).any():
            g = int(np.flatnonzero(col_of_cell < 0)[0])
            raise ShapeError(f"'{path}': gridcell {g} has no vegetated (istsoil) column")
        pft_index = np.full((ng, N.NATPFT), -1)
        on_veg = np.isin(sub.pft_column, veg_col) & (sub.pft_type < N.NATPFT)
        idx = np.flatnonzero(on_veg)
        pft_index[sub.pft_gridcell[idx], sub.pft_type[idx]] = idx
        present = pft_index >= 0
        safe = np.where(present, pft_index, 0)
        pft = np.stack([np.where(present, r.read(n)[safe], 0.0) for n in PFT_POOLS], axis=-1)
        weight = np.where(present, sub.pft_weight_column[safe], 0.0)
        soil = np.stack([r.read(n)[col_of_cell, : N.NLEVDECOMP] for n in SOIL_VARS], axis=-1)
        state = int(np.asarray(r.read("spinup_state")).reshape(-1)[0]) if "spinup_state" in r else 0
        scalaravg = r.read("scalaravg_col")[col_of_cell, : N.NLEVDECOMP] if "scalaravg_col" in r else None
        lat, lon = sub.gridcell_lat, sub.gridcell_lon
    for name, arr in (("PFT pools", pft), ("soil pools", soil)):
        bad = ~np.isfinite(arr) | (arr < 0)
        if bad.any():
            cell = int(np.argwhere(bad)[0][0])
            raise ElmaiError(f"'{path}': {name} hold NaN/negative values (first at gridcell {cell})")
    return CellPools(pft, soil, weight, lat, lon, col_of_cell, pft_index, state, scalaravg)


def _cells_on_map(lat2: np.ndarray, lon2: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> tuple:
    """(j, i) indices of each gridcell on a regular (lat, lon) map."""
    la, lo = lat2[:, 0], lon2[0, :]
    j = np.abs(la[None, :] - lat[:, None]).argmin(axis=1)
    i = np.abs(((lo[None, :] - lon[:, None] + 180) % 360) - 180).argmin(axis=1)
    return j, i


def read_forcing(path: str | os.PathLike[str], lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(ngrid, 12, len(FORCING_VARS)): the monthly climatology of the recycled forcing."""
    with open_restart(path) as f:
        missing = [v for v in FORCING_VARS if v not in f]
        if missing:
            raise VariableNotFoundError(f"forcing '{path}' lacks {', '.join(missing)}")
        flat, flon = f.read("lat"), f.read("lon")
        lat2, lon2 = np.meshgrid(flat, flon, indexing="ij")
        j, i = _cells_on_map(lat2, lon2, lat, lon)
        out = np.empty((lat.size, 12, len(FORCING_VARS)))
        for k, v in enumerate(FORCING_VARS):
            data = f.read(v).astype(np.float64)
            if data.shape[0] % 12:
                raise ShapeError(f"forcing '{path}' variable {v}: {data.shape[0]} months, not whole years")
            clim = data.reshape(-1, 12, *data.shape[1:]).mean(axis=0)  # (12, lat, lon)
            out[:, :, k] = clim[:, j, i].T
    if (np.abs(out) > 1e30).any() or not np.isfinite(out).all():
        cell = int(np.argwhere(~np.isfinite(out) | (np.abs(out) > 1e30))[0][0])
        raise ElmaiError(f"forcing '{path}' has fill/NaN values at gridcell {cell} (lat {lat[cell]:.2f})")
    return out


def read_static(
    path: str | os.PathLike[str], lat: np.ndarray, lon: np.ndarray, forcing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(ngrid, len(STATIC_VARS)) position, topsoil texture and organic matter, climate means;
    and the land area of each gridcell (m2, AREA x LANDFRAC_PFT)."""
    with open_restart(path) as s:
        missing = [
            v for v in ("LATIXY", "LONGXY", "AREA", "LANDFRAC_PFT", "PCT_SAND", "PCT_CLAY") if v not in s
        ]
        if missing:
            raise VariableNotFoundError(f"surface data '{path}' lacks {', '.join(missing)}")
        j, i = _cells_on_map(s.read("LATIXY"), s.read("LONGXY"), lat, lon)
        names = ("PCT_SAND", "PCT_CLAY", "ORGANIC")
        top = {v: s.read(v)[:3, j, i].mean(axis=0) if v in s else np.zeros(lat.size) for v in names}
        area = s.read("AREA")[j, i] * s.read("LANDFRAC_PFT")[j, i] * 1e6
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


def decomposition_rates(
    params: ElmParams, forcing: np.ndarray | None, scalaravg: np.ndarray | None
) -> np.ndarray:
    """(ngrid, NLEVDECOMP, 8) climatological decay rate of each pool (1/yr): k x
    environmental scalar x depth scalar. ELM's scalaravg_col when the restart has it;
    otherwise a Q10 scalar of the mean air temperature of the forcing climatology."""
    ctc = params.ctc
    depth = np.exp(-node_depths()[: N.NLEVDECOMP] / ctc["decomp_depth_efolding"])
    if scalaravg is None:
        if forcing is None:
            raise ElmaiError("no scalaravg_col in the restart and no forcing: cannot estimate decay rates")
        t = forcing[:, :, FORCING_VARS.index("TBOT")] - 273.15
        env = (ctc["q10_hr"] ** ((t - 25.0) / 10.0) * np.where(t > 0, 1.0, 0.05)).mean(axis=1)
        scalaravg = np.repeat(env[:, None], N.NLEVDECOMP, axis=1)
    return np.stack([ctc[DECAY[p]] * 365.0 * scalaravg * depth[None, :] for p in SOIL_POOLS], axis=-1)


def respired_fractions(params: ElmParams) -> np.ndarray:
    """(8,) the respired fraction of each soil pool's decay (the rest moves down the cascade)."""
    rf = [RESPIRED[p] for p in SOIL_POOLS]
    return np.array([0.0 if r is None else (r if isinstance(r, float) else params.ctc[r]) for r in rf])


def load_params(run_dir: Path, params_file: str | None) -> ElmParams:
    path = Path(params_file) if params_file else run_dir / "clm_params.nc"
    if not path.exists():
        raise FileNotFoundError(f"parameter file '{path}' not found (give --params)")
    return read_params(path)


def climate_inputs(
    forcing: str | os.PathLike[str],
    surfdata: str | os.PathLike[str],
    params: ElmParams,
    lat: np.ndarray,
    lon: np.ndarray,
    scalaravg: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(forcing climatology, static fields, land area m2, decay rates) of the given cells."""
    f = read_forcing(forcing, lat, lon)
    static, area = read_static(surfdata, lat, lon, f)
    return f, static, area, decomposition_rates(params, f, scalaravg)
