"""What to explain in each model: its inputs for a set of samples, the names of their
groups and variables, and the scalar whose attribution is wanted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from elmai.apps.explain.attributions import ScalarOutput
from elmai.data.features import FORCING_VARS, PFT_POOLS, SOIL_VARS, STATIC_VARS
from elmai.errors import InputNotFoundError, InvalidArgumentError


@dataclass
class Explainable:
    model: torch.nn.Module  # samples -> one value each
    inputs: tuple[torch.Tensor, ...]
    groups: list[str]
    variables: dict[str, list[str]]  # group -> names of its last axis
    label: str


def spinup_target(name: str):
    """The log of a cell's predicted pool: a soil pool summed over levels (gC/m3) or a PFT
    pool summed over the PFTs present (gC/m2 of each PFT)."""
    if name in SOIL_VARS:
        k = SOIL_VARS.index(name)
        return lambda out: torch.log1p(out[1][..., k].sum(-1))
    if name in PFT_POOLS:
        k = PFT_POOLS.index(name)
        return lambda out: torch.log1p(out[0][..., k].sum(-1))
    raise InvalidArgumentError(f"unknown target '{name}'; choose one of {', '.join(SOIL_VARS + PFT_POOLS)}")


def spinup_explainable(
    model_path: str | Path,
    dataset: str | Path,
    target: str = "soil4c_vr",
    cells: int = 64,
    split: str = "random",
    seed: int = 0,
) -> Explainable:
    from elmai.data import load
    from elmai.data.dataset import MODEL_INPUTS
    from elmai.data.splits import TEST
    from elmai.training.trainer import load_model

    model, _ = load_model(model_path)
    data = load(dataset)
    test = data.indices(split, TEST)
    pick = np.random.default_rng(seed).choice(test, min(cells, test.size), replace=False)
    inputs = tuple(
        torch.as_tensor(np.asarray(data.arrays[k])[pick], dtype=torch.float32) for k in MODEL_INPUTS
    )
    groups = ["forcing", "static", "pft_weight", "pft_early", "soil_early", "decay_rate"]
    variables = {
        "forcing": list(FORCING_VARS),
        "static": list(STATIC_VARS),
        "pft_early": list(PFT_POOLS),
        "soil_early": list(SOIL_VARS),
    }
    return Explainable(
        ScalarOutput(model, spinup_target(target)),
        inputs,
        groups,
        variables,
        f"log predicted {target} of {len(pick)} held-out cells",
    )


def timeseries_explainable(run: str | Path, samples: int = 256, seed: int = 0) -> Explainable:
    """A trained `elmai timeseries train` run: its model on test-period windows."""
    from elmai.apps.timeseries.models import build
    from elmai.apps.timeseries.train import TimeseriesConfig, load_series, model_and_features

    path = Path(run) / "model.pt"
    if not path.exists():
        raise InputNotFoundError(f"'{path}' not found: train with `elmai timeseries train` first")
    blob = torch.load(path, map_location="cpu", weights_only=False)
    cfg = TimeseriesConfig(**blob["config"])
    ds = load_series(cfg.data)
    kind, m, feat = model_and_features(cfg, ds)
    w = feat.windows(ds.period(*cfg.data["test"]))
    model = build(kind, w.x.shape[-1], **m)
    model.load_state_dict(blob["state_dict"])
    model.eval()
    pick = np.random.default_rng(seed).choice(len(w.y), min(samples, len(w.y)), replace=False)
    names = list(ds.dynamic_names) + ([f"{ds.target_name}(t-1)"] if feat.lagged else [])
    names += list(ds.static_names or [])
    return Explainable(
        model,
        (w.x[pick],),
        ["window"],
        {"window": names},
        f"{ds.target_name} of {len(pick)} test windows ({kind})",
    )
