"""One training loop for every model here: Adam, a masked NSE* loss (NeuralHydrology's: the
squared error of each basin divided by (its std + 0.1)^2, NaN targets skipped), random
batches of windows, fixed epochs; the losses per epoch are kept."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from elmai.errors import RunError


def nse_loss(pred: torch.Tensor, target: torch.Tensor, basin_std: torch.Tensor) -> torch.Tensor:
    """Masked NSE* loss; pred, target: n x t, basin_std: n."""
    ok = torch.isfinite(target)
    if not ok.any():
        return pred.sum() * 0.0
    w = 1.0 / (basin_std[:, None] + 0.1) ** 2
    err = torch.where(ok, pred - torch.nan_to_num(target), torch.zeros_like(pred))
    return (w * err**2).sum() / ok.sum()


def fit(
    model: torch.nn.Module,
    batch: Callable[[np.random.Generator], tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]],
    epochs: int,
    steps: int,
    lr: float,
    seed: int,
    log: Callable[[str], None] | None = None,
    device: str = "cpu",
) -> dict:
    """Train `model` on `batch(rng) -> (inputs, target, basin_std)`; returns the history."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * steps), eta_min=lr / 10)
    history = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for _ in range(steps):
            inputs, target, bstd = batch(rng)
            inputs = tuple(t.to(device) for t in inputs)
            target, bstd = target.to(device), bstd.to(device)
            loss = nse_loss(model(*inputs), target, bstd)
            if not torch.isfinite(loss):
                raise RunError(f"training diverged at epoch {epoch + 1}: loss {loss.item()}")
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item()
        history.append(total / steps)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {history[-1]:.4f} ({time.perf_counter() - t0:.0f} s)")
    return {"loss": history, "seconds": time.perf_counter() - t0}
