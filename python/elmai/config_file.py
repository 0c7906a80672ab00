"""The one YAML configuration loader every elmai configuration goes through.

- `read_yaml(path)`: the file must exist, be a file and hold a mapping (an empty file is
  an empty mapping); YAML syntax errors name the file and the line.
- `check_keys(raw, allowed, where)`: unknown keys are errors naming the key and the
  allowed ones; `require(...)` names the missing ones.
- `check_type(value, kind, where)`: wrong types are errors naming the key (ints are
  accepted where floats are expected, never bools for numbers).
- `resolve_path(value, base)`: relative paths are relative to the YAML file's folder.
- `prepare_output(out, config, overwrite)` / `write_resolved(...)`: every run writes
  `resolved_config.yaml` (the resolved config, the elmai and torch versions and the command
  line) into its output folder, and refuses to reuse a folder that holds a different run's
  resolved config unless asked (`--overwrite`); the same config may resume or overwrite.

Every error is an `elmai.errors.ConfigError` (a ValueError) or `OutputExistsError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any

from elmai.errors import ConfigError, ElmaiFileError, OutputExistsError

RESOLVED = "resolved_config.yaml"


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    import yaml

    p = Path(path)
    if not p.exists():
        raise ElmaiFileError(f"config '{p}' does not exist")
    if not p.is_file():
        raise ElmaiFileError(f"config '{p}' is not a file")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"config '{p}' is not valid YAML{at}: {problem}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ElmaiFileError(f"config '{p}' cannot be read: {e}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config '{p}' must be a mapping of keys to values, not a {type(raw).__name__}")
    return raw


def where(path: str | os.PathLike[str], key: str) -> str:
    return f"config '{path}': {key}"


def check_keys(
    raw: dict, allowed: typing.Iterable[str], path: str | os.PathLike[str], section: str = ""
) -> None:
    allowed = sorted(allowed)
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        what = f"{section}." if section else ""
        keys = ", ".join(f"'{what}{k}'" for k in unknown)
        raise ConfigError(
            f"config '{path}': unknown key{'s' if len(unknown) > 1 else ''} {keys}; "
            f"allowed{' in ' + section if section else ''}: {', '.join(allowed)}"
        )


def require(raw: dict, keys: typing.Iterable[str], path: str | os.PathLike[str], section: str = "") -> None:
    missing = [k for k in keys if k not in raw]
    if missing:
        what = f"{section}." if section else ""
        raise ConfigError(f"config '{path}': missing {', '.join(what + k for k in missing)}")


def _type_name(kind: Any) -> str:
    if isinstance(kind, tuple):
        return " or ".join(_type_name(k) for k in kind)
    names = {
        float: "a number",
        int: "an integer",
        str: "a string",
        bool: "true or false",
        list: "a list",
        dict: "a mapping",
        datetime.date: "a date",
    }
    return names.get(kind, f"a {getattr(kind, '__name__', kind)}")


def _is(value: Any, kind: Any) -> bool:
    if isinstance(kind, tuple):
        return any(_is(value, k) for k in kind)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_type(value: Any, kind: Any, path: str | os.PathLike[str], key: str) -> Any:
    """`value` if it is a `kind` (a type or tuple of types), else a ConfigError naming `key`.
    Numbers come back as `kind` (an int where a float is expected becomes a float)."""
    if not _is(value, kind):
        raise ConfigError(
            f"config '{path}': {key} must be {_type_name(kind)}, not {type(value).__name__} {value!r}"
        )
    if kind is float:
        return float(value)
    return value


def check_list(value: Any, item: Any, path: str | os.PathLike[str], key: str) -> list:
    check_type(value, list, path, key)
    for i, v in enumerate(value):
        check_type(v, item, path, f"{key}[{i}]")
    return list(value)


def check_choice(value: Any, choices: typing.Sequence[Any], path: str | os.PathLike[str], key: str) -> Any:
    if value not in choices:
        raise ConfigError(
            f"config '{path}': {key} must be one of {', '.join(map(str, choices))}, not {value!r}"
        )
    return value


def resolve_path(value: Any, base: Path) -> str:
    """`value` relative to `base` (the YAML file's folder) unless absolute; ~ expanded."""
    p = Path(os.path.expanduser(str(value)))
    return str(p if p.is_absolute() else (base / p).resolve())


def _field_kind(tp: Any) -> Any:
    """The runtime type(s) of a dataclass field annotation (str, int, float, bool, ...)."""
    if isinstance(tp, str):
        tp = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict, "list": list}.get(
            tp, object
        )
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return tuple(_field_kind(a) for a in typing.get_args(tp) if a is not type(None))
    return origin or tp


