"""Exceptions raised by elmai. Every message names the file and, where known, the variable.

The compiled core raises these classes directly (see csrc/python_module.cpp).
"""


class ElmaiError(Exception):
    """Base class of every elmai error."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ElmaiFileError(ElmaiError, OSError):
    """A file is missing, unreadable, or cannot be written (read-only destination, ...)."""


class FileFormatError(ElmaiError):
    """Not a NetCDF file, a truncated file, or a layout elmai cannot handle."""


class VariableNotFoundError(ElmaiError, KeyError):
    """A variable (or attribute) that is not in the file."""


class ShapeError(ElmaiError, ValueError):
    """An array whose shape does not match the variable's."""


class DtypeError(ElmaiError, TypeError):
    """An array whose dtype does not match the variable's."""


class InvalidValueError(ElmaiError, ValueError):
    """NaN/Inf or otherwise invalid values."""


class InvalidArgumentError(ElmaiError, ValueError):
    """An invalid call, such as writing a restart onto its own source."""


class ParameterFileError(ElmaiError, FileNotFoundError):
    """The case's ELM parameter file is missing or ambiguous."""
