"""Create a new NetCDF file in one pass through the compiled core.

Everything is defined before any data is written and define mode is left once, which
keeps classic-format files with thousands of variables fast to create (netCDF4-python
re-enters define mode per variable).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from elmai import _core
from elmai.errors import InvalidArgumentError, ShapeError

FORMATS = ("NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA", "NETCDF4", "NETCDF4_CLASSIC")

Variable = tuple[tuple[str, ...], Any] | tuple[tuple[str, ...], Any, Mapping[str, Any]]


def write_netcdf(
    path: str | os.PathLike[str],
    variables: Mapping[str, Variable],
    global_attrs: Mapping[str, Any] | None = None,
    format: str = "NETCDF3_64BIT_OFFSET",
    unlimited: Iterable[str] = (),
    dims: Mapping[str, int] | None = None,
    header_pad: int = 0,
) -> None:
    """Write `variables` {name: (dims, data[, attrs])} to a new file (temp file + rename).

    Dimension sizes come from the data; `dims` {name: size} declares dimensions up front
    (their order in the file, and ones no variable uses); dimensions in `unlimited` become
    record dimensions (their size is the number of records). `header_pad` reserves free
    bytes after a classic-format header.
    """
    unlimited = set(unlimited)
    sizes: dict[str, int] = dict(dims or {})
    entries = []
    for name, spec in variables.items():
        dims, data = tuple(spec[0]), np.require(np.asarray(spec[1]), requirements="C")
        attrs = dict(spec[2]) if len(spec) > 2 else {}
        if data.ndim != len(dims):
            raise ShapeError(f"variable '{name}' for '{path}' has dims {dims} but data of shape {data.shape}")
        for dim, size in zip(dims, data.shape, strict=True):
            if dim in sizes and sizes[dim] != size:
                raise ShapeError(
                    f"variable '{name}' for '{path}': dimension '{dim}' is {size} here but "
                    f"{sizes[dim]} in another variable"
                )
            sizes[dim] = size
        if data.dtype.kind == "U":
            data = data.astype("S")
        if data.dtype.kind == "S" and data.dtype.itemsize > 1:
            raise ShapeError(f"variable '{name}': pass text as a char array of dtype S1")
        entries.append((name, dims, data, attrs))
    dims_list = [(d, s, d in unlimited) for d, s in sizes.items()]
    if format not in FORMATS:
        raise InvalidArgumentError(f"unknown format {format!r}; choose one of {FORMATS}")
    _core.create_file(os.fspath(path), format, dims_list, dict(global_attrs or {}), entries, header_pad)