def dataclass_from_mapping(
    cls: type, raw: dict, path: str | os.PathLike[str], path_keys: typing.Iterable[str] = ()
) -> Any:
    """An instance of dataclass `cls` from `raw`: unknown keys, missing required keys and
    wrong types are ConfigErrors naming the key; `path_keys` resolve against the file's folder."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    check_keys(raw, fields, path)
    required = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    require(raw, required, path)
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in raw.items():
        kind = _field_kind(hints.get(key, object))
        values[key] = value if kind is object else check_type(value, kind, path, key)
    base = Path(path).resolve().parent
    for key in path_keys:
        if key in values and values[key] is not None:
            values[key] = resolve_path(values[key], base)
    return cls(**values)


# --- resolved_config.yaml: what ran, and the guard against mixing two runs in one folder ---


def _plain(value: Any) -> Any:
    """YAML-safe plain data (dates as ISO strings, tuples and paths as lists/strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, str):  # str subclasses (torch's TorchVersion) as plain strings
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def _versions() -> dict[str, str]:
    import elmai

    out = {"elmai": str(elmai.__version__)}
    try:
        import torch

        out["torch"] = str(torch.__version__)
    except ImportError:  # pragma: no cover - torch is a dependency
        out["torch"] = "not installed"
    out["python"] = sys.version.split()[0]
    return out


def _read_resolved(path: Path) -> dict | None:
    import yaml

    try:
        blob = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return blob if isinstance(blob, dict) else None


def prepare_output(
    out: str | os.PathLike[str],
    config: Any,
    overwrite: bool = False,
    kind: str = "run",
    ignore: typing.Iterable[str] = (),
) -> dict:
    """Check that folder `out` may receive the run of `config` (no folder, an empty one, one
    without resolved_config.yaml, one from the same config but for the keys in `ignore`, or
    `overwrite`), and return the resolved-config record to write there with
    `write_resolved`. Call it on every rank before any work: each rank reads, none writes."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ElmaiFileError(f"output folder '{out}' is a file")
    record = {
        "kind": kind,
        "config": _plain(config),
        "versions": _plain(_versions()),
        "command": [os.path.basename(sys.argv[0]) if sys.argv else "", *sys.argv[1:]],
        "cwd": os.getcwd(),
    }
    previous = out / RESOLVED
    if previous.exists() and not overwrite:
        old = _read_resolved(previous) or {}
        skip = set(ignore)
        before = {k: v for k, v in (old.get("config") or {}).items() if k not in skip}
        now = {k: v for k, v in record["config"].items() if k not in skip}
        if old.get("kind") != kind or before != now:
            diff = (
                _first_difference(before, now) if old.get("kind") == kind else f": a {old.get('kind')!r} run"
            )
            raise OutputExistsError(
                f"output folder '{out}' holds a different run ({previous}{diff}); "
                "give another output folder, or --overwrite to replace it"
            )
    return record


def _first_difference(old: Any, new: Any) -> str:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ""
    for key in sorted(set(old) | set(new), key=str):
        if old.get(key) != new.get(key):
            return f": {key} was {old.get(key)!r}, now {new.get(key)!r}"
    return ""


def write_resolved(out: str | os.PathLike[str], record: dict) -> Path:
    """Write `record` (from `prepare_output`) as OUT/resolved_config.yaml, atomically."""
    import yaml

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / RESOLVED
    tmp = out / f".{RESOLVED}.{os.getpid()}.tmp"
    tmp.write_text(yaml.safe_dump(record, sort_keys=False))
    os.replace(tmp, target)
    return target
