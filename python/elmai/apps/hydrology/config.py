"""The run YAML of `elmai hydrology train` (NeuralHydrology's way: data, periods, model,
training, output), read strictly: an unknown key at any level is a one-line ConfigError
naming the key and the allowed ones. Torch-free, so a bad config fails before torch loads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elmai.errors import ConfigError

# NeuralHydrology's CAMELS-US periods; the data here start 1981-01-01, so validation
# starts there rather than on 1980-10-01.
PERIODS = {
    "train": ("1999-10-01", "2008-09-30"),
    "validation": ("1981-01-01", "1989-09-30"),
    "test": ("1989-10-01", "1999-09-30"),
}
DYNAMIC = ["total_precipitation_sum", "temperature_2m_mean", "potential_evaporation_sum"]
STATIC = [
    "p_mean", "pet_mean", "aridity", "frac_snow", "seasonality", "high_prec_freq", "high_prec_dur",
    "low_prec_freq", "low_prec_dur", "area", "ele_mt_sav", "slp_dg_sav", "for_pc_sse", "cly_pc_sav",
    "snd_pc_sav", "kar_pc_sse",
]  # fmt: skip

DATA_KEYS: dict[str, Any] = {
    "netcdf": str, "attribute_csvs": list, "basins": list, "basin_file": str, "n_basins": int,
    "basin_seed": int, "dynamic": list, "static": list, "target": str,
}  # fmt: skip
MODEL_KEYS: dict[str, Any] = {"type": str, "hidden": int, "dropout": float, "span": int}
TRAINING_KEYS: dict[str, Any] = {
    "epochs": int, "batch_size": int, "lr": float, "steps_per_epoch": int, "seq_length": int,
    "predict_last": int, "seed": int, "threads": int, "device": str,
}  # fmt: skip
TOP_KEYS = ("name", "data", "periods", "model", "training", "out")
MODELS = ("lstm", "transformer", "ilstm")


@dataclass
class HydrologyConfig:
    name: str
    data: dict = field(default_factory=dict)
    periods: dict = field(default_factory=lambda: {k: list(v) for k, v in PERIODS.items()})
    model: dict = field(default_factory=lambda: {"type": "lstm", "hidden": 64, "dropout": 0.2})
    training: dict = field(default_factory=dict)
    out: str = "runs/hydrology"

    def __post_init__(self) -> None:
        self.data = {"dynamic": list(DYNAMIC), "static": list(STATIC), "target": "streamflow",
                     "basin_seed": 0, **self.data}  # fmt: skip
        self.model = {"type": "lstm", "hidden": 64, "dropout": 0.2, **self.model}
        self.training = {
            "epochs": 10, "batch_size": 64, "lr": 1e-3, "steps_per_epoch": 100, "seq_length": 365,
            "predict_last": 180, "seed": 0, "threads": 1, "device": "cpu", **self.training,
        }  # fmt: skip
        self.periods = {**{k: list(v) for k, v in PERIODS.items()}, **self.periods}

    @classmethod
    def load(cls, path: str | Path) -> HydrologyConfig:
        from elmai import config_file as cf

        path = Path(path)
        raw = cf.read_yaml(path)
        cf.check_keys(raw, TOP_KEYS, path)
        return cls.from_mapping(raw, path)

    @classmethod
    def from_mapping(cls, raw: dict, path: str | Path = "<mapping>") -> HydrologyConfig:
        from elmai import config_file as cf

        cf.check_keys(raw, TOP_KEYS, path)
        sections = {}
        for name, keys in (("data", DATA_KEYS), ("model", MODEL_KEYS), ("training", TRAINING_KEYS)):
            sec = dict(cf.check_type(raw.get(name) or {}, dict, path, name))
            cf.check_keys(sec, keys, path, name)
            for k, v in sec.items():
                sec[k] = cf.check_type(v, keys[k], path, f"{name}.{k}")
            sections[name] = sec
        if "type" in sections["model"]:
            cf.check_choice(sections["model"]["type"], MODELS, path, "model.type")
        periods = dict(cf.check_type(raw.get("periods") or {}, dict, path, "periods"))
        cf.check_keys(periods, PERIODS, path, "periods")
        for k, v in periods.items():
            cf.check_list(v, (str, dt.date), path, f"periods.{k}")
            if len(v) != 2:
                raise ConfigError(f"config '{path}': periods.{k} must be [start, end], not {v!r}")
            periods[k] = [str(x) for x in v]
        base = Path(path).resolve().parent if path != "<mapping>" else Path.cwd()
        data = sections["data"]
        for k in ("netcdf", "basin_file"):
            if k in data:
                data[k] = cf.resolve_path(data[k], base)
        if "attribute_csvs" in data:
            data["attribute_csvs"] = [cf.resolve_path(p, base) for p in data["attribute_csvs"]]
        out = cf.resolve_path(raw.get("out", f"runs/hydrology/{raw.get('name', 'run')}"), base)
        name = cf.check_type(raw.get("name", Path(str(path)).stem), str, path, "name")
        return cls(name, data, periods, sections["model"], sections["training"], out)
