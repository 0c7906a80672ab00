"""PI3NN prediction intervals for every pool the spin-up model predicts.

The trained spin-up model is the mean: per pool variable, its prediction (log space) is
the first feature and the mean network returns it unchanged; PI3NN's upper and lower
networks learn the size of its positive and negative errors from that prediction, the
cell's static features and the entry's PFT or level. Fitted on training-split cells,
calibrated on validation-split cells (split-conformal), scored on test-split cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from elmai.apps.uq.pi3nn import PI3NN, picp_mpiw
from elmai.data.dataset import TEST, TRAIN, VALID, SpinupData
from elmai.data.features import PFT_POOLS, SOIL_VARS


class FirstColumn(nn.Module):
    """The mean network: the spin-up model's prediction, passed in as feature 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1]


@dataclass
class PoolInterval:
    name: str
    picp: float
    mpiw_log: float  # mean width in log1p(gC) units
    median_relative_width: float  # (upper - lower) / prediction, physical units
    n_test: int


def _entries(pred: np.ndarray, true: np.ndarray, mask: np.ndarray, static: np.ndarray, slot: np.ndarray):
    """x, y and cell index of the (cell, slot) entries where mask holds."""
    cell, k = np.nonzero(mask)
    x = np.column_stack([np.log1p(pred[cell, k]), static[cell], slot[k]])
    return x, np.log1p(true[cell, k]), cell


def spinup_intervals(
    pft_pred: np.ndarray,
    soil_pred: np.ndarray,
    data: SpinupData,
    split: str = "random",
    level: float = 0.95,
    epochs: int = 60,
    seed: int = 0,
) -> list[PoolInterval]:
    a = data.arrays
    part = data.splits[split]
    static = np.asarray(a["static"], dtype=np.float64)
    static = (static - static[part == TRAIN].mean(0)) / (static[part == TRAIN].std(0) + 1e-12)
    out = []
    groups = [
        (name, pft_pred[..., j], np.asarray(a["pft_target"])[..., j], np.asarray(a["pft_weight"]) > 0)
        for j, name in enumerate(PFT_POOLS)
    ] + [
        (
            name,
            soil_pred[..., j],
            np.asarray(a["soil_target"])[..., j],
            np.asarray(a["soil_target"])[..., j] > 0,
        )
        for j, name in enumerate(SOIL_VARS)
    ]
    for name, pred, true, present in groups:
        mask = present & (true > 0)  # real entries: grasses have no wood, unused levels no carbon
        slot = np.linspace(0, 1, pred.shape[1])
        x, y, cell = _entries(pred, true, mask, static, slot)
        if y.size < 50:
            continue
        fit = np.isin(part[cell], (TRAIN, VALID))
        test = part[cell] == TEST
        model = PI3NN(epochs=epochs, hidden=32, seed=seed, batch=512)
        model.fit(x[fit], y[fit], mean_net=FirstColumn(), valid=part[cell[fit]] == VALID)
        lo, hi = model.interval(x[test], level)
        picp, mpiw = picp_mpiw(y[test], lo, hi)
        p = np.expm1(x[test, 0])
        rel = (np.expm1(hi) - np.expm1(lo)) / np.maximum(p, 1e-9)
        out.append(PoolInterval(name, picp, mpiw, float(np.median(rel)), int(test.sum())))
    return out
