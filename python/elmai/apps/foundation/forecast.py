"""Task (c): next-month forecast on worlds the model never saw. The pretrained model is
fine-tuned on some unseen worlds (all variables in, every non-static variable one month
ahead out) and scored on others against persistence and climatology. RMSE is in model
space (each variable standardised with the pretraining statistics, so variables of a
group average fairly), latitude-weighted over land, per variable and per group."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from elmai.apps.foundation.baselines import climatology, persistence
from elmai.apps.foundation.corpus import Corpus
from elmai.apps.foundation.metrics import rmse
from elmai.apps.foundation.model import FoundationViT
from elmai.apps.foundation.objective import lat_weights, weighted_mse
from elmai.errors import InvalidArgumentError

__all__ = ["ForecastOptions", "forecast_task"]


@dataclass
class ForecastOptions:
    steps: int = 60
    batch: int = 8
    lr: float = 3e-4
    seed: int = 0
    fraction: float = 1.0  # of the training samples (data efficiency)
    train_worlds: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    test_worlds: list[int] = field(default_factory=lambda: [4, 5])


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def forecast_task(model: FoundationViT, blob: dict, corpus: Corpus, opts: ForecastOptions) -> dict:
    """Fine-tune `model` in place and score it; `blob` is its checkpoint (statistics, statics)."""
    if not 0 < opts.fraction <= 1:
        raise InvalidArgumentError(f"fraction must be in (0, 1], not {opts.fraction}")
    names = model.variables
    static = set(blob["static"])
    outs = [n for n in names if n not in static]
    oidx = [names.index(n) for n in outs]
    fields = {w: corpus.fields(w, names, blob) for w in opts.train_worlds + opts.test_worlds}
    land = corpus.land_mask()
    lat, _ = corpus.coords()
    weights = lat_weights(lat, land)
    nt = next(iter(fields.values())).shape[0]
    samples = [(w, t) for w in opts.train_worlds for t in range(nt - 1)]
    rng = np.random.default_rng(opts.seed)
    keep = max(1, round(opts.fraction * len(samples)))
    samples = [samples[i] for i in rng.permutation(len(samples))[:keep]]
    optimizer = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=0.01)
    t0 = time.perf_counter()
    model.train()
    losses = []
    for step in range(opts.steps):
        pick = np.random.default_rng([opts.seed, step]).choice(len(samples), size=opts.batch)
        x = torch.from_numpy(np.stack([fields[samples[i][0]][samples[i][1]] for i in pick]))
        y = torch.from_numpy(np.stack([fields[samples[i][0]][samples[i][1] + 1][oidx] for i in pick]))
        loss = weighted_mse(model(x, names, torch.ones(len(pick)), outs), y, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    train_seconds = time.perf_counter() - t0
    model.eval()
    per_var: dict[str, dict[str, float]] = {n: {} for n in outs}
    example = {}
    off = ~land
    for w in opts.test_worlds:
        f = fields[w]
        t = np.arange(nt - 1)
        with torch.no_grad():
            pred = np.concatenate(
                [
                    model(
                        torch.from_numpy(f[t[i : i + 8]]), names, torch.ones(len(t[i : i + 8])), outs
                    ).numpy()
                    for i in range(0, len(t), 8)
                ]
            )
        target = f[t + 1][:, oidx]
        cands = {
            "vit": pred,
            "persistence": persistence(f, t)[:, oidx],
            "climatology": climatology(f, t)[:, oidx],
        }
        for k, v in cands.items():
            v = np.where(off, np.nan, v)
            for j, n in enumerate(outs):
                per_var[n].setdefault(k, []).append(rmse(v[:, j], np.where(off, np.nan, target[:, j]), lat))
        if not example:
            example = {
                "target": np.where(off, np.nan, target[0]),
                "prediction": np.where(off, np.nan, pred[0]),
                "persistence": np.where(off, np.nan, cands["persistence"][0]),
                "variables": outs,
            }
    variables = {n: {k: float(np.mean(v)) for k, v in d.items()} for n, d in per_var.items()}
    groups = {}
    kinds = {c["name"]: c["group"] for c in corpus.manifest["channels"]}
    for g in ("forcing", "flux", "state"):
        members = [n for n in outs if kinds[n] == g]
        if not members:
            continue
        r = {
            k: float(np.mean([variables[n][k] for n in members]))
            for k in ("vit", "persistence", "climatology")
        }
        r |= {
            "rmse_vs_persistence": _ratio(r["vit"], r["persistence"]),
            "rmse_vs_climatology": _ratio(r["vit"], r["climatology"]),
            "variables": members,
        }
        groups[g] = r
    return {
        "groups": groups,
        "variables": variables,
        "n_train_samples": len(samples),
        "steps": opts.steps,
        "train_seconds": train_seconds,
        "final_loss": losses[-1] if losses else None,
        "example": example,
    }
