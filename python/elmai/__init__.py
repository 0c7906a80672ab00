"""elmai: fast, trustworthy AI spin-up and emulation for the E3SM Land Model (ELM).

The public names load on first use (PEP 562): `import elmai` and `elmai --help` do not
load the compiled core (it links libtorch's shared libraries, a noticeable start-up cost)
until a reader, check or model is asked for."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from elmai import errors
from elmai._version import __version__

# public name -> the module that defines it
_HOMES = {
    "check_balance": "elmai.checks",
    "check_restart": "elmai.checks",
    "check_water_balance": "elmai.checks",
    "Model": "elmai.inference",
    "write_netcdf": "elmai.io.netcdf_writer",
    "Restart": "elmai.io.restart",
    "VariableInfo": "elmai.io.restart",
    "open_netcdf": "elmai.io.restart",
    "open_restart": "elmai.io.restart",
    "write_restart": "elmai.io.restart",
    "Subgrid": "elmai.io.subgrid",
}

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

if TYPE_CHECKING:
    from elmai.checks import check_balance, check_restart, check_water_balance
    from elmai.inference import Model
    from elmai.io.netcdf_writer import write_netcdf
    from elmai.io.restart import Restart, VariableInfo, open_netcdf, open_restart, write_restart
    from elmai.io.subgrid import Subgrid


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'elmai' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
