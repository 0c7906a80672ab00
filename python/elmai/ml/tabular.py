"""Fit any torch regressor on in-memory tensors, on one process or over `mpirun` ranks.

The emulators and the time-series models train through this:
minibatch Adam on a loss (MSE by default), early stopping on a validation set (the best
weights are kept), and under `mpirun -n N` DistributedDataParallel with each rank taking
its share of every global batch (same shuffled order on all ranks, so N ranks take the
same steps as one with the same global batch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from elmai.ml import distributed


@dataclass
class FitConfig:
    epochs: int = 500
    batch: int = 64  # global batch (split over ranks)
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 50  # epochs without a better validation loss before stopping
    seed: int = 0
    lr_decay: float = 1.0  # multiplied into the learning rate each epoch


@dataclass
class FitResult:
    best_valid: float
    epochs_run: int
    history: list[dict] = field(default_factory=list)


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((pred - target) ** 2).mean()


def fit_tensors(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    valid: tuple[torch.Tensor, torch.Tensor] | None,
    cfg: FitConfig,
    ctx: distributed.Context | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = mse,
    progress: str | None = None,
) -> FitResult:
    """Train `model` in place on `train` = (x, y); returns the best validation loss.
    `progress`, when given, is the label of a progress bar (shown on rank 0 only)."""
    from tqdm import tqdm

    ctx = ctx or distributed.Context()
    torch.manual_seed(cfg.seed)
    net: nn.Module = model
    if ctx.distributed:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, cfg.lr_decay)
    x, y = train
    n = x.shape[0]
    g = torch.Generator().manual_seed(cfg.seed)
    best, best_state, stale = float("inf"), None, 0
    result = FitResult(best, 0)
    bar = tqdm(range(cfg.epochs), desc=progress, unit="epoch", disable=progress is None or not ctx.is_root)
    for epoch in bar:
        model.train()
        order = torch.randperm(n, generator=g)
        total = torch.zeros(2)
        for i in range(0, n, cfg.batch):
            batch = order[i : i + cfg.batch]
            if batch.numel() < ctx.world:  # every rank must take part in each step
                continue
            idx = batch[ctx.rank :: ctx.world]
            opt.zero_grad()
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += torch.tensor([float(loss.detach()) * idx.numel(), idx.numel()])
        sched.step()
        total = distributed.all_reduce_sum(total, ctx)
        train_loss = float(total[0] / total[1].clamp(min=1.0))
        model.eval()
        if valid is not None and valid[0].shape[0] > 0:
            with torch.no_grad():
                v = float(loss_fn(model(valid[0]), valid[1]))
        else:
            v = train_loss
        result.history.append({"epoch": epoch + 1, "train_loss": train_loss, "valid_loss": v})
        bar.set_postfix(train=f"{train_loss:.3g}", valid=f"{v:.3g}")
        if v < best * (1 - 1e-6):
            best, stale = v, 0
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    result.best_valid, result.epochs_run = best, len(result.history)
    return result


def mlp(
    n_in: int, n_out: int, hidden: int = 64, layers: int = 2, act: type[nn.Module] = nn.SiLU
) -> nn.Sequential:
    """A plain fully connected network."""
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), act()]
        width = hidden
    mods.append(nn.Linear(width, n_out))
    return nn.Sequential(*mods)
