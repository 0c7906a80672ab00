"""Read a testbed world run (`elmai testbed run --out DIR`): its surface data
(surfdata_<res>deg.nc on lsmlat x lsmlon), monthly forcing (<case>.datm.forcing.nc), the
parameter file it ran with and the `testbed_*` set-up of its restarts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np

from elmai.errors import FileFormatError, InputNotFoundError, VariableNotFoundError
from elmai.io.forcing import FORCING_VARS

# surfdata variables the case takes from the testbed (the rest is documented in surfdata.py)
SURFACE_FIELDS = (
    "AREA", "LANDFRAC_PFT", "PCT_NATVEG", "PCT_CROP", "PCT_URBAN", "PCT_LAKE", "PCT_WETLAND",
    "PCT_GLACIER", "PCT_NAT_PFT", "PCT_SAND", "PCT_CLAY", "ORGANIC",
)  # fmt: skip


@dataclass
class TestbedRun:
    """The files of one testbed run folder."""

    folder: Path
    surfdata: Path
    forcing: Path
    params: Path
    restarts: list[Path] = field(default_factory=list)

    @property
    def case(self) -> str:
        return self.forcing.name.removesuffix(".datm.forcing.nc")

    def setup(self) -> dict[str, Any]:
        """The `testbed_*` set-up of the run (resolution, seed, supplement_nutrients, ...),
        from its first restart; {} when it has none."""
        from elmai.apps.testbed.restart import setup_or_empty

        return setup_or_empty(self.restarts[0]) if self.restarts else {}


def _one(folder: Path, pattern: str, what: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        have = ", ".join(p.name for p in found) or "none"
        raise InputNotFoundError(
            f"--world '{folder}': expected one {what} ({pattern}), found {have}; give the folder "
            "`elmai testbed run --out DIR` wrote"
        )
    return found[0]


def find_run(folder: str | os.PathLike[str]) -> TestbedRun:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFoundError(f"--world '{folder}' is not a folder (give an `elmai testbed run` output)")
    restarts = sorted(p for p in folder.glob("*.elm.r.*.nc") if ".equilibrium." not in p.name)
    return TestbedRun(
        folder=folder,
        surfdata=_one(folder, "surfdata_*deg.nc", "surface data file"),
        forcing=_one(folder, "*.datm.forcing.nc", "monthly forcing file"),
        params=_one(folder, "clm_params.nc", "parameter file"),
        restarts=restarts,
    )


@dataclass
class LandCells:
    """The land gridcells of the world (PFTDATA_MASK = 1), 0-based grid indices."""

    j: np.ndarray
    i: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    pct_natveg: np.ndarray
    resolution: float


def _read(ds: netCDF4.Dataset, name: str, path: Path) -> np.ndarray:
    if name not in ds.variables:
        raise VariableNotFoundError(f"'{path}' lacks '{name}' (not a testbed surface data file?)")
    v = ds.variables[name]
    v.set_auto_maskandscale(False)
    return np.asarray(v[...])


def land_cells(run: TestbedRun) -> LandCells:
    with netCDF4.Dataset(run.surfdata) as ds:
        mask = _read(ds, "PFTDATA_MASK", run.surfdata)
        lat2, lon2 = _read(ds, "LATIXY", run.surfdata), _read(ds, "LONGXY", run.surfdata)
        natveg = _read(ds, "PCT_NATVEG", run.surfdata)
    if mask.ndim != 2:
        raise FileFormatError(f"'{run.surfdata}': PFTDATA_MASK is not (lsmlat, lsmlon)")
    j, i = np.nonzero(mask == 1)
    res = float(abs(lat2[1, 0] - lat2[0, 0])) if lat2.shape[0] > 1 else 180.0
    return LandCells(j, i, lat2[j, i].astype(np.float64), lon2[j, i].astype(np.float64),
                     natveg[j, i].astype(np.float64), res)  # fmt: skip


def surface_at(run: TestbedRun, j: np.ndarray, i: np.ndarray) -> dict[str, np.ndarray]:
    """The testbed surface fields at cells (j, i): {name: (..., ncell)}; PCT_CFT as well
    when the world has a crop landunit (then the key 'cft' holds the CFT indices)."""
    out: dict[str, np.ndarray] = {}
    with netCDF4.Dataset(run.surfdata) as ds:
        for name in SURFACE_FIELDS + (("PCT_CFT", "cft") if "PCT_CFT" in ds.variables else ()):
            x = _read(ds, name, run.surfdata)
            out[name] = x if name == "cft" else np.asarray(x[..., j, i], np.float64)
    return out


def annual_climate(run: TestbedRun, j: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean annual temperature (C) and precipitation (mm/yr) at cells (j, i), read a year
    of months at a time so that fine grids stay small in memory."""
    with netCDF4.Dataset(run.forcing) as ds:
        tbot, prec = ds.variables["TBOT"], ds.variables["PRECTmms"]
        tbot.set_auto_maskandscale(False)
        prec.set_auto_maskandscale(False)
        nt = tbot.shape[0]
        if nt % 12:
            raise FileFormatError(f"'{run.forcing}' holds {nt} months, not whole years")
        t_sum = np.zeros(j.size)
        p_sum = np.zeros(j.size)
        days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.float64)
        for s in range(0, nt, 12):
            t_sum += np.asarray(tbot[s : s + 12], np.float64)[:, j, i].mean(axis=0)
            p_sum += (np.asarray(prec[s : s + 12], np.float64)[:, j, i] * days[:, None] * 86400.0).sum(axis=0)
        years = nt // 12
    return t_sum / years - 273.15, p_sum / years


def monthly_forcing_at(run: TestbedRun, j: np.ndarray, i: np.ndarray) -> dict[str, np.ndarray]:
    """{VAR: (nyears, 12, ncell)} monthly means of the seven datm variables at cells (j, i)."""
    out = {}
    with netCDF4.Dataset(run.forcing) as ds:
        for name in FORCING_VARS:
            if name not in ds.variables:
                raise VariableNotFoundError(f"'{run.forcing}' lacks '{name}'")
            v = ds.variables[name]  # (time, lat, lon); one cell at a time reads only that cell
            v.set_auto_maskandscale(False)
            x = np.stack([np.asarray(v[:, jj, ii], np.float64) for jj, ii in zip(j, i, strict=True)], axis=1)
            if np.any(np.abs(x) > 1e30):
                raise FileFormatError(f"'{run.forcing}': {name} is a fill value at a selected land cell")
            out[name] = x.reshape(-1, 12, j.size)
    return out
