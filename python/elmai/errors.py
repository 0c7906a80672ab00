"""Exceptions raised by elmai. Every message names the file and, where known, the
variable, the configuration key or the cell.

The compiled core raises these classes directly (see csrc/python_module.cpp). Each class
subclasses the builtin exception it refines (ValueError, OSError, KeyError, ...), so code
that catches the builtin keeps working.

`exit_code` is what the `elmai` command exits with when the error reaches it: 2 for a
usage error (a bad or missing argument, an unknown or mistyped configuration key, a
missing input file), 1 for everything else (a file elmai cannot use, a failed check, a
run that cannot go on).
"""

USAGE = 2  # exit status of usage errors (argparse's too)
FAILURE = 1  # exit status of failed checks and runtime errors


class ElmaiError(Exception):
    """Base class of every elmai error. `details`: further lines (one per failed check,
    say) the CLI prints under the one-line message, each on its own line."""

    exit_code = FAILURE

    def __init__(self, *args: object, details: list[str] | None = None) -> None:
        super().__init__(*args)
        self.details = list(details or [])

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ElmaiFileError(ElmaiError, OSError):
    """A file is missing, unreadable, or cannot be written (read-only destination, ...)."""

    exit_code = USAGE


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

    exit_code = USAGE


class ParameterFileError(ElmaiError, FileNotFoundError):
    """The case's ELM parameter file is missing or ambiguous."""

    exit_code = USAGE


class ConfigError(ElmaiError, ValueError):
    """A configuration file (YAML) that cannot be used: unknown or missing keys, a value of
    the wrong type or outside its choices. The message names the file and the key."""

    exit_code = USAGE


class OutputExistsError(ElmaiError, FileExistsError):
    """An output folder that holds a different run (its resolved_config.yaml differs):
    elmai does not overwrite it unless asked (--overwrite)."""

    exit_code = USAGE


class RunError(ElmaiError, RuntimeError):
    """A run that cannot go on: a model that diverged, an export that does not reproduce
    the eager model, an MPI launch elmai cannot join, ..."""


class InputNotFoundError(ElmaiFileError, FileNotFoundError):
    """An input file (or folder) the user named, or elmai looked for beside one, is not
    there. The message names the path and, where it applies, the option that gives it."""


class DataNotFoundError(InputNotFoundError):
    """A data set elmai looks for by name (UCI, CAMELS, ...) that is not where it looked."""


class ModelFileError(FileFormatError, ValueError):
    """A model, emulator or sidecar file that is not the kind elmai wrote."""
