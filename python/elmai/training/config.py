"""One YAML per experiment: what to train on, the model, the optimiser, the launch."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml


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

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], **overrides: object) -> TrainConfig:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"'{path}': unknown settings {sorted(unknown)}; known: {sorted(known)}")
        base = Path(path).resolve().parent
        for key in ("dataset", "out"):  # relative paths are relative to the YAML file
            if key in raw and not os.path.isabs(str(raw[key])):
                raw[key] = str(base / str(raw[key]))
        raw.update({k: v for k, v in overrides.items() if v is not None})
        cfg = cls(**raw)
        if cfg.split not in ("random", "block"):
            raise ValueError(f"'{path}': split must be 'random' or 'block', not {cfg.split!r}")
        if cfg.engine not in ("ddp", "deepspeed"):
            raise ValueError(f"'{path}': engine must be 'ddp' or 'deepspeed', not {cfg.engine!r}")
        return cfg

    def to_dict(self) -> dict:
        return asdict(self)
