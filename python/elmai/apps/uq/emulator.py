"""Emulators from model parameters to many outputs (e.g. annual GPP per cell and year).

Reduced: the outputs' principal components (SVD of the centred training outputs, keeping
those that explain a chosen variance); a network maps parameters to component scores and
the basis reconstructs every output. Full: the same network maps straight to all outputs.
With few runs the reduced form has far fewer outputs to learn (8 -> ~10 scores instead of
8 -> thousands of values), which is why it needs fewer runs for the same accuracy.

Parameters enter scaled to [0, 1] over their prior ranges; one `Emulator` module holds
the scaling, the network and the basis, so `emulator(theta)` takes physical values and
returns physical outputs (and it scripts with TorchScript).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from elmai.errors import ElmaiError, InputNotFoundError, ModelFileError
from elmai.ml import distributed
from elmai.ml.tabular import FitConfig, fit_tensors, mlp


@dataclass
class PCA:
    mean: np.ndarray  # (nout,)
    components: np.ndarray  # (k, nout), orthonormal rows
    explained: np.ndarray  # (k,) fraction of variance per component

    @classmethod
    def fit(cls, y: np.ndarray, variance: float = 0.999, max_components: int | None = None) -> PCA:
        if not 0 < variance <= 1:
            raise ElmaiError(f"variance to keep must be in (0, 1], got {variance}")
        mean = y.mean(0)
        _, s, vt = np.linalg.svd(y - mean, full_matrices=False)
        frac = s**2 / max((s**2).sum(), 1e-300)
        k = int(np.searchsorted(np.cumsum(frac), variance - 1e-12) + 1)
        k = min(k, len(s), max_components or len(s))
        return cls(mean, vt[:k], frac[:k])

    @property
    def k(self) -> int:
        return self.components.shape[0]

    def scores(self, y: np.ndarray) -> np.ndarray:
        return (y - self.mean) @ self.components.T

    def reconstruct(self, scores: np.ndarray) -> np.ndarray:
        return scores @ self.components + self.mean


class Emulator(nn.Module):
    """theta (n, nparam), physical units -> outputs (n, nout), physical units."""

    def __init__(
        self,
        net: nn.Module,
        low: np.ndarray,
        high: np.ndarray,
        basis: np.ndarray | None,
        mean: np.ndarray,
        scale: float,
    ) -> None:
        super().__init__()
        self.net = net
        f = torch.float32
        self.register_buffer("low", torch.as_tensor(low, dtype=f))
        self.register_buffer("span", torch.as_tensor(high - low, dtype=f))
        self.reduced = basis is not None
        # (k, nout) principal components; empty for the full emulator
        self.register_buffer(
            "basis", torch.as_tensor(basis if basis is not None else np.zeros((0, 0)), dtype=f)
        )
        self.register_buffer("mean", torch.as_tensor(mean, dtype=f))
        self.scale = float(scale)

    def unit(self, theta: torch.Tensor) -> torch.Tensor:
        return (theta - self.low) / self.span

    def latent(self, theta: torch.Tensor) -> torch.Tensor:
        """Network output: scaled component scores (reduced) or scaled outputs (full)."""
        return self.net(self.unit(theta))

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        z = self.latent(theta) * self.scale
        if self.reduced:
            z = z @ self.basis
        return z + self.mean


@dataclass
class EmulatorConfig:
    reduce: bool = True
    variance: float = 0.999  # fraction of output variance the kept components explain
    max_components: int | None = None
    hidden: int = 64
    layers: int = 2
    valid_fraction: float = 0.2
    fit: FitConfig | None = None


def train_emulator(
    theta: np.ndarray,
    y: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    cfg: EmulatorConfig | None = None,
    ctx: distributed.Context | None = None,
    progress: str | None = None,
) -> tuple[Emulator, dict]:
    """Fit an emulator on runs (theta (n, nparam), y (n, nout)); part of the runs is held
    out for early stopping. Returns the emulator and a summary."""
    cfg = cfg or EmulatorConfig()
    fit_cfg = cfg.fit or FitConfig(epochs=3000, batch=32, lr=3e-3, patience=300)
    n = theta.shape[0]
    if n < 4:
        raise ElmaiError(f"an emulator needs at least 4 runs, got {n}")
    order = np.random.default_rng(fit_cfg.seed).permutation(n)
    nvalid = max(1, int(round(cfg.valid_fraction * n)))
    valid, train = order[:nvalid], order[nvalid:]
    basis = None
    if cfg.reduce:
        pca = PCA.fit(y[train], cfg.variance, cfg.max_components)
        basis, mean = pca.components, pca.mean
        target = pca.scores(y)
    else:
        mean = y[train].mean(0)
        target = y - mean
    scale = float(target[train].std()) or 1.0
    net = mlp(theta.shape[1], target.shape[1], cfg.hidden, cfg.layers)
    em = Emulator(net, low, high, basis, mean, scale)
    t = torch.as_tensor(theta, dtype=torch.float32)
    z = torch.as_tensor(target / scale, dtype=torch.float32)
    u = em.unit(t)
    result = fit_tensors(net, (u[train], z[train]), (u[valid], z[valid]), fit_cfg, ctx, progress=progress)
    summary = {
        "reduced": cfg.reduce,
        "components": pca.k if cfg.reduce else None,
        "explained_variance": float(pca.explained.sum()) if cfg.reduce else None,
        "runs": int(n),
        "outputs": int(y.shape[1]),
        "epochs": result.epochs_run,
        "valid_loss": result.best_valid,
    }
    return em, summary


def r2(pred: np.ndarray, truth: np.ndarray) -> float:
    """Pooled R2 over all outputs of held-out runs, about each output's mean."""
    sse = ((pred - truth) ** 2).sum()
    sst = ((truth - truth.mean(0)) ** 2).sum()
    return float(1 - sse / sst)


def predict(em: nn.Module, theta: np.ndarray) -> np.ndarray:
    """Outputs (float64) of an emulator, eager or TorchScript, for parameter sets theta."""
    with torch.no_grad():
        return em(torch.as_tensor(theta, dtype=torch.float32)).double().numpy()


def save(em: Emulator, path: str | os.PathLike[str], names: list[str], output: str, summary: dict) -> None:
    """TorchScript file (loadable by elmai.Model and the Fortran bridge) with the
    parameter names, output name and training summary as extra files."""
    import json

    scripted = torch.jit.script(em)
    meta = {
        "names": names,
        "output": output,
        "summary": summary,
        "low": em.low.tolist(),
        "high": (em.low + em.span).tolist(),
    }
    tmp = f"{path}.tmp"
    torch.jit.save(scripted, tmp, _extra_files={"elmai_emulator.json": json.dumps(meta)})
    os.replace(tmp, path)


def load(path: str | os.PathLike[str]) -> tuple[torch.jit.ScriptModule, dict]:
    import json

    if not os.path.exists(path):
        raise InputNotFoundError(f"emulator file '{path}' does not exist")
    extra = {"elmai_emulator.json": ""}
    try:
        module = torch.jit.load(path, _extra_files=extra)
    except RuntimeError as e:
        reason = str(e).splitlines()[0][:200]
        raise ModelFileError(f"'{path}' is not a TorchScript emulator: {reason}") from None
    if not extra["elmai_emulator.json"]:
        raise ModelFileError(f"'{path}' is TorchScript but not an elmai emulator (no elmai_emulator.json)")
    return module, json.loads(extra["elmai_emulator.json"])
