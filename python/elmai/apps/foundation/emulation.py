"""Task (a): spin-up map emulation on worlds the model never saw. Each world runs 20
years from bare ground and has its matrix equilibrium solved (elmai.apps.transfer.worlds, the
worlds the transfer benchmark uses, here at 4 deg: cheap enough for a CPU); the ViT reads
the year-20 monthly maps (4 deg, repeated 2x2 onto the pretrained 2 deg grid) and predicts
the equilibrium SOIL3C and SOIL4C maps; the shipped per-cell spin-up model
(elmai.pretrained, the `elmai spinup` path: the year-20 restart, forcing, surfdata and
h0 decay rates) predicts the same pools cell by cell. Both are scored as the transfer
benchmark scores spin-ups: p50 and p90 of |log(pred/true)| per pool over cells holding it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from elmai.apps.foundation.model import FoundationViT
from elmai.apps.foundation.objective import lat_weights, weighted_mse
from elmai.apps.foundation.variables import forward_transform, inverse_transform
from elmai.apps.foundation.worlds import WorldSpec, simulate

__all__ = ["POOLS", "EmulationOptions", "emulation_task", "prepare_emulation_world"]

POOLS = {"soil3": ("SOIL3C", 6), "soil4": ("SOIL4C", 7)}  # map channel, index in the cascade


@dataclass
class EmulationOptions:
    steps: int = 150
    batch: int = 4
    lr: float = 3e-4
    seed: int = 0
    train_worlds: list[int] = field(default_factory=list)
    test_worlds: list[int] = field(default_factory=list)


def _column_totals(soil: np.ndarray) -> np.ndarray:
    from elmai.io.soil_levels import DZSOI_DECOMP

    dz = np.asarray(DZSOI_DECOMP)[: soil.shape[1]]
    return np.einsum("clp,l->cp", soil, dz)  # (ncell, level, pool) gC/m3 -> (ncell, pool) gC/m2


def prepare_emulation_world(spec, root: str | Path) -> dict:  # noqa: ANN001 - a transfer WorldSpec
    """Year-20 maps, the equilibrium and the per-cell model's prediction of one world."""
    from elmai import pretrained
    from elmai.apps.transfer.worlds import prepare_world
    from elmai.data import features as F
    from elmai.spinup.run import case_params, early_history, early_inputs, predict_pools

    w = prepare_world(spec, root, early_years=20, forcing_years=20, progress=False)
    forcing = next(w.folder.glob("*.datm.forcing.nc"))
    surf = next(w.folder.glob("surfdata_*.nc"))
    params = case_params(w.early, None)
    t0 = time.perf_counter()
    inputs, cells = early_inputs(w.early, forcing, surf, params, early_history(w.early))
    _, soil = predict_pools(pretrained.default_model(), inputs, threads=1)
    per_cell_seconds = time.perf_counter() - t0
    truth = F.read_cell_pools(w.equilibrium)
    world, maps = simulate(
        WorldSpec(spec.resolution, spec.seed, spec.warming, params_file=str(w.params_file)), 1, 19
    )
    res = spec.resolution
    j = np.round((cells.lat + 90) / res - 0.5).astype(int)
    i = np.round((cells.lon % 360) / res - 0.5).astype(int)
    eq = _column_totals(truth.soil)
    pc = _column_totals(soil)
    early = _column_totals(cells.soil)
    return {
        "name": spec.name,
        "maps": maps,  # (12, C, H, W) year 20
        "cell_j": j,
        "cell_i": i,
        "truth": {p: eq[:, k] for p, (_, k) in POOLS.items()},
        "per_cell": {p: pc[:, k] for p, (_, k) in POOLS.items()},
        "early": {p: early[:, k] for p, (_, k) in POOLS.items()},
        "per_cell_seconds": per_cell_seconds,
        "ncell": int(cells.lat.size),
        "shape": maps.shape[-2:],
    }


def _fine(x: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(x, 2, axis=-2), 2, axis=-1)


