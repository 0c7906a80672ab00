"""PNG figures (matplotlib, Agg): NSE CDFs over basins, NSE by forecast lead day."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def nse_cdf(curves: dict[str, list[float]], path: Path, title: str) -> Path:
    """Empirical CDF of per-basin NSE for each model (NSE clipped at -1 for the axis)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        v = np.sort(np.clip(np.asarray(values, float)[np.isfinite(values)], -1, 1))
        if v.size:
            ax.plot(v, np.arange(1, v.size + 1) / v.size, label=f"{name} (median {np.median(v):.2f})")
    ax.set_xlabel("NSE per basin (clipped at -1)")
    ax.set_ylabel("fraction of basins")
    ax.set_xlim(-1, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def nse_by_lead(curves: dict[str, dict[str, float]], path: Path, title: str) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, by_lead in curves.items():
        leads = sorted(int(k) for k in by_lead)
        ax.plot(leads, [by_lead[str(k)] for k in leads], marker=".", label=name)
    ax.set_xlabel("lead day")
    ax.set_ylabel("median NSE over basins")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
