"""PI3NN prediction intervals (Liu et al., ICLR 2022) for any torch regressor.

Three networks: the mean f(x); u(x) fitted to the positive residuals y - f(x) and l(x)
to the negative ones (as magnitudes). For a confidence level g the interval is
[f - beta l, f + alpha u], with alpha and beta found by bisection so that exactly
(1 - g)/2 of the training points lie above and below it. Any number of levels comes from
the same three networks, and intervals never cross (u, l >= 0 and alpha, beta >= 0,
monotone in g). Out of distribution: u and l are fitted in square-root space and
squared, so away from the data their (ReLU, piecewise-linear) extrapolation grows
quadratically and intervals widen; `ood_bias` adds PI3NN's large output-bias
initialisation (its effect depends on the data: measured in tests/test_pi3nn.py).
The scale factors are calibrated on held-out points with split-conformal's finite-sample
rule by default, so coverage carries over to new data (the paper calibrates on the
training points, which is optimistic when the networks overfit small sets).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from elmai.ml.tabular import mlp


def fit(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    lr: float,
    weight_decay: float = 0.0,
    batch: int = 64,
    seed: int = 0,
    valid: tuple[torch.Tensor, torch.Tensor] | None = None,
    patience: int = 30,
) -> nn.Module:
    """Minibatch Adam on MSE; with `valid`, early stopping on it (the best weights kept):
    small data sets overfit, and intervals calibrated on overfitted residuals are too narrow."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    n = x.shape[0]
    best, best_state, stale = float("inf"), None, 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        for i in range(0, n, batch):
            idx = order[i : i + batch]
            opt.zero_grad()
            loss = ((net(x[idx]).squeeze(-1) - y[idx]) ** 2).mean()
            loss.backward()
            opt.step()
        if valid is not None and valid[0].shape[0] > 0:
            with torch.no_grad():
                v = float(((net(valid[0]).squeeze(-1) - valid[1]) ** 2).mean())
            if v < best - 1e-9:
                best, stale = v, 0
                best_state = {k: t.clone() for k, t in net.state_dict().items()}
            else:
                stale += 1
                if stale >= patience:
                    break
    if best_state is not None:
        net.load_state_dict(best_state)
    return net


