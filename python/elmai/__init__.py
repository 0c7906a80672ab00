"""elmai: fast, trustworthy AI spin-up and emulation for the E3SM Land Model (ELM)."""

from elmai import errors
from elmai._version import __version__
from elmai.checks import check_balance, check_restart, check_water_balance
from elmai.inference import Model
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.restart import Restart, VariableInfo, open_netcdf, open_restart, write_restart
from elmai.io.subgrid import Subgrid

__all__ = [
    "__version__",
    "check_balance",
    "check_restart",
    "check_water_balance",
    "Model",
    "Restart",
    "Subgrid",
    "VariableInfo",
    "errors",
    "open_netcdf",
    "open_restart",
    "write_netcdf",
    "write_restart",
]
