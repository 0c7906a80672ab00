"""ELM restart files: lazy reading through the compiled core, and safe rewriting.

The core reads with netcdf-c (values exactly as stored, fill values included) and
writes a modified copy by moving untouched bytes with copy_file_range, so a restart
with thousands of variables is rewritten at close to `cp` speed.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from elmai import _core
from elmai.io.subgrid import Subgrid

if TYPE_CHECKING:
    import xarray as xr

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class VariableInfo:
    """Metadata of one variable: numpy dtype string, dimension names and shape (C order)."""

    name: str
    dtype: np.dtype
    dims: tuple[str, ...]
    shape: tuple[int, ...]


class Restart:
    """An open NetCDF file (read-only) through the C++ core: any ELM file form (restart,
    history, surface data, forcing, parameters). Restarts get their subgrid maps and model
    year on top. Use as a context manager.

    >>> with elmai.open_restart("case.elm.r.0021-01-01-00000.nc") as r:
    ...     soil4c = r.read("soil4c_vr")          # (column, levgrnd), gC/m3
    ...     pft_col = r.subgrid.pft_column        # 0-based column of each pft
    """

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        self._file = _core.RestartFile(self.path)

    # -- metadata -------------------------------------------------------------------
    @property
    def format(self) -> str:
        """NetCDF format: NETCDF3_CLASSIC, NETCDF3_64BIT_OFFSET, NETCDF3_64BIT_DATA, NETCDF4[_CLASSIC]."""
        return self._file.format

    @cached_property
    def dims(self) -> dict[str, int]:
        return {name: size for name, size, _ in self._file.dimensions()}

    @cached_property
    def unlimited_dims(self) -> tuple[str, ...]:
        return tuple(name for name, _, unlimited in self._file.dimensions() if unlimited)

    @cached_property
    def variables(self) -> list[str]:
        return self._file.variable_names()

    def __contains__(self, name: str) -> bool:
        return self._file.has_variable(name)

    def info(self, name: str) -> VariableInfo:
        dtype, dims, shape = self._file.variable_info(name)
        return VariableInfo(name, np.dtype(dtype), tuple(dims), tuple(shape))

    def attrs(self, name: str) -> dict[str, Any]:
        """Attributes of a variable: text as str, numbers as 1-D numpy arrays."""
        return self._file.attributes(name)

    @cached_property
    def global_attrs(self) -> dict[str, Any]:
        return self._file.attributes("")

    @cached_property
    def year(self) -> int | None:
        """The simulated year of the restart (timemgr_rst_curr_ymd is YYYYMMDD); None if absent."""
        if "timemgr_rst_curr_ymd" not in self:
            return None
        return int(np.asarray(self.read("timemgr_rst_curr_ymd")).reshape(-1)[0]) // 10000

    # -- data -----------------------------------------------------------------------
    def read(self, name: str) -> np.ndarray:
        """Whole variable as stored: dtype and shape of the file, C order, fill values kept."""
        return self._file.read(name)

    def read_many(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        return {name: self.read(name) for name in names}

    @cached_property
    def subgrid(self) -> Subgrid:
        """The 1-D gridcell/landunit/column/pft maps and weights (indices 0-based)."""
        return Subgrid.from_reader(self.read, set(self.variables))

    def to_xarray(self, variables: Iterable[str] | None = None) -> xr.Dataset:
        """Load (all or some) variables into an xarray.Dataset, values as stored."""
        import xarray as xr

        names = list(self.variables if variables is None else variables)
        data = {}
        for name in names:
            info = self.info(name)
            data[name] = xr.Variable(info.dims, self.read(name), attrs=_plain_attrs(self.attrs(name)))
        return xr.Dataset(data, attrs=_plain_attrs(self.global_attrs))

    # -- lifetime -------------------------------------------------------------------
    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Restart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._file.is_open else "closed"
        dims = ", ".join(f"{k}={v}" for k, v in self.dims.items())
        return (
            f"<elmai.Restart {self.path!r} {self.format} ({dims}); {len(self.variables)} variables, {state}>"
        )


def _plain_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Length-1 numeric attributes become scalars, as netCDF4-python and xarray show them."""
    return {k: (v.item() if isinstance(v, np.ndarray) and v.size == 1 else v) for k, v in attrs.items()}


def open_netcdf(path: PathLike) -> Restart:
    """Open any NetCDF file (any format: classic, 64-bit offset/data, NetCDF-4) for reading
    through the C++ core. Reads data only when asked."""
    return Restart(path)


def open_restart(path: PathLike) -> Restart:
    """Open an ELM restart for reading (the same reader as `open_netcdf`, named for the file
    form most callers hold)."""
    return Restart(path)


def _history_line(updates: Mapping[str, np.ndarray], note: str | None) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    text = note or "replaced " + (", ".join(sorted(updates)) if updates else "nothing (copy)")
    return f"{stamp} elmai write_restart ({who}): {text}"


def write_restart(
    src: PathLike,
    dst: PathLike,
    updates: Mapping[str, np.ndarray | Any],
    history: str | None = None,
    *,
    method: str = "auto",
) -> None:
    """Write `dst` as a copy of `src` with the variables in `updates` replaced.

    Every other variable, attribute, dimension and the file format are preserved; a line
    (`history`, or a default naming the variables) is appended to the global `history`
    attribute. The copy is built in a temporary file beside `dst` and renamed into place;
    `src` is never opened for writing and `dst == src` is refused. Updates must match the
    stored dtype and shape exactly and hold no NaN/Inf.

    `method` (classic formats): "auto" rewrites the source header and moves the data in
    one page-aligned kernel copy; "define" rebuilds the header through netcdf-c's define
    path (the fallback "auto" takes when needed; slower).
    """
    arrays = {name: np.asarray(value) for name, value in updates.items()}
    _core.write_restart(os.fspath(src), os.fspath(dst), arrays, _history_line(arrays, history), method)
