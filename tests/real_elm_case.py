"""The real ELM restart of ../shared/data/elm (OLMT Kougarok, ICB1850CNPRDCTCBC, ELM 341537c)
set up as a case folder for `elmai spinup`/`refine`: the restart, the real parameter file,
and the forcing and surface data the shared data does not carry, written here for the
site in ELM's forms (a 2-D surfdata and datm-named monthly forcing; an arctic tundra
climate: these two files are stand-ins, the restart and parameters are real)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from elmai.io.netcdf_writer import write_netcdf

RESTART = "site_fullrun_docker_tr_demo_fini.nc"
PARAMS = "clm_params_c211124vpft.nc"
CASE = "OLMT_AK-K64G_ICB1850CNPRDCTCBC"
LAT, LON = 65.25, 195.25


def site_forcing(path: Path, years: int = 2) -> None:
    month = np.arange(12)
    season = -np.cos(2 * np.pi * (month + 0.5) / 12)  # -1 in January, +1 in July
    clim = {
        "TBOT": 273.15 - 7.0 + 17.0 * season,
        "PRECTmms": (0.8 + 0.6 * (season + 1)) / 86400.0,
        "FSDS": 95.0 + 110.0 * season,
        "FLDS": 250.0 + 60.0 * season,
        "QBOT": 0.0025 + 0.0035 * (season + 1) / 2,
        "PSRF": np.full(12, 98500.0),
        "WIND": np.full(12, 4.0),
    }
    time = (np.arange(years)[:, None] * 365 + 15 + 30.4 * month[None, :]).ravel()
    v: dict = {
        "time": (("time",), time, {"units": "days since 0001-01-01 00:00:00", "calendar": "noleap"}),
        "lat": (("lat",), np.array([LAT]), {"units": "degrees_north"}),
        "lon": (("lon",), np.array([LON]), {"units": "degrees_east"}),
    }
    for name, values in clim.items():
        data = np.tile(values, years).reshape(-1, 1, 1).astype(np.float32)
        v[name] = (("time", "lat", "lon"), data, {"_FillValue": np.float32(1e36)})
    write_netcdf(path, v, {"title": "site forcing (monthly, datm names) for the Kougarok restart"},
                 dims={"time": 12 * years, "lat": 1, "lon": 1})  # fmt: skip


def site_surface(path: Path) -> None:
    dims2 = ("lsmlat", "lsmlon")
    soil = ("nlevsoi",) + dims2
    pct = np.zeros((17, 1, 1))
    pct[[0, 2, 11, 12], 0, 0] = (12.0, 1.0, 77.0, 10.0)  # the restart's pfts1d_wtcol
    v = {
        "LATIXY": (dims2, np.full((1, 1), LAT), {}),
        "LONGXY": (dims2, np.full((1, 1), LON), {}),
        "AREA": (dims2, np.full((1, 1), 2.3), {"units": "km^2"}),
        "LANDFRAC_PFT": (dims2, np.ones((1, 1)), {}),
        "PCT_NAT_PFT": (("natpft",) + dims2, pct, {}),
        "PCT_SAND": (soil, np.full((10, 1, 1), 35.0), {}),
        "PCT_CLAY": (soil, np.full((10, 1, 1), 20.0), {}),
        "ORGANIC": (soil, np.full((10, 1, 1), 60.0), {}),
    }
    write_netcdf(path, v, {"title": "site surface data for the Kougarok restart"},
                 dims={"lsmlat": 1, "lsmlon": 1, "natpft": 17, "nlevsoi": 10})  # fmt: skip


def make_case(shared_elm: Path, folder: Path) -> Path:
    """A case folder with the real restart (renamed as ELM names restarts: year 601), the
    real parameter file, site forcing and surface data. Returns the restart's path."""
    folder.mkdir(parents=True, exist_ok=True)
    restart = folder / f"{CASE}.elm.r.0601-01-01-00000.nc"
    shutil.copyfile(shared_elm / RESTART, restart)
    shutil.copyfile(shared_elm / PARAMS, folder / PARAMS)
    site_forcing(folder / f"{CASE}.datm.forcing.nc")
    site_surface(folder / "surfdata_kougarok.nc")
    return restart
