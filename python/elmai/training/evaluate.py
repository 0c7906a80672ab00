"""Honest scores of the spin-up model: held-out cells, physical units, real entries only.

R2 and RMSE per target variable over (cell, PFT) entries where the PFT is present (and,
for wood pools, woody) and over (cell, level) entries of levels that hold carbon; also
per PFT and per level. tlai is derived from leaf C and the PFT's SLA, as ELM does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from elmai.data.dataset import MODEL_INPUTS, TEST, SpinupData, load
from elmai.data.features import PFT_PARAMETERS, PFT_POOLS, SOIL_VARS
from elmai.io.elm_names import NATPFT_NAMES
from elmai.models.spinup_transformer import SpinupTransformer


def predict(
    model: SpinupTransformer, arrays: dict[str, np.ndarray], chunk: int = 1024
) -> tuple[np.ndarray, ...]:
    """(pft pools, soil pools) in physical units for every cell of `arrays`."""
    n = arrays["lat"].size
    pft, soil = [], []
    with torch.no_grad():
        for s in range(0, n, chunk):
            x = [
                torch.as_tensor(np.asarray(arrays[k][s : s + chunk]), dtype=torch.float32)
                for k in MODEL_INPUTS
            ]
            p, q = model(*x)
            pft.append(p.numpy())
            soil.append(q.numpy())
    return np.concatenate(pft).astype(np.float64), np.concatenate(soil).astype(np.float64)


def _scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    if true.size < 2:
        return {"r2": float("nan"), "rmse": float("nan"), "n": int(true.size)}
    ss_res = float(((pred - true) ** 2).sum())
    ss_tot = float(((true - true.mean()) ** 2).sum())
    return {
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "rmse": float(np.sqrt(ss_res / true.size)),
        "n": int(true.size),
    }


def score(model: SpinupTransformer, data: SpinupData, cells: np.ndarray) -> dict:
    a = data.subset(cells)
    pft_pred, soil_pred = predict(model, a)
    pft_true, soil_true = a["pft_target"], a["soil_target"]
    present = a["pft_weight"] > 0  # (n, NATPFT)
    wood = model.pool_mask.numpy() > 0  # (NATPFT, pools)
    used = model.soil_used.numpy() > 0  # (level, pools)
    sla = data.arrays["traits"][:, PFT_PARAMETERS.index("slatop")]
    out: dict = {"r2": {}, "rmse": {}, "n": {}, "per_pft": {}, "per_level": {}}

    def put(name: str, s: dict[str, float]) -> None:
        out["r2"][name], out["rmse"][name], out["n"][name] = s["r2"], s["rmse"], s["n"]

    for j, var in enumerate(PFT_POOLS):
        m = present & wood[None, :, j]
        put(var, _scores(pft_pred[..., j][m], pft_true[..., j][m]))
        out["per_pft"][var] = {
            NATPFT_NAMES[p]: _scores(pft_pred[:, p, j][m[:, p]], pft_true[:, p, j][m[:, p]])["r2"]
            for p in range(len(NATPFT_NAMES))
            if m[:, p].sum() >= 5
        }
    lai_pred, lai_true = pft_pred[..., 0] * sla, pft_true[..., 0] * sla
    put("tlai", _scores(lai_pred[present], lai_true[present]))
    for j, var in enumerate(SOIL_VARS):
        m = np.broadcast_to(used[None, :, j], soil_true.shape[:2])
        put(var, _scores(soil_pred[..., j][m], soil_true[..., j][m]))
        out["per_level"][var] = {
            int(k): _scores(soil_pred[:, k, j], soil_true[:, k, j])["r2"]
            for k in range(used.shape[0])
            if used[k, j]
        }
    out["cells"] = int(cells.size)
    return out


def evaluate(
    model_path: str | Path,
    dataset: str | Path,
    split: str | None = None,
    out: str | Path | None = None,
    plots: bool = True,
) -> dict:
    """Scores on the test cells of `split` (default: the split the model was trained on);
    with `out`, writes scores.json and maps/scatter plots there."""
    from elmai.training.trainer import load_model

    model, cfg = load_model(model_path)
    data = load(dataset)
    split = split or cfg.split
    test = data.indices(split, TEST)
    result = score(model, data, test) | {"split": split, "model": str(model_path)}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "scores.json").write_text(json.dumps(result, indent=2))
        if plots:
            from elmai.training.plots import plot_evaluation

            result["plots"] = plot_evaluation(data, test, result, out, *predict(model, data.subset(test)))
    return result
