"""The pretraining objective. Each step draws its batch, its lead time and its masked
variables from (seed, step) alone, so every engine and rank count sees the same batches
and a resumed run continues exactly: lead 1 (predict every non-static variable one month
ahead from the inputs left after masking) or, one step in four, lead 0 (reconstruct the
masked variables). The loss is mean squared error over land, weighted by cos(latitude)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Batch", "PretrainData", "lat_weights", "weighted_mse"]


def lat_weights(lat: np.ndarray, land: np.ndarray) -> torch.Tensor:
    """(H, W) cos(lat) on land, normalised to mean 1 over land; 0 elsewhere."""
    w = np.cos(np.deg2rad(lat))[:, None] * land
    return torch.tensor(w / w[land].mean(), dtype=torch.float32)


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean over batch, channel and cells of w * (pred - target)^2 (w: (H, W), mean 1 on land)."""
    err = (pred - target) ** 2 * weights
    return err.sum(dim=(-2, -1)).mean() / (weights > 0).sum()


@dataclass
class Batch:
    x: torch.Tensor  # (B, V_in, H, W)
    inputs: list[str]
    target: torch.Tensor  # (B, V_out, H, W)
    outputs: list[str]
    lead: torch.Tensor  # (B,)


@dataclass
class PretrainData:
    """fields (world, time, channel, H, W) in model space; `static` the names never predicted."""

    fields: torch.Tensor
    names: list[str]
    static: list[str]
    seed: int = 0
    batch: int = 8
    mask_max: float = 0.3  # at most this fraction of variables dropped from the input

    def samples(self) -> int:
        return self.fields.shape[0] * (self.fields.shape[1] - 1)

    def draw(self, step: int) -> tuple[np.ndarray, np.ndarray, int, list[int]]:
        """(world, time) of the global batch, the lead, and the masked channel indices."""
        rng = np.random.default_rng([self.seed, step])
        nw, nt = self.fields.shape[:2]
        pick = rng.choice(nw * (nt - 1), size=self.batch, replace=self.batch > nw * (nt - 1))
        lead = 0 if rng.random() < 0.25 else 1
        dynamic = [i for i, n in enumerate(self.names) if n not in self.static]
        nmask = int(rng.integers(1 if lead == 0 else 0, max(2, int(self.mask_max * len(self.names)) + 1)))
        masked = sorted(rng.choice(len(self.names), size=nmask, replace=False).tolist()) if nmask else []
        if lead == 0 and not any(i in dynamic for i in masked):
            masked = sorted(set(masked) | {dynamic[int(rng.integers(len(dynamic)))]})
        return pick // (nt - 1), pick % (nt - 1), lead, masked

    def batch_of(self, step: int, rank: int = 0, world: int = 1) -> Batch:
        """This rank's share (every world-th sample from `rank`) of step's global batch."""
        wi, ti, lead, masked = self.draw(step)
        wi, ti = wi[rank::world], ti[rank::world]
        keep = [i for i in range(len(self.names)) if i not in masked]
        if lead == 0:
            out = [i for i in masked if self.names[i] not in self.static]
        else:
            out = [i for i, n in enumerate(self.names) if n not in self.static]
        x = self.fields[wi, ti][:, keep]
        target = self.fields[wi, ti + lead][:, out]
        return Batch(
            x,
            [self.names[i] for i in keep],
            target,
            [self.names[i] for i in out],
            torch.full((len(wi),), float(lead)),
        )
