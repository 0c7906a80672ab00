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
from elmai.errors import ShapeError

FORMATS = ("NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA", "NETCDF4", "NETCDF4_CLASSIC")

Variable = tuple[tuple[str, ...], Any] | tuple[tuple[str, ...], Any, Mapping[str, Any]]


def write_netcdf(
    path: str | os.PathLike[str],
    variables: Mapping[str, Variable],
    global_attrs: Mapping[str, Any] | None = None,
    format: str = "NETCDF3_64BIT_OFFSET",
    unlimited: Iterable[str] = (),
    dim_order: Iterable[str] = (),
) -> None:
    """Write `variables` {name: (dims, data[, attrs])} to a new file (temp file + rename).

    Dimension sizes come from the data; `dim_order` fixes the order of (some) dimensions
    in the file; dimensions in `unlimited` become record dimensions.
    """
    unlimited = set(unlimited)
    sizes: dict[str, int] = {d: -1 for d in dim_order}
    entries = []
    for name, spec in variables.items():
        dims, data = tuple(spec[0]), np.ascontiguousarray(spec[1])
        attrs = dict(spec[2]) if len(spec) > 2 else {}
        if data.ndim != len(dims):
            raise ShapeError(f"variable '{name}' for '{path}' has dims {dims} but data of shape {data.shape}")
        for dim, size in zip(dims, data.shape, strict=True):
            if sizes.get(dim, -1) not in (-1, size):
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
    dims_list = [(d, max(s, 0), d in unlimited) for d, s in sizes.items()]
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {FORMATS}")
    _core.create_file(os.fspath(path), format, dims_list, dict(global_attrs or {}), entries)
