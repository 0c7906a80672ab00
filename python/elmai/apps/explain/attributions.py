"""Attributions of a model's prediction to its inputs: integrated gradients (Captum) and
SHAP's expected gradients (shap.GradientExplainer), summed by input group and variable.

Any model with several tensor inputs works; `scalar` turns its outputs into one number
per sample (e.g. the log of a cell's predicted soil4 carbon). Integrated gradients are
complete: per sample the attributions sum to f(x) - f(baseline), up to the integral's
discretisation error (`delta`, reported).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


class ScalarOutput(nn.Module):
    """model(*inputs) reduced to one value per sample, as Captum and SHAP want."""

    def __init__(self, model: nn.Module, scalar: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.model, self.scalar = model, scalar

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.scalar(self.model(*inputs))


@dataclass
class Attribution:
    method: str
    groups: list[str]
    values: list[np.ndarray]  # per group, shaped like its input (nsample, ...)
    delta: np.ndarray | None = None  # IG: sum of attributions - (f(x) - f(baseline)), per sample
    output_change: np.ndarray | None = None  # f(x) - f(baseline)

    def by_group(self, absolute: bool = True) -> dict[str, float]:
        """Mean over samples of each group's summed (absolute) attribution."""
        out = {}
        for g, v in zip(self.groups, self.values, strict=True):
            v = v.reshape(v.shape[0], -1)
            out[g] = float((np.abs(v) if absolute else v).sum(1).mean())
        return out

    def by_variable(self, group: str, names: Sequence[str], absolute: bool = True) -> dict[str, float]:
        """A group's attributions summed over every axis but the last (its variables)."""
        v = self.values[self.groups.index(group)]
        v = np.abs(v) if absolute else v
        per = v.reshape(v.shape[0], -1, v.shape[-1]).sum(1).mean(0)
        return dict(zip(names, per.tolist(), strict=True))


def typical(x: torch.Tensor) -> torch.Tensor:
    """The baseline: each entry's mean over the samples where it is non-zero, and zero where
    the input is zero. Absent PFTs, unused levels and dry days stay absent along the path:
    a path through tiny pools or decay rates crosses the steep parts of log and 1/k terms
    and the integral then converges slowly (measured: 18% completeness error at 64 steps
    with the plain mean, 1.6% with this)."""
    nz = (x != 0).to(x.dtype)
    mean = (x * nz).sum(0, keepdim=True) / nz.sum(0, keepdim=True).clamp(min=1)
    return torch.where(x == 0, torch.zeros_like(x), mean.expand_as(x))


def integrated_gradients(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    groups: Sequence[str],
    baselines: Sequence[torch.Tensor] | None = None,
    steps: int = 64,
    tolerance: float = 0.01,
    max_steps: int = 1024,
) -> Attribution:
    """IG from `baselines` (default: `typical`) to each input, in float64. The path
    integral is refined (steps doubled) until the completeness error is within `tolerance`
    of the largest output change or `max_steps` is reached: models with clamps or
    saturated gates change sharply along the path and need many steps."""
    import copy

    from captum.attr import IntegratedGradients

    model64 = copy.deepcopy(model).double().eval()
    inputs = tuple(x.detach().double() for x in inputs)
    if baselines is None:
        baselines = tuple(typical(x) for x in inputs)
    baselines = tuple(b.detach().double() for b in baselines)
    with torch.no_grad():
        change = (model64(*inputs) - model64(*baselines)).numpy()
    ig = IntegratedGradients(model64)
    while True:
        attr, delta = ig.attribute(
            inputs,
            baselines=baselines,
            n_steps=steps,
            method="gausslegendre",
            return_convergence_delta=True,
            internal_batch_size=max(1, len(inputs[0])),
        )
        delta = delta.detach().numpy()
        if np.abs(delta).max() <= tolerance * max(np.abs(change).max(), 1e-12) or steps >= max_steps:
            break
        steps *= 2
    return Attribution(
        "integrated gradients", list(groups), [a.detach().numpy() for a in attr], delta, change
    )


def shap_values(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    groups: Sequence[str],
    background: Sequence[torch.Tensor],
    samples: int = 200,
    seed: int = 0,
) -> Attribution:
    """SHAP values by expected gradients over `background` samples (shap.GradientExplainer)."""
    import shap

    class _Column(nn.Module):  # shap wants (n, 1) outputs
        def __init__(self, m: nn.Module) -> None:
            super().__init__()
            self.m = m

        def forward(self, *xs: torch.Tensor) -> torch.Tensor:
            return self.m(*xs)[:, None]

    torch.manual_seed(seed)
    explainer = shap.GradientExplainer(_Column(model), [b.detach().float() for b in background])
    vals = explainer.shap_values([x.detach().float() for x in inputs], nsamples=samples, rseed=seed)
    if not isinstance(vals, list):  # one input: shap returns its array alone
        vals = [vals]
    # one model output: shap appends an output axis of size 1
    vals = [
        np.asarray(v)[..., 0] if np.asarray(v).ndim == x.dim() + 1 else np.asarray(v)
        for v, x in zip(vals, inputs, strict=True)
    ]
    return Attribution("SHAP (expected gradients)", list(groups), vals)


def plot_groups(
    attrs: Sequence[Attribution], path: str, title: str, variables: dict[str, list[str]] | None = None
) -> None:
    """Bar charts: importance of each input group (and of each variable of the groups in
    `variables`) by every method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("input group", None)] + [(g, names) for g, names in (variables or {}).items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (group, names) in zip(axes[0], panels, strict=True):
        width = 0.8 / len(attrs)
        for k, a in enumerate(attrs):
            d = a.by_group() if names is None else a.by_variable(group, names)
            total = sum(d.values()) or 1.0
            x = np.arange(len(d))
            ax.bar(x + k * width - 0.4 + width / 2, np.array(list(d.values())) / total, width, label=a.method)
            ax.set_xticks(x, list(d), rotation=40, ha="right", fontsize=7)
        ax.set_title(group, fontsize=9)
        ax.set_ylabel("share of mean |attribution|", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_lags(attr: Attribution, group: str, names: Sequence[str], path: str, title: str) -> None:
    """Heat map of mean |attribution| by lag (window step before the prediction) and driver."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = np.abs(attr.values[attr.groups.index(group)]).mean(0)[::-1]  # (lag, driver), lag 0 = last step
    fig, ax = plt.subplots(figsize=(1.1 * len(names) + 2, 4))
    from matplotlib.colors import LogNorm

    v = v[:, : len(names)]
    im = ax.imshow(v, aspect="auto", cmap="viridis", origin="lower", norm=LogNorm(v.max() * 1e-4, v.max()))
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("lag (steps before the predicted step)")
    fig.colorbar(im, label="mean |IG attribution|")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
