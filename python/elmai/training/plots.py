"""Figures of an evaluation, like the published ones: predicted vs reference scatter per
target, maps of reference and predicted soil4 carbon, and R2 per variable."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from elmai.data.dataset import SpinupData  # noqa: E402
from elmai.data.features import PFT_POOLS, SOIL_VARS  # noqa: E402
from elmai.io.soil_levels import DZSOI_DECOMP  # noqa: E402

SCATTER = ("deadstemc", "deadcrootc", "leafc", "cwdc_vr", "soil3c_vr", "soil4c_vr")


def plot_evaluation(
    data: SpinupData, cells: np.ndarray, scores: dict, out: Path, pft_pred: np.ndarray, soil_pred: np.ndarray
) -> list[str]:
    """The figures of `cells`, from the predictions made for them (evaluate.predict)."""
    a = data.subset(cells)
    present = a["pft_weight"] > 0
    files = []
    fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
    for ax, var in zip(axes.ravel(), SCATTER, strict=True):
        if var in PFT_POOLS:
            j = PFT_POOLS.index(var)
            p, t = pft_pred[..., j][present], a["pft_target"][..., j][present]
            unit = "gC/m2"
        else:
            j = SOIL_VARS.index(var)
            p, t = soil_pred[..., j].ravel(), a["soil_target"][..., j].ravel()
            unit = "gC/m3"
        keep = (t > 0) | (p > 0)
        ax.loglog(t[keep] + 1, p[keep] + 1, ".", ms=2, alpha=0.4)
        lim = [1, max(float(t.max()), float(p.max()), 2) * 1.5]
        ax.plot(lim, lim, "k-", lw=0.8)
        ax.set_title(f"{var}  R2 = {scores['r2'][var]:.3f}")
        ax.set_xlabel(f"reference + 1 ({unit})")
        ax.set_ylabel(f"predicted + 1 ({unit})")
    fig.suptitle(f"held-out cells ({cells.size}, {scores['split']} split)")
    fig.tight_layout()
    files.append(str(out / "scatter.png"))
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    j = SOIL_VARS.index("soil4c_vr")
    stock_t = a["soil_target"][..., j] @ DZSOI_DECOMP / 1000
    stock_p = soil_pred[..., j] @ DZSOI_DECOMP / 1000
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    vmax = float(np.percentile(stock_t, 99))
    for ax, values, title in ((axes[0], stock_t, "reference (equilibrium)"), (axes[1], stock_p, "predicted")):
        sc = ax.scatter(a["lon"], a["lat"], c=values, s=6, vmin=0, vmax=vmax, cmap="viridis")
        ax.set_title(f"soil4 C, kgC/m2: {title}")
        fig.colorbar(sc, ax=ax)
    err = stock_p - stock_t
    lim = float(np.percentile(np.abs(err), 99)) or 1.0
    sc = axes[2].scatter(a["lon"], a["lat"], c=err, s=6, vmin=-lim, vmax=lim, cmap="RdBu_r")
    axes[2].set_title("predicted - reference")
    fig.colorbar(sc, ax=axes[2])
    fig.tight_layout()
    files.append(str(out / "maps_soil4c.png"))
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 3.5))
    names = list(scores["r2"])
    ax.bar(names, [scores["r2"][n] for n in names])
    ax.axhline(0.97, color="k", ls="--", lw=0.8)
    ax.set_ylim(min(0.8, min(scores["r2"].values()) - 0.02), 1.0)
    ax.set_ylabel("R2 (held-out cells)")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    files.append(str(out / "r2.png"))
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)
    return files