def _bisect(count: Callable[[float], int], target: float, hi: float = 1.0, iters: int = 60) -> float:
    """Smallest scale s >= 0 with count(s) <= target (count falls as s grows)."""
    while count(hi) > target:
        hi *= 2.0
        if hi > 1e12:
            break
    lo = 0.0
    if count(lo) <= target:
        return 0.0
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if count(mid) > target:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass
class PI3NN:
    """Fit with `fit(x, y)`; `interval(x, level)` returns (lower, upper) in y's units."""

    hidden: int = 64
    layers: int = 2
    epochs: int = 300
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch: int = 64
    patience: int = 30  # epochs without a better validation loss before stopping
    ood_bias: float = 0.0  # > 0: PI3NN's OOD initialisation of u and l (output bias, in std units)
    valid_fraction: float = 0.2  # held out of training: early stopping and calibration
    calibrate_on_valid: bool = True
    seed: int = 0
    # >= 2: a cross-fitted mean, the average of `folds` networks each trained without one
    # fold; every training point then has an out-of-fold residual, and those calibrate
    folds: int = 0
    mean_net: nn.Module | None = None
    _u: nn.Module | None = None
    _l: nn.Module | None = None
    _scales: dict[float, tuple[float, float]] = field(default_factory=dict)

    def fit(
        self, x: np.ndarray, y: np.ndarray, mean_net: nn.Module | None = None, valid: np.ndarray | None = None
    ) -> PI3NN:
        """Train the three networks (a `valid_fraction` of the data, or the rows flagged in
        the boolean `valid`, drives early stopping and calibrates); `mean_net` may be any
        trained torch regressor (x -> y), else an MLP is trained here."""
        torch.manual_seed(self.seed)
        xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32).reshape(-1)
        self.x_train, self.y_train = xt, yt
        if valid is not None:
            va, tr = torch.as_tensor(np.flatnonzero(valid)), torch.as_tensor(np.flatnonzero(~valid))
        else:
            order = torch.randperm(yt.numel(), generator=torch.Generator().manual_seed(self.seed))
            n_valid = int(self.valid_fraction * yt.numel())
            va, tr = order[:n_valid], order[n_valid:]
        self.x_cal, self.y_cal = xt[va], yt[va]
        self._f_cal = None
        if mean_net is None and self.folds >= 2:
            mean_net, oof = self._cross_fit(xt, yt)
            self.x_cal, self.y_cal, self._f_cal = xt, yt, oof
        elif mean_net is None:
            net = mlp(xt.shape[1], 1, self.hidden, self.layers, act=nn.ReLU)
            mean_net = fit(
                net,
                xt[tr],
                yt[tr],
                self.epochs,
                self.lr,
                self.weight_decay,
                batch=self.batch,
                patience=self.patience,
                seed=self.seed,
                valid=(xt[va], yt[va]),
            )
        self.mean_net = mean_net.eval()
        with torch.no_grad():
            resid = yt - (self._f_cal if self._f_cal is not None else self.mean_net(xt).reshape(-1))
        scale = float(resid.abs().mean()) or 1.0
        nets = []
        for sign in (1.0, -1.0):
            keep = sign * resid > 0
            net = mlp(xt.shape[1], 1, self.hidden, self.layers, act=nn.ReLU)
            if self.ood_bias > 0:  # large output bias: only data can pull it down
                with torch.no_grad():
                    net[-1].bias.fill_(self.ood_bias)
            # fit sqrt of the magnitude (as PI3NN does) for a smoother target; squared at use
            target = torch.sqrt(torch.clamp(sign * resid / scale, min=0.0))
            k_tr, k_va = tr[keep[tr]], va[keep[va]]
            net = fit(
                net,
                xt[k_tr],
                target[k_tr],
                self.epochs,
                self.lr,
                self.weight_decay,
                batch=self.batch,
                patience=self.patience,
                seed=self.seed + 1,
                valid=(xt[k_va], target[k_va]),
            )
            nets.append(net.eval())
        self._u, self._l = nets
        self._resid_scale = scale
        self._scales = {}
        return self

    def _cross_fit(self, xt: torch.Tensor, yt: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed + 7)
        n = yt.numel()
        fold = torch.empty(n, dtype=torch.long)
        fold[torch.randperm(n, generator=g)] = torch.arange(n) % self.folds
        oof, nets = torch.empty(n), []
        for k in range(self.folds):
            rest = torch.nonzero(fold != k).reshape(-1)
            rest = rest[torch.randperm(rest.numel(), generator=g)]
            nv = max(1, rest.numel() // 10)  # early stopping on the other folds, never on fold k
            net = fit(
                mlp(xt.shape[1], 1, self.hidden, self.layers, act=nn.ReLU),
                xt[rest[nv:]],
                yt[rest[nv:]],
                self.epochs,
                self.lr,
                self.weight_decay,
                batch=self.batch,
                patience=self.patience,
                seed=self.seed + k,
                valid=(xt[rest[:nv]], yt[rest[:nv]]),
            ).eval()
            held = torch.nonzero(fold == k).reshape(-1)
            with torch.no_grad():
                oof[held] = net(xt[held]).reshape(-1)
            nets.append(net)
        return _Average(nets), oof

    def _parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            f = self.mean_net(x).reshape(-1)
            u = self._u(x).reshape(-1) ** 2 * self._resid_scale
            lo = self._l(x).reshape(-1) ** 2 * self._resid_scale
        return f, u, lo

    def scales(self, level: float) -> tuple[float, float]:
        """(alpha, beta) for a confidence level, by bisection on the calibration data: the
        held-out part when `calibrate_on_valid` (residuals the networks never fitted, so the
        coverage carries over to new data), else all training data as in the paper."""
        if level not in self._scales:
            x, y = (self.x_cal, self.y_cal) if self.calibrate_on_valid else (self.x_train, self.y_train)
            f, u, lo = self._parts(x)
            if self.calibrate_on_valid and self._f_cal is not None:
                f = self._f_cal  # out-of-fold predictions: residuals no mean network saw
            n = y.numel()
            # points allowed beyond each bound: split-conformal's finite-sample rule, so that
            # coverage on new data is at least the level even with few calibration points
            tail = (
                n - math.ceil((n + 1) * (1.0 - (1.0 - level) / 2.0))
                if self.calibrate_on_valid
                else ((1.0 - level) / 2.0 * n)
            )
            alpha = _bisect(lambda a: int((y > f + a * u).sum()), tail)
            beta = _bisect(lambda b: int((y < f - b * lo).sum()), tail)
            self._scales[level] = (alpha, beta)
        return self._scales[level]

    def interval(self, x: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        alpha, beta = self.scales(level)
        f, u, lo = self._parts(torch.as_tensor(x, dtype=torch.float32))
        return (f - beta * lo).numpy(), (f + alpha * u).numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._parts(torch.as_tensor(x, dtype=torch.float32))[0].numpy()


class _Average(nn.Module):
    def __init__(self, nets: list[nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([n(x) for n in self.nets]).mean(0)


def picp_mpiw(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float, float]:
    """Prediction interval coverage probability and mean width."""
    y = np.asarray(y).reshape(-1)
    return float(np.mean((y >= lower) & (y <= upper))), float(np.mean(upper - lower))
