"""The baselines each task is measured against: persistence and climatology for the
forecast, bilinear interpolation and a small CNN for downscaling (the CNN gets exactly the
inputs the ViT's refinement head gets, less the ViT's features, so the comparison isolates
what the pretrained encoder adds)."""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["RefineCNN", "bilinear_up", "climatology", "coarsen", "persistence"]


def persistence(fields: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Next month = this month: (n, C, H, W) from fields (time, C, H, W)."""
    return fields[t]


def climatology(fields: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Next month = the mean of that calendar month over the world's other years (leave
    one out: the month predicted is not part of its own climatology); NaN without one."""
    months = np.arange(fields.shape[0]) % 12
    out = np.full((len(t), *fields.shape[1:]), np.nan, dtype=fields.dtype)
    for k, target in enumerate(np.asarray(t) + 1):
        others = np.flatnonzero((months == months[target]) & (np.arange(fields.shape[0]) != target))
        if others.size:
            out[k] = fields[others].mean(axis=0)
    return out


def coarsen(maps: np.ndarray, factor: int = 2) -> np.ndarray:
    """(…, H, W) block means over land (NaN off land; a block of only ocean stays NaN)."""
    *lead, h, w = maps.shape
    blocks = maps.reshape(*lead, h // factor, factor, w // factor, factor)
    with warnings.catch_warnings():  # an all-ocean block: "mean of empty slice", NaN is meant
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(blocks, axis=(-3, -1))


def _up(x: torch.Tensor, factor: int) -> torch.Tensor:
    pad = torch.cat([x[..., -1:], x, x[..., :1]], dim=-1)  # periodic in longitude
    up = F.interpolate(pad, scale_factor=factor, mode="bilinear", align_corners=False)
    return up[..., factor:-factor]


def bilinear_up(x: torch.Tensor, land: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Bilinear interpolation of (B, C, H, W) to (B, C, H*f, W*f) from land cells only
    (normalised convolution: interpolate x * land and land, divide), so coasts are not
    pulled towards the zeros off land; where no land cell is near it gives 0."""
    m = land.to(x.dtype).expand(x.shape[0], 1, *land.shape[-2:])
    num, den = _up(x * m, factor), _up(m, factor)
    return torch.where(den > 1e-6, num / den.clamp_min(1e-6), torch.zeros_like(num))


class RefineCNN(nn.Module):
    """Three 3x3 convolutions giving a correction to the bilinear field from the bilinear
    field, the fine-grid statics and (for the ViT) extra feature channels."""

    def __init__(self, n_in: int, n_out: int, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(n_in, width, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(width, n_out, 3, padding=1),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
