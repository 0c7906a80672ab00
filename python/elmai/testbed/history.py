"""Monthly history files as ELM writes them (`<case>.elm.h0.YYYY-MM.nc`): monthly means on
the unstructured `lndgrid`, vertically resolved fields on `levdcmp`, ELM's names and
units. NEE > 0 is a source (ELM's sign); ER = AR + HR; NEP = GPP - ER."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from elmai.io.elm_names import NLEVDECOMP
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.soil_levels import node_depths
from elmai.testbed.climate import DAYS_IN_MONTH, MID_MONTH_DAY
from elmai.testbed.dynamics import Fluxes, Model, State
from elmai.testbed.grid import LandGrid

FLUX_UNITS = "gC/m^2/s"


def history_name(case: str, year: int, month: int) -> str:
    """month is 0-based; ELM names the file after the month it averages."""
    return f"{case}.elm.h0.{year:04d}-{month + 1:02d}.nc"


def _var(dims: tuple[str, ...], data: np.ndarray, long_name: str, units: str) -> tuple:
    attrs: dict[str, Any] = {"long_name": long_name, "units": units, "_FillValue": np.float32(1e36)}
    return (("time",) + dims, data[None].astype(np.float32), attrs)


def write_history(
    path: str | os.PathLike[str],
    grid: LandGrid,
    model: Model,
    state: State,
    fluxes: Fluxes,
    year: int,
    month: int,
    case: str = "elmai_testbed",
) -> None:
    """One month's h0 file: fluxes of the month, states at its end (monthly steps)."""
    stock = model.soil_stock(state.soil_c)  # (8, ngrid)
    totvegc = model.veg_totals(state)[0]
    totsomc, totlitc, cwdc = stock[4:].sum(axis=0), stock[:3].sum(axis=0), stock[3]
    lai = (state.veg_c[0] * model.params.pft["slatop"][None, :] * model.wtcol).sum(axis=1)
    er = fluxes.ar + fluxes.hr
    grid_dims = ("lndgrid",)
    vr_dims = ("levdcmp", "lndgrid")
    days = float((year - 1) * 365 + MID_MONTH_DAY[month])
    variables = {
        "time": (
            ("time",),
            np.array([days]),
            {"units": "days since 0001-01-01 00:00:00", "calendar": "noleap"},
        ),
        "lon": (("lndgrid",), grid.cell_lon, {"long_name": "coordinate longitude", "units": "degrees_east"}),
        "lat": (("lndgrid",), grid.cell_lat, {"long_name": "coordinate latitude", "units": "degrees_north"}),
        "area": (("lndgrid",), grid.area, {"long_name": "grid cell areas", "units": "km^2"}),
        "landfrac": (("lndgrid",), grid.cell_landfrac, {"long_name": "land fraction", "units": "1"}),
        "levdcmp": (
            ("levdcmp",),
            node_depths()[:NLEVDECOMP],
            {"long_name": "coordinate soil levels", "units": "m"},
        ),
        "GPP": _var(grid_dims, fluxes.gpp, "gross primary production", FLUX_UNITS),
        "AR": _var(grid_dims, fluxes.ar, "autotrophic respiration", FLUX_UNITS),
        "HR": _var(grid_dims, fluxes.hr, "heterotrophic respiration", FLUX_UNITS),
        "ER": _var(grid_dims, er, "total ecosystem respiration, autotrophic + heterotrophic", FLUX_UNITS),
        "NEE": _var(
            grid_dims, er - fluxes.gpp, "net ecosystem exchange of carbon (positive = source)", FLUX_UNITS
        ),
        "NEP": _var(grid_dims, fluxes.gpp - er, "net ecosystem production (positive = sink)", FLUX_UNITS),
        "TOTVEGC": _var(grid_dims, totvegc, "total vegetation carbon", "gC/m^2"),
        "TOTSOMC": _var(grid_dims, totsomc, "total soil organic matter carbon", "gC/m^2"),
        "TOTLITC": _var(grid_dims, totlitc, "total litter carbon", "gC/m^2"),
        "CWDC": _var(grid_dims, cwdc, "coarse woody debris carbon", "gC/m^2"),
        "TOTECOSYSC": _var(grid_dims, totvegc + totsomc + totlitc + cwdc, "total ecosystem carbon", "gC/m^2"),
        "TLAI": _var(grid_dims, lai, "total projected leaf area index", "m^2/m^2"),
        "SMINN": _var(grid_dims, state.sminn, "soil mineral N", "gN/m^2"),
        "CWDC_vr": _var(vr_dims, state.soil_c[3].T, "CWD carbon (vertically resolved)", "gC/m^3"),
        "SOIL3C_vr": _var(vr_dims, state.soil_c[6].T, "SOIL3 C (vertically resolved)", "gC/m^3"),
        "SOIL4C_vr": _var(vr_dims, state.soil_c[7].T, "SOIL4 C (vertically resolved)", "gC/m^3"),
    }
    gatts = {
        "title": "ELM History file information",
        "case_id": case,
        "source": "elmai testbed",
        "time_period_freq": "month_1",
        "days_in_month": np.int32(DAYS_IN_MONTH[month]),
    }
    dims = {"time": 1, "levdcmp": NLEVDECOMP, "lndgrid": grid.ngrid}
    write_netcdf(path, variables, gatts, format="NETCDF3_64BIT_OFFSET", unlimited=["time"], dims=dims)
