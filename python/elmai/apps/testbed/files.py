"""Write the testbed's inputs in ELM's formats and names: surface data (surfdata) and
datm forcing, both on the (lsmlat, lsmlon) grid with ocean cells filled."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from elmai.apps.testbed.climate import FORCING_VARIABLES, MID_MONTH_DAY, Climate
from elmai.apps.testbed.grid import LandGrid
from elmai.apps.testbed.surface import CFT_TYPES, NLEVSOI, Surface
from elmai.io.elm_names import NATPFT, NATPFT_NAMES, SPVAL
from elmai.io.netcdf_writer import write_netcdf

FORCING_UNITS = {
    "TBOT": ("temperature at the lowest atmospheric level", "K"),
    "PRECTmms": ("precipitation", "mm/s"),
    "FSDS": ("incident solar radiation", "W/m2"),
    "FLDS": ("incident longwave radiation", "W/m2"),
    "QBOT": ("specific humidity at the lowest atmospheric level", "kg/kg"),
    "PSRF": ("surface pressure", "Pa"),
    "WIND": ("wind speed", "m/s"),
}


def _attrs(long_name: str, units: str, fill: Any = None) -> dict[str, Any]:
    a: dict[str, Any] = {"long_name": long_name, "units": units}
    if fill is not None:
        a["_FillValue"] = fill
    return a


def write_surface(path: str | os.PathLike[str], grid: LandGrid, surface: Surface) -> None:
    """ELM surface data: PCT_NAT_PFT(natpft), PCT_SAND/PCT_CLAY/ORGANIC(nlevsoi),
    LANDFRAC_PFT, PFTDATA_MASK, AREA, LATIXY, LONGXY, and the landunit percentages
    PCT_NATVEG, PCT_URBAN(numurbl), PCT_LAKE, PCT_WETLAND, PCT_GLACIER, PCT_CROP (and
    PCT_CFT(cft) with a crop landunit) on (lsmlat, lsmlon); they sum to 100 on land."""
    lon2, lat2 = np.meshgrid(grid.lon, grid.lat)
    pct_pft = grid.to_map(surface.pct_nat_pft, fill=0.0)
    pct_pft[0][~grid.land] = 100.0  # ocean cells: all bare, as ELM's tools write them
    dims2 = ("lsmlat", "lsmlon")
    soil = ("nlevsoi",) + dims2

    def field(dims: tuple[str, ...], data: np.ndarray, long_name: str, units: str = "unitless") -> tuple:
        return dims, data, _attrs(long_name, units)

    variables = {
        "natpft": (("natpft",), np.arange(NATPFT, dtype=np.int32), {"long_name": "indices of natural PFTs"}),
        "LATIXY": field(dims2, lat2, "latitude", "degrees north"),
        "LONGXY": field(dims2, lon2, "longitude", "degrees east"),
        "AREA": field(dims2, grid.area_map().copy(), "area", "km^2"),
        "LANDFRAC_PFT": field(
            dims2, np.where(grid.land, grid.landfrac, 0.0), "land fraction from pft dataset"
        ),
        "PFTDATA_MASK": field(dims2, grid.land.astype(np.int32), "land mask from pft dataset"),
        "PCT_NATVEG": field(
            dims2, grid.to_map(surface.pct_natveg, fill=0.0), "total percent natural vegetation landunit"
        ),
        "PCT_CROP": field(
            dims2, grid.to_map(surface._pct(surface.pct_crop), fill=0.0), "total percent crop landunit"
        ),
        "PCT_URBAN": field(
            ("numurbl",) + dims2,
            grid.to_map(surface._pct(surface.pct_urban, (3,)), fill=0.0),
            "percent urban for each density type",
        ),
        "PCT_LAKE": field(dims2, grid.to_map(surface._pct(surface.pct_lake), fill=0.0), "percent lake"),
        "PCT_WETLAND": field(
            dims2, grid.to_map(surface._pct(surface.pct_wetland), fill=0.0), "percent wetland"
        ),
        "PCT_GLACIER": field(
            dims2, grid.to_map(surface._pct(surface.pct_glacier), fill=0.0), "percent glacier"
        ),
        "PCT_NAT_PFT": field(
            ("natpft",) + dims2, pct_pft, "percent plant functional type on the natural veg landunit"
        ),
        "PCT_SAND": field(soil, grid.to_map(surface.pct_sand, fill=0.0), "percent sand"),
        "PCT_CLAY": field(soil, grid.to_map(surface.pct_clay, fill=0.0), "percent clay"),
        "ORGANIC": field(
            soil, grid.to_map(surface.organic, fill=0.0), "organic matter density at soil levels", "kg/m3"
        ),
    }
    dims = {
        "lsmlat": grid.lat.size,
        "lsmlon": grid.lon.size,
        "natpft": NATPFT,
        "nlevsoi": NLEVSOI,
        "numurbl": 3,
    }
    if surface.pct_cft is not None:
        variables["cft"] = (("cft",), np.array(CFT_TYPES, dtype=np.int32), {"long_name": "indices of CFTs"})
        variables["PCT_CFT"] = field(("cft",) + dims2, grid.to_map(surface.pct_cft, fill=0.0),
                                     "percent crop functional type on the crop landunit")  # fmt: skip
        dims["cft"] = len(CFT_TYPES)
    gatts = {
        "title": "elmai testbed surface data (ELM surfdata names)",
        "resolution_deg": np.float64(grid.resolution),
        **{f"ipft_{name}": np.int32(i) for i, name in enumerate(NATPFT_NAMES)},
    }
    write_netcdf(path, variables, gatts, format="NETCDF3_64BIT_OFFSET", dims=dims)


def write_forcing(path: str | os.PathLike[str], grid: LandGrid, climate: Climate) -> None:
    """datm-style monthly forcing: (time, lat, lon) per variable, time in days since
    0001-01-01 (noleap) at mid-month, ocean cells filled with 1e36."""
    nyears = climate.nyears
    time = (np.arange(nyears)[:, None] * 365 + MID_MONTH_DAY[None, :]).ravel()
    variables: dict[str, tuple] = {
        "time": (
            ("time",),
            time.astype(np.float64),
            {"units": "days since 0001-01-01 00:00:00", "calendar": "noleap"},
        ),
        "lat": (("lat",), grid.lat, _attrs("latitude", "degrees_north")),
        "lon": (("lon",), grid.lon, _attrs("longitude", "degrees_east")),
        "LANDMASK": (("lat", "lon"), grid.land.astype(np.int32), _attrs("land mask", "1")),
    }
    fill = np.float32(SPVAL)
    for name in FORCING_VARIABLES:
        data = getattr(climate, name).reshape(nyears * 12, grid.ngrid)
        long_name, units = FORCING_UNITS[name]
        variables[name] = (("time", "lat", "lon"), grid.to_map(data, fill=SPVAL).astype(np.float32),
                           _attrs(long_name, units, fill))  # fmt: skip
    gatts = {"title": "elmai testbed forcing (datm names), monthly means", "forcing_years": np.int32(nyears)}
    write_netcdf(path, variables, gatts, format="NETCDF3_64BIT_OFFSET", unlimited=["time"],
                 dims={"time": nyears * 12, "lat": grid.lat.size, "lon": grid.lon.size})  # fmt: skip
