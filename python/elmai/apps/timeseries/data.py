"""Sequence data for the time-series models: drivers per entity (basin or gridcell) and
time step, optional static attributes, and the target to predict.

Two sources:
- CAMELS-US (NeuralHydrology's layout): daily basin-mean forcing (daymet, maurer or
  nldas) and USGS streamflow, converted from cubic feet per second to mm/day over the
  basin area given in the forcing file's header.
- The testbed's ELM files: monthly datm forcing and h0 history (GPP, NEE per gridcell),
  with the surface data's PFT cover and latitude as static attributes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elmai.errors import ConfigError, ElmaiError, InputNotFoundError, ShapeError, VariableNotFoundError

CFS_TO_M3S = 0.0283168466
DAYMET_COLUMNS = ("dayl", "prcp", "srad", "swe", "tmax", "tmin", "vp")


@dataclass
class SeriesSet:
    entities: list[str]
    time: np.ndarray  # (ntime,) datetime64[D] or month index
    season: np.ndarray  # (ntime,) day of year or calendar month: the climatology's key
    dynamic: np.ndarray  # (nentity, ntime, ndyn)
    target: np.ndarray  # (nentity, ntime); NaN where missing
    dynamic_names: list[str]
    target_name: str
    target_units: str
    static: np.ndarray | None = None  # (nentity, nstatic)
    static_names: list[str] | None = None

    def period(self, start: str | int, end: str | int) -> np.ndarray:
        """Indices of time steps within [start, end] (dates, or years for monthly data)."""
        if np.issubdtype(self.time.dtype, np.datetime64):
            a, b = np.datetime64(str(start), "D"), np.datetime64(str(end), "D")
            idx = np.where((self.time >= a) & (self.time <= b))[0]
        else:
            year = self.time // 12 + 1
            idx = np.where((year >= int(start)) & (year <= int(end)))[0]
        if idx.size == 0:
            raise ElmaiError(f"no time steps of the data fall in [{start}, {end}]")
        return idx


# -- CAMELS ---------------------------------------------------------------------------------
def _forcing_file(root: Path, source: str, basin: str) -> Path:
    hits = sorted((root / "basin_mean_forcing" / source).glob(f"**/{basin}_lump_*forcing*.txt"))
    if not hits:
        raise ElmaiError(
            f"no {source} forcing for basin {basin} under {root / 'basin_mean_forcing' / source}"
        )
    return hits[0]


def read_camels_forcing(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """(dates, values (ntime, 7) in DAYMET_COLUMNS order, basin area m2)."""
    lines = path.read_text().splitlines()
    try:
        area = float(lines[2])
        header = lines[3].split()
        table = np.array([row.split() for row in lines[4:] if row.strip()], dtype=np.float64)
    except (IndexError, ValueError) as e:
        raise ElmaiError(f"CAMELS forcing '{path}' is malformed: {e}") from None
    names = [h.split("(")[0].lower() for h in header[4:]]
    missing = [c for c in DAYMET_COLUMNS if c not in names]
    if missing:
        raise VariableNotFoundError(f"CAMELS forcing '{path}' lacks {', '.join(missing)}")
    dates = np.array(
        [f"{int(y):04d}-{int(m):02d}-{int(d):02d}" for y, m, d in table[:, :3]], dtype="datetime64[D]"
    )
    values = table[:, [4 + names.index(c) for c in DAYMET_COLUMNS]]
    return dates, values, area


def read_camels_streamflow(path: Path, area_m2: float) -> tuple[np.ndarray, np.ndarray]:
    """(dates, streamflow mm/day); the USGS missing value -999 becomes NaN."""
    if not path.exists():
        raise InputNotFoundError(f"CAMELS streamflow file '{path}' does not exist")
    rows = [r.split() for r in path.read_text().splitlines() if r.strip()]
    dates = np.array([f"{r[1]}-{r[2]}-{r[3]}" for r in rows], dtype="datetime64[D]")
    q = np.array([float(r[4]) for r in rows])
    q = np.where(q < 0, np.nan, q) * CFS_TO_M3S * 86400 / area_m2 * 1000
    return dates, q


def load_camels(
    root: str | os.PathLike[str], basins: list[str], inputs: list[str], source: str = "daymet"
) -> SeriesSet:
    root = Path(root)
    unknown = [v for v in inputs if v not in DAYMET_COLUMNS]
    if unknown:
        raise ConfigError(f"unknown CAMELS inputs {unknown}; choose from {DAYMET_COLUMNS}")
    per_basin = []
    for basin in basins:
        dates, values, area = read_camels_forcing(_forcing_file(root, source, basin))
        qd, q = read_camels_streamflow(root / "usgs_streamflow" / f"{basin}_streamflow_qc.txt", area)
        target = np.full(len(dates), np.nan)
        pos = np.searchsorted(dates, qd)
        ok = (pos < len(dates)) & (dates[np.minimum(pos, len(dates) - 1)] == qd)
        target[pos[ok]] = q[ok]
        per_basin.append((dates, values[:, [DAYMET_COLUMNS.index(v) for v in inputs]], target))
    common = per_basin[0][0]
    for d, _, _ in per_basin[1:]:
        common = np.intersect1d(common, d)
    dyn = np.stack([v[np.isin(d, common)] for d, v, _ in per_basin])
    tgt = np.stack([t[np.isin(d, common)] for d, _, t in per_basin])
    doy = (common - common.astype("datetime64[Y]")).astype(int) + 1
    return SeriesSet(list(basins), common, doy, dyn, tgt, list(inputs), "QObs", "mm/day")


# -- the testbed's ELM files ----------------------------------------------------------------
def load_testbed(run: str | os.PathLike[str], target: str, inputs: list[str], static: list[str]) -> SeriesSet:
    """Monthly forcing and h0 history of a testbed run folder (every h0 file, in order)."""
    from elmai.io.forcing import nearest_on_grid
    from elmai.io.restart import open_netcdf

    run = Path(run)
    history = sorted(run.glob("*.elm.h0.*.nc"))
    forcing = sorted(run.glob("*.datm.forcing.nc"))
    surf = sorted(run.glob("surfdata_*.nc"))
    if not history or not forcing or not surf:
        raise ElmaiError(
            f"'{run}' needs h0 history, *.datm.forcing.nc and surfdata_*.nc (elmai testbed run "
            "--history-years N writes them)"
        )
    values, months = [], []
    for h in history:
        with open_netcdf(h) as f:
            if target not in f:
                raise VariableNotFoundError(f"history file '{h}' lacks '{target}'")
            if not months:
                lat, lon = f.read("lat"), f.read("lon")
            values.append(np.asarray(f.read(target), dtype=np.float64).reshape(-1))
            y, m = h.name.split(".h0.")[1][:7].split("-")
            months.append((int(y) - 1) * 12 + int(m) - 1)
    tgt = np.stack(values, axis=1)  # (ncell, ntime) gC/m2/s
    month_index = np.array(months)
    seconds = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month_index % 12] * 86400.0
    tgt = tgt * seconds[None, :]
    with open_netcdf(forcing[0]) as f:
        lat2, lon2 = np.meshgrid(f.read("lat"), f.read("lon"), indexing="ij")
        j, i = nearest_on_grid(lat2, lon2, lat, lon)
        gatts = f.global_attrs
        nyears = int(np.asarray(gatts["forcing_years"]).reshape(-1)[0]) if "forcing_years" in gatts else None
        dyn = []
        for v in inputs:
            if v not in f:
                raise VariableNotFoundError(f"forcing '{forcing[0]}' lacks '{v}'")
            data = np.asarray(f.read(v), dtype=np.float64)  # (months of the cycle, lat, lon)
            cycle = data.shape[0] if nyears is None else nyears * 12
            dyn.append(data[month_index % cycle][:, j, i].T)
    stat, stat_names = [], []
    with open_netcdf(surf[0]) as s:
        for v in static:
            if v not in s:
                raise VariableNotFoundError(f"surface data '{surf[0]}' lacks '{v}'")
            a = np.asarray(s.read(v), dtype=np.float64)
            a = a[..., j, i]  # (..., ncell)
            a = a.reshape(-1, len(lat)).T
            stat.append(a)
            stat_names += [v] if a.shape[1] == 1 else [f"{v}[{k}]" for k in range(a.shape[1])]
    if not np.isfinite(tgt).all() or (np.abs(tgt) > 1e30).any():
        cell = int(np.argwhere(~np.isfinite(tgt) | (np.abs(tgt) > 1e30))[0][0])
        raise ShapeError(f"'{target}' in the history of '{run}' has fill/NaN values at gridcell {cell}")
    return SeriesSet(
        [f"cell{k}" for k in range(len(lat))],
        month_index,
        month_index % 12 + 1,
        np.stack(dyn, axis=-1),
        tgt,
        list(inputs),
        target,
        "gC/m2/month",
        np.hstack(stat) if stat else None,
        stat_names or None,
    )
