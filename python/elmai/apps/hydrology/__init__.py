"""Streamflow ML on Caravan basins (issue 26): the Caravan loader, the simulation-mode
benchmark (LSTM, transformer, day-of-year climatology), TST 30-day forecasts on surrogate
forecasts, and ungauged-basin cross-validation. Torch loads only where a model runs."""

from elmai.apps.hydrology.caravan import Caravan, load, read_attributes, read_basin_list, read_netcdf
from elmai.apps.hydrology.config import PERIODS, HydrologyConfig

__all__ = [
    "PERIODS",
    "Caravan",
    "HydrologyConfig",
    "load",
    "read_attributes",
    "read_basin_list",
    "read_netcdf",
]
