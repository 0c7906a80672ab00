"""The YAML configurations of `elmai foundation build-corpus|pretrain|finetune|evaluate`:
strict keys (an unknown or mistyped key is a one-line error naming it), relative paths
relative to the YAML file, and the resolved configuration saved with every run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from elmai.config_file import check_choice, dataclass_from_mapping, read_yaml
from elmai.errors import ConfigError

__all__ = ["CorpusConfig", "EvaluateConfig", "FinetuneConfig", "PretrainConfig", "TASKS", "load"]

TASKS = ("forecast", "downscale", "emulation")


@dataclass
class CorpusConfig:
    out: str
    resolution: float = 2.0
    worlds: int = 20
    first_seed: int = 100
    warming: list = field(default_factory=lambda: [-1.0, 0.0, 1.0, 2.0])  # K, cycled over the worlds
    param_draws: bool = True  # world i gets parameter draw first_draw + i
    first_draw: int = 0
    params_file: str = ""  # an ELM parameter file for every world instead of draws
    years: int = 2
    spin_years: int = 1


@dataclass
class PretrainConfig:
    corpus: str
    out: str
    size: str = "vit1m"
    patch: int = 0  # 0: the size's own
    steps: int = 200
    batch: int = 8
    lr: float = 1e-3
    warmup: int = 20
    weight_decay: float = 0.01
    seed: int = 0
    engine: str = "single"
    checkpoint_every: int = 50
    max_minutes: float = 0.0
    worlds: list = field(default_factory=list)
    threads: int = 1


@dataclass
class FinetuneConfig:
    checkpoint: str
    corpus: str
    out: str
    task: str = "forecast"
    steps: int = 60
    batch: int = 8
    lr: float = 3e-4
    seed: int = 0
    fraction: float = 1.0
    train_worlds: list = field(default_factory=lambda: [0, 1, 2, 3])
    test_worlds: list = field(default_factory=lambda: [4, 5])
    threads: int = 1


@dataclass
class EvaluateConfig:
    checkpoint: str
    corpus: str
    out: str
    test_worlds: list = field(default_factory=lambda: [0])
    threads: int = 1


_PATHS = {
    CorpusConfig: ("out", "params_file"),
    PretrainConfig: ("corpus", "out"),
    FinetuneConfig: ("checkpoint", "corpus", "out"),
    EvaluateConfig: ("checkpoint", "corpus", "out"),
}


def load(cls: type, path: str | os.PathLike[str]):  # noqa: ANN201 - one of the config classes
    raw = read_yaml(path)
    cfg = dataclass_from_mapping(cls, raw, path, _PATHS[cls])
    if isinstance(cfg, FinetuneConfig):
        check_choice(cfg.task, TASKS, path, "task")
    if isinstance(cfg, PretrainConfig):
        from elmai.apps.foundation.sizes import SIZES

        check_choice(cfg.size, list(SIZES), path, "size")
        check_choice(cfg.engine, ["single", "ddp", "fsdp", "tp", "deepspeed"], path, "engine")
    for key in ("worlds", "train_worlds", "test_worlds", "warming"):
        values = getattr(cfg, key, [])
        if not isinstance(values, list):
            continue
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"config '{path}': {key} must be a list of numbers, not {v!r}")
    if isinstance(cfg, CorpusConfig) and cfg.params_file and not Path(cfg.params_file).is_file():
        raise ConfigError(f"config '{path}': params_file '{cfg.params_file}' does not exist")
    return cfg
