"""The atmospheric data files a CPL_BYPASS BGC 1850 case reads besides the meteorology.

With CPL_BYPASS, cpl/lnd_import_export.F90 lnd_import reads CO2, aerosol deposition,
population density, lightning and N deposition itself with netcdf-fortran (nf90_get_var)
into arrays of FIXED sizes, then takes the grid point nearest to each gridcell:
  hdm1(720,360) (0.5 deg), lnfm_all(192,94,2920) (T62, 3-hourly year), ndep1(144,96) and
  aerodata(14,144,96,14) (1.9x2.5 finite volume), co2_input(1,1,3000).
So these files must be on exactly those grids: ELM's stream interpolation (any grid, bilinear)
applies only to the shr_strdata streams, i.e. ndep (ndepStreamMod.F90 ndep_init, called at
initialisation even with CPL_BYPASS) and pdep (pdepStreamMod.F90 pdep_init/pdep_interp, at
initialisation only: pdep_interp in the time loop sits inside #ifndef CPL_BYPASS). ndep is
read both ways, so it stays on 144x96; pdep uses the same grid. FireMod.F90 skips its own
hdm/lnfm streams under CPL_BYPASS.

Records ELM reads for model years before 1850 (spin-up): CO2 record (1850 - 1764) and its
neighbour (time axis from 1765), hdm records 2 (and 3), NDEP_year records 2-3 (axis from
1849), aerosol months 12..25 (axis from January 1849), all 2920 lightning steps.

Values are the testbed world's: N and P deposition its constants (testbed/dynamics.py),
CO2 ELM's 1850 value (CCSM_CO2_PPMV for 1850 compsets, 284.7 ppmv) at every record, and zero
aerosol deposition, population density and lightning: the testbed has no fire and no
aerosol, and zero ignitions keep ELM's fire model inert as well (the case also sets
use_nofire)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from elmai.apps.testbed.dynamics import N_DEPOSITION, P_DEPOSITION, SECONDS_PER_YEAR
from elmai.io.netcdf_writer import write_netcdf

BYPASS_READER = "components/elm/src/cpl/lnd_import_export.F90:lnd_import"
CO2_PPMV_1850 = 284.7  # driver-mct/cime_config/config_component_e3sm.xml CCSM_CO2_PPMV for ^1850
# 13C/(12C+13C) of the preindustrial atmosphere, elm_varcon.F90 c13ratio (del13C = -6 permil, PDB)
_PDB = 0.0112372
C13_RATIO = (_PDB + (-6.0 * _PDB) / 1000.0) / (1.0 + _PDB + (-6.0 * _PDB) / 1000.0)
NDEP_G_M2_YR = N_DEPOSITION * SECONDS_PER_YEAR
PDEP_G_M2_YR = P_DEPOSITION * SECONDS_PER_YEAR
# lnd_import's aerovars, in its order
AEROSOL_VARS = (
    "BCDEPWET", "BCPHODRY", "BCPHIDRY", "OCDEPWET", "OCPHODRY", "OCPHIDRY",
    "DSTX01DD", "DSTX02DD", "DSTX03DD", "DSTX04DD", "DSTX01WD", "DSTX02WD", "DSTX03WD", "DSTX04WD",
)  # fmt: skip
MID_MONTH = (
    np.cumsum([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    - np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]) / 2.0
)


# -- the grids ELM's CPL_BYPASS code expects -------------------------------------------------
def fv19_grid() -> tuple[np.ndarray, np.ndarray]:
    """1.9x2.5 finite-volume grid (96 lat including the poles, 144 lon from 0)."""
    return -90.0 + np.arange(96) * 180.0 / 95.0, np.arange(144) * 2.5


def half_degree_grid() -> tuple[np.ndarray, np.ndarray]:
    return -89.75 + 0.5 * np.arange(360), 0.25 + 0.5 * np.arange(720)


def t62_grid() -> tuple[np.ndarray, np.ndarray]:
    """T62 Gaussian grid (94 latitudes, south to north; 192 longitudes from 0)."""
    nodes, _ = np.polynomial.legendre.leggauss(94)
    return np.sort(np.degrees(np.arcsin(nodes))), np.arange(192) * 1.875


def _coords(lat: np.ndarray, lon: np.ndarray) -> dict[str, tuple]:
    return {
        "lat": (("lat",), lat, {"long_name": "latitude", "units": "degrees_north"}),
        "lon": (("lon",), lon, {"long_name": "longitude", "units": "degrees_east"}),
    }


def _time(values: np.ndarray, since: str) -> tuple:
    return ("time",), np.asarray(values, np.float64), {"long_name": "time", "units": f"days since {since}",
                                                       "calendar": "noleap"}  # fmt: skip


def _gatts(title: str) -> dict[str, str]:
    return {"title": title, "source": "elmai elm case (testbed world values; elmai.apps.elm_runner.streams)"}


# -- writers ----------------------------------------------------------------------------------
def write_co2(path: str | os.PathLike[str], first_year: int = 1765, last_year: int = 1851) -> None:
    """co2_file: CO2 and C13O2 (time, lat=1, lon=1) in ppmv, one record per year from 1765."""
    n = last_year - first_year + 1
    co2 = np.full((n, 1, 1), CO2_PPMV_1850)
    v = {
        "time": _time(182.5 + 365.0 * np.arange(n), f"{first_year:04d}-01-01 00:00:00"),
        **_coords(np.zeros(1), np.zeros(1)),
        "CO2": (("time", "lat", "lon"), co2, {"long_name": "CO2 concentration", "units": "ppmv"}),
        "C13O2": (
            ("time", "lat", "lon"),
            co2 * C13_RATIO,
            {"long_name": "13CO2 concentration", "units": "ppmv"},
        ),
    }
    write_netcdf(
        path, v, _gatts("CO2 for an 1850 control (the 1850 value at every year)"), unlimited=["time"]
    )


def _yearly_fv19(path: str | os.PathLike[str], name: str, value: float, units: str, long_name: str,
                 first_year: int, nyears: int) -> None:  # fmt: skip
    lat, lon = fv19_grid()
    data = np.full((nyears, lat.size, lon.size), value, np.float32)
    v = {
        "time": _time(182.5 + 365.0 * np.arange(nyears), f"{first_year:04d}-01-01 00:00:00"),
        **_coords(lat, lon),
        name: (("time", "lat", "lon"), data, {"long_name": long_name, "units": units}),
    }
    write_netcdf(path, v, _gatts(f"{name} on the 1.9x2.5 grid, years {first_year}-{first_year + nyears - 1}"),
                 unlimited=["time"])  # fmt: skip


def write_ndep(path: str | os.PathLike[str]) -> None:
    """stream_fldfilename_ndep: NDEP_year (time, lat=96, lon=144), years 1849-1851."""
    _yearly_fv19(path, "NDEP_year", NDEP_G_M2_YR, "g(N)/m2/yr", "nitrogen deposition rate", 1849, 3)


def write_pdep(path: str | os.PathLike[str]) -> None:
    """stream_fldfilename_pdep: PDEP_year (time, lat=96, lon=144), years 1849-1851."""
    _yearly_fv19(path, "PDEP_year", PDEP_G_M2_YR, "g(P)/m2/yr", "phosphorus deposition rate", 1849, 3)


def write_aerosol(path: str | os.PathLike[str], first_year: int = 1849, nyears: int = 3) -> None:
    """aero_file: the 14 deposition fluxes (time, lat=96, lon=144), monthly from January 1849."""
    lat, lon = fv19_grid()
    months = nyears * 12
    zero = np.zeros((months, lat.size, lon.size), np.float32)
    v = {
        "time": _time((np.arange(nyears)[:, None] * 365.0 + MID_MONTH).ravel(), f"{first_year:04d}-01-01"),
        **_coords(lat, lon),
    }  # fmt: skip
    for name in AEROSOL_VARS:
        v[name] = (("time", "lat", "lon"), zero, {"long_name": f"{name} deposition flux", "units": "kg/m2/s"})
    write_netcdf(path, v, _gatts("aerosol deposition (zero: the testbed has none)"), unlimited=["time"])


def write_popdens(path: str | os.PathLike[str], first_year: int = 1850, nyears: int = 3) -> None:
    """stream_fldfilename_popdens: hdm (time, lat=360, lon=720), yearly from 1850."""
    lat, lon = half_degree_grid()
    v = {
        "time": _time(182.5 + 365.0 * np.arange(nyears), f"{first_year:04d}-01-01 00:00:00"),
        **_coords(lat, lon),
        "hdm": (("time", "lat", "lon"), np.zeros((nyears, lat.size, lon.size), np.float32),
                {"long_name": "human population density", "units": "counts/km^2"}),
    }  # fmt: skip
    write_netcdf(
        path, v, _gatts("population density (zero: the testbed world has no people)"), unlimited=["time"]
    )


def write_lightning(path: str | os.PathLike[str]) -> None:
    """stream_fldfilename_lightng: lnfm (time=2920, lat=94, lon=192), a 3-hourly year.

    ELM reads the whole variable (211 MB as float32), which elmai's one-pass writer would
    store uncompressed: this file is written with netCDF4-python as NETCDF4 with zlib (the
    all-zero data then take under 1 MB), to a temporary file renamed into place. nf90_open
    reads NETCDF4 files when netcdf-c has HDF5 support (the usual build)."""
    import netCDF4

    lat, lon = t62_grid()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
            ds.setncatts(_gatts("lightning frequency (zero: the testbed has no fire)"))
            ds.createDimension("time", 2920)
            ds.createDimension("lat", lat.size)
            ds.createDimension("lon", lon.size)
            t = ds.createVariable("time", "f8", ("time",))
            t.setncatts(
                {"long_name": "time", "units": "days since 0001-01-01 00:00:00", "calendar": "noleap"}
            )
            t[:] = (np.arange(2920) * 3.0 + 1.5) / 24.0
            for name, values, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
                c = ds.createVariable(name, "f8", (name,))
                c.setncatts({"long_name": "latitude" if name == "lat" else "longitude", "units": units})
                c[:] = values
            f = ds.createVariable("lnfm", "f4", ("time", "lat", "lon"), zlib=True, complevel=1,
                                  chunksizes=(292, lat.size, lon.size), fill_value=False)  # fmt: skip
            f.setncatts({"long_name": "lightning frequency", "units": "flashes/km^2/hr"})
            block = np.zeros((292, lat.size, lon.size), np.float32)
            for s in range(0, 2920, 292):
                f[s : s + 292] = block
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# name in the case folder, writer, namelist variable, reader(s), grid note
STREAMS: dict[str, tuple] = {
    "co2": ("fco2_elmai_1765-1851.nc", write_co2, "co2_file", (BYPASS_READER,),
            "global (lat = lon = 1); real: fco2_datm_*_1765-*.nc"),
    "ndep": ("fndep_elmai_simyr1849-1851_1.9x2.5.nc", write_ndep, "stream_fldfilename_ndep",
             (BYPASS_READER, "components/elm/src/main/ndepStreamMod.F90:ndep_init",
              "components/elm/src/main/ndepStreamMod.F90:ndep_interp"),
             "1.9x2.5 (144x96), as the real fndep files"),
    "pdep": ("fpdep_elmai_simyr1849-1851_1.9x2.5.nc", write_pdep, "stream_fldfilename_pdep",
             ("components/elm/src/main/pdepStreamMod.F90:pdep_init",
              "components/elm/src/main/pdepStreamMod.F90:pdep_interp"), "1.9x2.5, as the real fpdep file"),
    "aerosol": ("aerosoldep_elmai_monthly_1849-1851_1.9x2.5.nc", write_aerosol, "aero_file", (BYPASS_READER,),
                "1.9x2.5 (144x96), as the real aerosoldep_*_monthly_1849-*_1.9x2.5 files"),
    "popdens": ("elmforc_elmai_hdm_0.5x0.5_simyr1850-1852.nc", write_popdens, "stream_fldfilename_popdens",
                (BYPASS_READER,), "0.5x0.5 (720x360), as the real elmforc.Li_*_hdm_0.5x0.5 files"),
    "lightning": ("clmforc_elmai_lnfm_T62_climo.nc", write_lightning, "stream_fldfilename_lightng",
                  (BYPASS_READER,), "T62 (192x94), 2920 steps, as clmforc.Li_2012_climo1995-2011.T62.lnfm"),
}  # fmt: skip
