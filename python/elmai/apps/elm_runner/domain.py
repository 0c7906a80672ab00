"""The domain file of the case (LND_DOMAIN_FILE = ATM_DOMAIN_FILE, as OLMT sets them): the
N sites as a 1-D list (ni = N, nj = 1), the layout OLMT's makepointdata writes for point
lists. ELM reads it in main/surfrdMod.F90 surfrd_get_globmask (mask) and surfrd_get_grid:
xc, yc (degrees), xv, yv (nv corners), mask, frac, and area in radians^2 (ELM multiplies
it by re^2 to get km^2). With nj = 1, ncd_inqfdims calls the grid 1-D (isgrid2d false)."""

from __future__ import annotations

import os

import numpy as np

from elmai.io.netcdf_writer import write_netcdf

READ_BY = (
    "components/elm/src/main/surfrdMod.F90:surfrd_get_globmask",
    "components/elm/src/main/surfrdMod.F90:surfrd_get_grid",
)
EARTH_RADIUS_KM = 6371.22  # ELM's re = SHR_CONST_REARTH * 0.001 (elm_varcon.F90)


def cell_corners(lat: np.ndarray, lon: np.ndarray, res: float) -> tuple[np.ndarray, np.ndarray]:
    """(ncell, 4) corner lon and lat, counter-clockwise from south-west (CIME domain order)."""
    h = res / 2.0
    xv = np.stack([lon - h, lon + h, lon + h, lon - h], axis=-1)
    yv = np.stack([np.maximum(lat - h, -90.0), np.maximum(lat - h, -90.0),
                   np.minimum(lat + h, 90.0), np.minimum(lat + h, 90.0)], axis=-1)  # fmt: skip
    return xv, yv


def cell_area_sr(lat: np.ndarray, res: float) -> np.ndarray:
    """Area (radians^2) of a res x res degree cell centred at each latitude."""
    h = np.deg2rad(res / 2.0)
    band = np.sin(np.clip(np.deg2rad(lat) + h, -np.pi / 2, np.pi / 2)) - np.sin(
        np.clip(np.deg2rad(lat) - h, -np.pi / 2, np.pi / 2)
    )
    return np.deg2rad(res) * band


def write_domain(
    path: str | os.PathLike[str], lat: np.ndarray, lon: np.ndarray, landfrac: np.ndarray, res: float
) -> None:
    """Domain of the sites; lon 0-360 (as the testbed writes LONGXY, so that ELM's check
    against the surface data, |lon - LONGXY| < 0.001, holds)."""
    lat = np.asarray(lat, np.float64)
    lon = np.asarray(lon, np.float64)
    xv, yv = cell_corners(lat, lon, res)
    two = ("nj", "ni")
    one = "unitless"
    variables = {
        "xc": (two, lon[None, :], {"long_name": "longitude of grid cell center", "units": "degrees_east"}),
        "yc": (two, lat[None, :], {"long_name": "latitude of grid cell center", "units": "degrees_north"}),
        "xv": (
            two + ("nv",),
            xv[None],
            {"long_name": "longitude of grid cell vertices", "units": "degrees_east"},
        ),
        "yv": (
            two + ("nv",),
            yv[None],
            {"long_name": "latitude of grid cell vertices", "units": "degrees_north"},
        ),
        "mask": (
            two,
            np.ones((1, lat.size), np.int32),
            {"long_name": "domain mask (1 = active)", "note": one},
        ),
        "frac": (two, np.asarray(landfrac, np.float64)[None, :], {"long_name": "land fraction", "note": one}),
        "area": (
            two,
            cell_area_sr(lat, res)[None, :],
            {"long_name": "area of grid cell", "units": "radians^2"},
        ),
    }
    gatts = {
        "title": "ELM domain of an elmai site case (testbed gridcells)",
        "conventions": "CIME domain file: (nj, ni) with nj = 1, one site per ni",
        "source": "elmai elm case",
    }
    write_netcdf(
        path, variables, gatts, format="NETCDF3_64BIT_OFFSET", dims={"ni": lat.size, "nj": 1, "nv": 4}
    )
