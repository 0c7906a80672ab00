"""Monthly history files as ELM writes them (`<case>.elm.h0.YYYY-MM.nc`): monthly means on
the unstructured `lndgrid`, vertically resolved fields on `levdcmp` (nlevdecomp_full = 15
levels, histFileMod.F90; pools hold 0 below the 10 BGC levels, the decomposition scalars
ELM's spval there, as ColumnDataType.F90 leaves them), ELM's names and units. NEE > 0 is a
source (ELM's sign); ER = AR + HR; NEP = GPP - ER. Gridcell values are the natural-
vegetation column's (ELM averages CN fields over soil columns only); where a gridcell has no
natural vegetation (weight 0) they are fill (1e36), as ELM writes spval there.
T_SCALAR, W_SCALAR, O_SCALAR (ColumnDataType.F90 hist_addfld_decomp) are the testbed's
temperature and moisture scalars of the month (no anoxia: O_SCALAR = 1)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from elmai.apps.testbed.climate import DAYS_IN_MONTH, MID_MONTH_DAY
from elmai.apps.testbed.dynamics import Fluxes, Model, State
from elmai.apps.testbed.grid import LandGrid
from elmai.io.elm_names import NLEVDECOMP, NLEVGRND, SPVAL
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.soil_levels import node_depths

FLUX_UNITS = "gC/m^2/s"


def history_name(case: str, year: int, month: int) -> str:
    """month is 0-based; ELM names the file after the month it averages."""
    return f"{case}.elm.h0.{year:04d}-{month + 1:02d}.nc"


def _var(dims: tuple[str, ...], data: np.ndarray, long_name: str, units: str) -> tuple:
    attrs: dict[str, Any] = {"long_name": long_name, "units": units, "cell_methods": "time: mean",
                             "_FillValue": np.float32(SPVAL), "missing_value": np.float32(SPVAL)}  # fmt: skip
    return (("time",) + dims, data[None].astype(np.float32), attrs)


def _levdcmp(x: np.ndarray, below: float = 0.0) -> np.ndarray:
    """(ngrid, NLEVDECOMP) -> (levdcmp = 15, ngrid), `below` under the BGC levels."""
    out = np.full((NLEVGRND, x.shape[0]), below)
    out[:NLEVDECOMP] = x.T
    return out


def decomposition_scalars(
    model: Model, forcing: dict[str, np.ndarray], dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """(ngrid, NLEVDECOMP) temperature and moisture scalars the step applied."""
    t_c = forcing["TBOT"].astype(np.float64) - 273.15
    wet = model._wetness(forcing, dt)
    ones = np.ones_like(wet)
    t_scalar = model._env_scalar(t_c, ones)  # the moisture factor is 1 at full wetness
    w_scalar = np.broadcast_to((model._env_scalar(t_c, wet) / t_scalar), t_scalar.shape)
    return t_scalar, w_scalar


def write_history(
    path: str | os.PathLike[str],
    grid: LandGrid,
    model: Model,
    state: State,
    fluxes: Fluxes,
    year: int,
    month: int,
    case: str = "elmai_testbed",
    forcing: dict[str, np.ndarray] | None = None,
    dt: float | None = None,
    natveg_weight: np.ndarray | None = None,
) -> None:
    """One month's h0 file: fluxes of the month, states at its end (monthly steps).
    `forcing` and `dt` (the month's) give T_SCALAR and W_SCALAR (fill without them);
    `natveg_weight` (ngrid,) marks gridcells without natural vegetation (fill)."""
    stock = model.soil_stock(state.soil_c)  # (8, ngrid)
    totvegc = model.veg_totals(state)[0]
    totsomc, totlitc, cwdc = stock[4:].sum(axis=0), stock[:3].sum(axis=0), stock[3]
    lai = (state.veg_c[0] * model.params.pft["slatop"][None, :] * model.wtcol).sum(axis=1)
    er = fluxes.ar + fluxes.hr
    grid_dims = ("lndgrid",)
    vr_dims = ("levdcmp", "lndgrid")
    ng = grid.ngrid
    if forcing is not None and dt is not None:
        t_scalar, w_scalar = decomposition_scalars(model, forcing, dt)
    else:
        t_scalar = w_scalar = np.full((ng, NLEVDECOMP), SPVAL)
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
            node_depths()[:NLEVGRND],
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
        "CWDC_vr": _var(vr_dims, _levdcmp(state.soil_c[3]), "CWD C (vertically resolved)", "gC/m^3"),
        "SOIL3C_vr": _var(vr_dims, _levdcmp(state.soil_c[6]), "SOIL3 C (vertically resolved)", "gC/m^3"),
        "SOIL4C_vr": _var(vr_dims, _levdcmp(state.soil_c[7]), "SOIL4 C (vertically resolved)", "gC/m^3"),
        "T_SCALAR": _var(vr_dims, _levdcmp(t_scalar, SPVAL), "temperature inhibition of decomposition", "1"),
        "W_SCALAR": _var(
            vr_dims, _levdcmp(w_scalar, SPVAL), "Moisture (dryness) inhibition of decomposition", "1"
        ),
        "O_SCALAR": _var(
            vr_dims,
            _levdcmp(np.ones((ng, NLEVDECOMP)), SPVAL),
            "fraction by which decomposition is reduced due to anoxia",
            "1",
        ),
    }
    if natveg_weight is not None:  # no natural vegetation: ELM's spval in CN fields
        bare = np.asarray(natveg_weight) <= 0
        for name, (dims_, data, _) in variables.items():
            if dims_[0] == "time" and name != "time":
                data[..., bare] = np.float32(SPVAL)
    gatts = {
        "title": "ELM History file information",
        "case_id": case,
        "source": "elmai testbed",
        "time_period_freq": "month_1",
        "days_in_month": np.int32(DAYS_IN_MONTH[month]),
    }
    dims = {"time": 1, "levdcmp": NLEVGRND, "lndgrid": grid.ngrid}
    write_netcdf(path, variables, gatts, format="NETCDF3_64BIT_OFFSET", unlimited=["time"], dims=dims)
