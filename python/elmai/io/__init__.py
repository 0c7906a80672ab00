"""Reading and writing ELM files (restart, history, surface, parameters)."""

from elmai.io.netcdf_writer import write_netcdf
from elmai.io.restart import Restart, VariableInfo, open_netcdf, open_restart, write_restart
from elmai.io.restart_diff import RestartDiff, diff_restarts
from elmai.io.subgrid import Subgrid

__all__ = [
    "Restart",
    "RestartDiff",
    "diff_restarts",
    "Subgrid",
    "VariableInfo",
    "open_netcdf",
    "open_restart",
    "write_netcdf",
    "write_restart",
]
