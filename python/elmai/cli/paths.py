"""Checks of the paths given on the command line, before a library opens them (and fails
with a builtin OSError that names no option)."""

from __future__ import annotations

import os
from pathlib import Path

from elmai.errors import ElmaiFileError, InputNotFoundError


def input_file(path: str | os.PathLike[str], option: str) -> Path:
    """`path` if it is an existing file; else an error naming the path and the option."""
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{option} '{p}' does not exist")
    if not p.is_file():
        raise ElmaiFileError(f"{option} '{p}' is not a file")
    return p


def input_dir(path: str | os.PathLike[str], option: str) -> Path:
    """`path` if it is an existing folder; else an error naming the path and the option."""
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{option} '{p}' does not exist")
    if not p.is_dir():
        raise ElmaiFileError(f"{option} '{p}' is not a folder")
    return p


def inputs(args: object, **options: str) -> None:
    """Check the files `options` names (attribute -> 'file' or 'dir') before the command
    loads torch and friends: a missing input is reported in a fraction of a second.
    Options left out (None) are skipped."""
    for attr, kind in options.items():
        value = getattr(args, attr)
        if value is not None:
            flag = "--" + attr.replace("_", "-")
            (input_dir if kind == "dir" else input_file)(value, flag)
