"""The experiment YAML of `elmai timeseries train` (NeuralHydrology's way): data source and
periods, model, training, output folder. Read strictly by `elmai.config_file`; kept apart
from the training code so a bad config is reported before torch loads."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from elmai.errors import ConfigError


@dataclass
class TimeseriesConfig:
    name: str
    data: dict
    model: dict = field(default_factory=lambda: {"type": "lstm"})
    training: dict = field(default_factory=dict)
    out: str = "runs/timeseries"

    @classmethod
    def load(cls, path: str | Path) -> TimeseriesConfig:
        """The experiment in YAML file `path`, strictly: unknown keys (at any level) and
        wrong types are errors naming the key and the allowed ones; data.root, data.run and
        out are relative to the file's folder."""
        from elmai import config_file as cf

        path = Path(path)
        raw = cf.read_yaml(path)
        cf.check_keys(raw, TOP_KEYS, path)
        cf.require(raw, ("data",), path)
        name = cf.check_type(raw.get("name", path.stem), str, path, "name")
        data = dict(cf.check_type(raw["data"], dict, path, "data"))
        cf.require(data, ("source",), path, "data")
        source = cf.check_choice(data["source"], tuple(DATA_KEYS), path, "data.source")
        cf.check_keys(data, DATA_KEYS[source], path, "data")
        cf.require(data, REQUIRED_DATA[source], path, "data")
        for key, value in data.items():
            kind = DATA_KEYS[source][key]
            if kind == "list[str]":
                data[key] = [str(v) for v in cf.check_list(value, (str, int), path, f"data.{key}")]
            elif kind == "period":
                cf.check_list(value, (str, int, datetime.date), path, f"data.{key}")
                if len(value) != 2:
                    raise ConfigError(f"config '{path}': data.{key} must be [start, end], not {value!r}")
            else:
                data[key] = cf.check_type(value, kind, path, f"data.{key}")
        for key in ("root", "run"):  # relative paths are relative to the config file
            if key in data:
                data[key] = cf.resolve_path(data[key], path.parent)
        model = dict(cf.check_type(raw.get("model") or {"type": "lstm"}, dict, path, "model"))
        kind = cf.check_choice(model.get("type", "lstm"), tuple(MODEL_KEYS), path, "model.type")
        cf.check_keys(model, MODEL_KEYS[kind], path, "model")
        for key, value in model.items():
            model[key] = cf.check_type(value, MODEL_KEYS[kind][key], path, f"model.{key}")
        training = dict(cf.check_type(raw.get("training") or {}, dict, path, "training"))
        cf.check_keys(training, TRAINING_KEYS, path, "training")
        for key, value in training.items():
            training[key] = cf.check_type(value, TRAINING_KEYS[key], path, f"training.{key}")
        out = cf.check_type(raw.get("out", f"runs/{path.stem}"), str, path, "out")
        return cls(name, data, model, training, cf.resolve_path(out, path.parent))


TOP_KEYS = ("name", "data", "model", "training", "out")
_COMMON_DATA = {
    "source": str,
    "inputs": "list[str]",
    "train": "period",
    "test": "period",
    "lagged_target": bool,
    "climatology_smooth": int,
}
DATA_KEYS: dict[str, dict] = {
    "camels": _COMMON_DATA | {"root": str, "basins": "list[str]", "forcing": str},
    "testbed": _COMMON_DATA
    | {"run": str, "target": str, "static": "list[str]", "resolution": float, "years": int},
}
REQUIRED_DATA = {
    "camels": ("root", "basins", "inputs", "train", "test"),
    "testbed": ("run", "target", "inputs", "train", "test"),
}
MODEL_KEYS: dict[str, dict] = {
    "lstm": {"type": str, "seq_len": int, "hidden": int, "layers": int, "dropout": float},
    "transformer": {
        "type": str,
        "seq_len": int,
        "d_model": int,
        "heads": int,
        "layers": int,
        "dropout": float,
        "max_len": int,
    },
}
TRAINING_KEYS = {
    "epochs": int,
    "batch": int,
    "lr": float,
    "patience": int,
    "seed": int,
    "weight_decay": float,
    "valid_fraction": float,
}
