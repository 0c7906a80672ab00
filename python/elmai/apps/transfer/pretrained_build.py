"""The shipped pre-trained spin-up model, rebuilt by one command (`make pretrained`, or
`elmai pretrained build`): four 2 deg testbed worlds with their own seeds, two climates
shifted by a uniform warming or cooling and two decomposition parameter sets drawn from
configs/transfer_params.txt; 20 early years each (h0 of the last cycle), their matrix
equilibria, one merged data set, training in this process on a fixed seed, TorchScript
export, and the model card. Same inputs and seed give the same weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
import yaml

from elmai.apps.transfer.worlds import PreparedWorld, WorldSpec, parameter_ranges, prepare_world
from elmai.pretrained import CHECKPOINT_NAME

SOURCE_WORLDS = (
    WorldSpec("source_2deg_s1", 2.0, 1),
    WorldSpec("source_2deg_s2_warm", 2.0, 2, warming=2.0),
    WorldSpec("source_2deg_s3_p0", 2.0, 3, params_draw=0),
    WorldSpec("source_2deg_s4_cool_p1", 2.0, 4, warming=-1.5, params_draw=1),
)
CONFIG = Path(__file__).resolve().parents[4] / "configs" / "spinup_2deg.yaml"
EPOCHS = 60
MODEL_NAME = "spinup_testbed_2deg.pt"


def build_pretrained(
    work: str | Path,
    dest: str | Path | None = None,
    worlds: tuple[WorldSpec, ...] = SOURCE_WORLDS,
    early_years: int = 20,
    forcing_years: int = 20,
    epochs: int = EPOCHS,
    progress: bool = True,
    transfer: dict | None = None,
) -> dict:
    """Build the model in `dest` (default: the package's elmai/pretrained folder) from
    worlds run in `work`; returns the card."""
    from elmai import pretrained
    from elmai.apps.transfer.protocol import TransferOptions, world_dataset
    from elmai.data.dataset import load, merge, save
    from elmai.training.config import TrainConfig
    from elmai.training.export import export
    from elmai.training.trainer import train

    work = Path(work)
    dest = Path(dest) if dest else pretrained.MODEL_FILE.parent
    dest.mkdir(parents=True, exist_ok=True)
    opts = TransferOptions(
        out=work,
        model=dest / MODEL_NAME,
        checkpoint=None,
        early_years=early_years,
        forcing_years=forcing_years,
        progress=progress,
    )
    prepared: list[PreparedWorld] = [
        prepare_world(w, work / "worlds", early_years, forcing_years, progress) for w in worlds
    ]
    parts = [load(world_dataset(p, opts)) for p in prepared]
    merged = merge(parts, seed=0)
    dataset = work / "dataset.nc"
    save(merged, dataset)
    cfg = yaml.safe_load(CONFIG.read_text()) | {
        "dataset": str(dataset),
        "out": str(work / "train"),
        "epochs": epochs,
        "threads": 1,  # one thread: the same sums in the same order on any machine
        "seed": 0,
    }
    config = work / "train_config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    torch.manual_seed(0)
    summary = train(TrainConfig.from_yaml(config), progress=progress, overwrite=True)
    model_file = dest / MODEL_NAME
    export(work / "train" / "best.pt", model_file)
    shutil.copyfile(work / "train" / "best.pt", dest / CHECKPOINT_NAME)
    trained_on = {
        "worlds": [p.spec.describe() | {"cells": p.ncell} for p in prepared],
        "cells": int(sum(p.ncell for p in prepared)),
        "resolution_deg": sorted({p.spec.resolution for p in prepared}),
        "warming_k": sorted({p.spec.warming for p in prepared}),
        "parameter_ranges": parameter_ranges(),
        "early_years": early_years,
        "forcing_years": forcing_years,
        "epochs": epochs,
        "training": {
            k: summary.get(k) for k in ("epochs_run", "best_epoch", "best_valid_loss", "train_minutes")
        },
    }
    return pretrained.write_card(dest, model_file, trained_on, transfer, "make pretrained")
