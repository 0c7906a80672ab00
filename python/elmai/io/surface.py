"""ELM surface data (surfdata) at given gridcells, in both layouts ELM reads
(main/ncdio_pio.F90.in, ncd_inqfdims): 2-D (lsmlat, lsmlon) grids and 1-D (gridcell)
unstructured files; variables LATIXY, LONGXY, AREA (km2), LANDFRAC_PFT, PCT_SAND,
PCT_CLAY, ORGANIC (nlevsoi, ...), PCT_NAT_PFT (natpft, ...)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from elmai.errors import ElmaiError, FileFormatError, InvalidValueError, VariableNotFoundError
from elmai.io.forcing import nearest_on_grid, nearest_points
from elmai.io.restart import open_netcdf

REQUIRED = ("LATIXY", "LONGXY", "AREA", "LANDFRAC_PFT", "PCT_SAND", "PCT_CLAY")
OPTIONAL = ("ORGANIC", "PCT_NAT_PFT")


@dataclass
class SurfaceCells:
    """Surface fields of each requested gridcell (the nearest surfdata cell)."""

    layout: str  # "2d" (lsmlat, lsmlon) or "1d" (gridcell)
    index: np.ndarray  # flat index of the surfdata cell of each gridcell
    lat: np.ndarray
    lon: np.ndarray
    area: np.ndarray  # km2
    landfrac: np.ndarray
    pct_sand: np.ndarray  # (nlevsoi, ngrid)
    pct_clay: np.ndarray
    organic: np.ndarray | None  # (nlevsoi, ngrid) kg/m3
    pct_nat_pft: np.ndarray | None  # (natpft, ngrid)


def read_surface(path: str | os.PathLike[str], lat: np.ndarray, lon: np.ndarray) -> SurfaceCells:
    """Read the surfdata fields at the cells nearest (lat, lon) (lon 0-360 or -180-180)."""
    path = os.fspath(path)
    lat = np.asarray(lat, np.float64).ravel()
    lon = np.asarray(lon, np.float64).ravel()
    try:
        s = open_netcdf(path)
    except ElmaiError as e:
        raise FileFormatError(f"surface data '{path}' cannot be read: {e}") from e
    with s:
        missing = [v for v in REQUIRED if v not in s]
        if missing:
            raise VariableNotFoundError(f"surface data '{path}' lacks {', '.join(missing)}")
        dims = s.info("LATIXY").dims
        la, lo = s.read("LATIXY").astype(np.float64), s.read("LONGXY").astype(np.float64)
        if len(dims) == 2:
            layout = "2d"
            j, i = nearest_on_grid(la, lo, lat, lon)
            flat = j * la.shape[1] + i
        elif len(dims) == 1:
            layout = "1d"
            flat = nearest_points(la, lo, lat, lon)
        else:
            raise FileFormatError(
                f"surface data '{path}': LATIXY has dims {dims}, expected 2-D or (gridcell)"
            )
        ncell = la.size

        def at(name: str) -> np.ndarray:
            a = np.asarray(s.read(name), np.float64)
            lead = a.shape[: a.ndim - len(dims)]
            x = a.reshape(*lead, ncell)[..., flat]
            bad = ~np.isfinite(x) | (np.abs(x) >= 1e30)
            if bad.any():
                g = int(np.argwhere(bad)[0][-1])
                raise InvalidValueError(
                    f"surface data '{path}' variable {name}: fill/NaN at gridcell {g} "
                    f"(lat {lat[g]:.3f}, lon {lon[g]:.3f})"
                )
            return x

        opt = {v: (at(v) if v in s else None) for v in OPTIONAL}
        return SurfaceCells(
            layout=layout,
            index=flat,
            lat=la.ravel()[flat],
            lon=lo.ravel()[flat],
            area=at("AREA"),
            landfrac=at("LANDFRAC_PFT"),
            pct_sand=at("PCT_SAND"),
            pct_clay=at("PCT_CLAY"),
            organic=opt["ORGANIC"],
            pct_nat_pft=opt["PCT_NAT_PFT"],
        )
