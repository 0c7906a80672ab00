"""One YAML per experiment: what to train on, the model, the optimiser, the launch."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from elmai.errors import ConfigError


@dataclass
class TrainConfig:
    dataset: str  # the NetCDF data set from `elmai dataset build`
    out: str  # run folder: checkpoints, metrics, the best model
    split: str = "random"  # or "block" (spatial blocks)
    epochs: int = 60
    batch_size: int = 64  # global: split over the ranks, so 1 and N ranks train alike
    lr: float = 2e-3
    weight_decay: float = 1e-4
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    dropout: float = 0.0
    physical_weight: float = 0.5  # fit in physical units (scaled per variable) beside log space
    grad_clip: float = 1.0
    physics_cell_weight: float = 0.01  # soft constraints (elmai.models.constraints)
    physics_grid_weight: float = 0.01
    drift_weight: float = 0.0  # slow pools' drift from their errors, gC/m2/yr (CLM5's criterion)
    patience: int = 15  # early stopping on the validation loss
    seed: int = 0
    threads: int = 1  # torch threads per rank
    engine: str = "ddp"  # or "deepspeed"
    zero_stage: int = 1  # DeepSpeed ZeRO stage
    max_minutes: float = 0.0  # stop after this wall time (0: no limit)
    max_steps: int = 0  # stop after this many optimiser steps (0: no limit; for tests)
    # fine-tuning: start from this trained model (best.pt), keeping its normalisation, so a
    # model trained on other worlds adapts to a few cells of a new one
    init: str | None = None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], **overrides: object) -> TrainConfig:
        """The experiment in YAML file `path` (strict: unknown keys and wrong types are
        errors naming the key; `dataset` and `out` relative to the file's folder), with
        `overrides` (command-line options; None leaves the file's value)."""
        from elmai import config_file as cf

        raw = cf.read_yaml(path)
        given = {k: v for k, v in overrides.items() if v is not None}
        for key in ("dataset", "out", "init"):  # command-line paths are relative to the working directory
            if key in given:
                given[key] = str(Path(str(given[key])).resolve())
        raw.update(given)
        cfg = cf.dataclass_from_mapping(cls, raw, path, path_keys=("dataset", "out", "init"))
        cf.check_choice(cfg.split, ("random", "block"), path, "split")
        cf.check_choice(cfg.engine, ("ddp", "deepspeed"), path, "engine")
        for key in ("epochs", "batch_size", "d_model", "heads", "layers", "threads"):
            if getattr(cfg, key) < 1:
                raise ConfigError(f"config '{path}': {key} must be >= 1, not {getattr(cfg, key)}")
        return cfg

    def to_dict(self) -> dict:
        return asdict(self)