def _coarse(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[-2:]
    return x.reshape(*x.shape[:-2], h // 2, 2, w // 2, 2).mean(axis=(-3, -1))


def emulation_task(
    model: FoundationViT, blob: dict, worlds: list[dict], opts: EmulationOptions, lat: np.ndarray
) -> dict:
    """Fine-tune `model` (in place) on the train worlds, score both methods on the test worlds;
    `lat` is the model's (2 deg) latitudes."""
    from elmai.apps.transfer.metrics import log_ratio_percentiles

    names = model.variables
    mean = np.asarray(blob["mean"]).reshape(1, -1, 1, 1)
    std = np.asarray(blob["std"]).reshape(1, -1, 1, 1)
    out = [POOLS[p][0] for p in POOLS]
    oidx = [names.index(n) for n in out]

    def norm(raw: np.ndarray) -> np.ndarray:
        z = (forward_transform(raw.astype(np.float64), names, axis=1) - mean) / std
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    xs, ys, ms = [], [], []
    for w in worlds:
        xs.append(norm(_fine(w["maps"])))  # (12, C, 2H, 2W): every month of year 20 an input
        target = np.full((len(out), *w["shape"]), np.nan)
        for k, p in enumerate(POOLS):
            target[k, w["cell_j"], w["cell_i"]] = w["truth"][p]
        z = (forward_transform(target[None], out, axis=1) - mean[:, oidx]) / std[:, oidx]
        ys.append(np.nan_to_num(_fine(z), nan=0.0).astype(np.float32)[0])
        ms.append(_fine(np.isfinite(target[0])))
    # one weight map: cells with a natural-vegetation column (the grid's land at one resolution)
    weights = lat_weights(lat, np.logical_or.reduce(ms))
    torch.manual_seed(opts.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=0.01)
    t0 = time.perf_counter()
    model.train()
    pairs = [(w, t) for w in opts.train_worlds for t in range(12)]
    for step in range(opts.steps):
        pick = np.random.default_rng([opts.seed, step]).choice(len(pairs), size=opts.batch)
        x = torch.from_numpy(np.stack([xs[pairs[i][0]][pairs[i][1]] for i in pick]))
        y = torch.from_numpy(np.stack([ys[pairs[i][0]] for i in pick]))
        loss = weighted_mse(model(x, names, torch.ones(len(pick)), out), y, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    train_seconds = time.perf_counter() - t0
    model.eval()
    scores: dict = {p: {"vit": [], "per_cell": []} for p in POOLS}
    example: dict = {}
    infer = 0.0
    for wi in opts.test_worlds:
        w = worlds[wi]
        t1 = time.perf_counter()
        with torch.no_grad():
            z = (
                model(torch.from_numpy(xs[wi]), names, torch.ones(12), out)
                .numpy()
                .mean(axis=0, keepdims=True)
            )
        infer += time.perf_counter() - t1
        raw = inverse_transform(_coarse(z) * std[:, oidx] + mean[:, oidx], out, axis=1)[0]
        vit = {p: raw[k, w["cell_j"], w["cell_i"]] for k, p in enumerate(POOLS)}
        rv = log_ratio_percentiles(vit, w["truth"])
        rc = log_ratio_percentiles(w["per_cell"], w["truth"])
        for p in POOLS:
            if p in rv and p in rc:
                scores[p]["vit"].append(rv[p])
                scores[p]["per_cell"].append(rc[p])
        if not example:
            grid = np.full((3, len(POOLS), *w["shape"]), np.nan)
            for k, p in enumerate(POOLS):
                for g, src in enumerate((w["truth"], vit, w["per_cell"])):
                    grid[g, k, w["cell_j"], w["cell_i"]] = src[p]
            example = {
                "world": w["name"],
                "target": grid[0],
                "prediction": grid[1],
                "per_cell": grid[2],
                "pools": list(POOLS),
            }
    result: dict = {
        "pools": {},
        "example": example,
        "train_seconds": train_seconds,
        "n_train_worlds": len(opts.train_worlds),
    }
    ncell = sum(worlds[i]["ncell"] for i in opts.test_worlds)
    for p, s in scores.items():
        if not s["vit"]:
            continue
        e = {k: {m: float(np.mean([r[m] for r in v])) for m in ("p50", "p90")} for k, v in s.items()}
        e["p90_vs_per_cell"] = e["vit"]["p90"] / e["per_cell"]["p90"]
        e["p50_vs_per_cell"] = e["vit"]["p50"] / e["per_cell"]["p50"]
        result["pools"][p] = e
    result["cost"] = {
        "vit_inference_seconds": infer,
        "vit_finetune_seconds": train_seconds,
        "per_cell_seconds": sum(worlds[i]["per_cell_seconds"] for i in opts.test_worlds),
        "test_cells": ncell,
    }
    return result
