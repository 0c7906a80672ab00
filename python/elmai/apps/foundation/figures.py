"""The study's figures (PNG, matplotlib, Agg): for each task the maps of target,
prediction and error from the saved examples (ROOT/maps/*.npz), and the data-efficiency
curves (error against fine-tuning samples, one line per size)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["draw_all"]


def _load(path: Path) -> tuple[dict, dict]:
    z = np.load(path, allow_pickle=False)
    meta = json.loads(str(z["meta"]))
    return meta, {k: z[k] for k in z.files if k != "meta"}


def _panel(ax, field: np.ndarray, title: str, cmap: str = "viridis", lim: tuple | None = None) -> None:  # noqa: ANN001
    kw = {"vmin": lim[0], "vmax": lim[1]} if lim else {}
    im = ax.imshow(field, origin="lower", cmap=cmap, aspect="auto", **kw)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02)


def _sym(x: np.ndarray) -> tuple[float, float]:
    m = float(np.nanpercentile(np.abs(x), 99)) or 1.0
    return -m, m


def _range(*xs: np.ndarray) -> tuple[float, float]:
    v = np.concatenate([x[np.isfinite(x)].ravel() for x in xs])
    return float(np.percentile(v, 1)), float(np.percentile(v, 99))


def forecast_maps(path: Path, out: Path, variables: tuple[str, ...] = ("GPP", "TOTVEGC", "TBOT")) -> Path:
    import matplotlib.pyplot as plt

    meta, a = _load(path)
    names = meta["variables"]
    rows = [v for v in variables if v in names]
    fig, axes = plt.subplots(len(rows), 4, figsize=(13, 2.6 * len(rows)), squeeze=False)
    for r, v in enumerate(rows):
        k = names.index(v)
        t, p, q = a["target"][k], a["prediction"][k], a["persistence"][k]
        lim = _range(t, p)
        _panel(axes[r, 0], t, f"{v} next month: target", lim=lim)
        _panel(axes[r, 1], p, f"{v}: ViT forecast", lim=lim)
        e = _sym(np.concatenate([(p - t).ravel(), (q - t).ravel()]))
        _panel(axes[r, 2], p - t, f"{v}: ViT error", "RdBu_r", e)
        _panel(axes[r, 3], q - t, f"{v}: persistence error", "RdBu_r", e)
    fig.suptitle("Next-month forecast on an unseen world (standardised model units)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def downscale_maps(path: Path, out: Path) -> Path:
    import matplotlib.pyplot as plt

    meta, a = _load(path)
    targets = meta["targets"]
    fig, axes = plt.subplots(len(targets), 5, figsize=(16, 2.6 * len(targets)), squeeze=False)
    for r, v in enumerate(targets):
        t, b, p = a["target"][r], a["bilinear"][r], a["vit"][r]
        lim = _range(t, p)
        _panel(axes[r, 0], t, f"{v} 1 deg: target", lim=lim)
        _panel(axes[r, 1], b, f"{v}: bilinear from 2 deg", lim=lim)
        _panel(axes[r, 2], p, f"{v}: ViT", lim=lim)
        e = _sym(np.concatenate([(b - t).ravel(), (p - t).ravel()]))
        _panel(axes[r, 3], b - t, f"{v}: bilinear error", "RdBu_r", e)
        _panel(axes[r, 4], p - t, f"{v}: ViT error (CNN: see table)", "RdBu_r", e)
    fig.suptitle(f"2 deg -> 1 deg downscaling, unseen world, month {meta['month']} (raw units)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=70)
    plt.close(fig)
    return out


def emulation_maps(path: Path, out: Path) -> Path:
    import matplotlib.pyplot as plt

    meta, a = _load(path)
    pools = meta["pools"]
    fig, axes = plt.subplots(len(pools), 5, figsize=(16, 2.6 * len(pools)), squeeze=False)
    for r, pool in enumerate(pools):
        t, p, c = a["target"][r], a["prediction"][r], a["per_cell"][r]
        lt, lp, lc = (np.log10(np.maximum(x, 1e-3)) for x in (t, p, c))
        lim = _range(lt, lp, lc)
        _panel(axes[r, 0], lt, f"{pool} equilibrium: log10 gC/m2", lim=lim)
        _panel(axes[r, 1], lp, f"{pool}: ViT from year-20 maps", lim=lim)
        _panel(axes[r, 2], lc, f"{pool}: shipped per-cell model", lim=lim)
        e = _sym(np.concatenate([(lp - lt).ravel(), (lc - lt).ravel()]))
        _panel(axes[r, 3], lp - lt, f"{pool}: ViT log10 error", "RdBu_r", e)
        _panel(axes[r, 4], lc - lt, f"{pool}: per-cell log10 error", "RdBu_r", e)
    fig.suptitle(f"Spin-up map emulation, unseen world {meta['world']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=70)
    plt.close(fig)
    return out


def efficiency_plot(efficiency: dict, out: Path, group: str = "state") -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, g in zip(axes, (group, "flux"), strict=True):
        for size, runs in efficiency.items():
            pts = sorted((v["samples"], v[g]) for v in runs.values() if g in v)
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=size)
        ax.set_xscale("log")
        ax.set_xlabel("fine-tuning samples (unseen worlds' months)")
        ax.set_ylabel(f"{g} RMSE (standardised)")
        ax.set_title(f"next-month forecast, {g} variables", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def draw_all(root: Path, summary: dict, out: Path) -> list[Path]:
    """Every figure whose example exists; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    made = []
    maps = root / "maps"
    for kind, fn in (
        ("forecast", forecast_maps),
        ("downscale", downscale_maps),
        ("emulation", emulation_maps),
    ):
        found = sorted(maps.glob(f"{kind}_*.npz"))
        if found:  # the largest size's maps: the last in the study's size order
            order = {s: i for i, s in enumerate(summary.get("sizes", {}))}
            best = max(found, key=lambda p: order.get(p.stem.split("_", 1)[1], -1))
            made.append(fn(best, out / f"foundation_{kind}.png"))
    if summary.get("data_efficiency"):
        made.append(efficiency_plot(summary["data_efficiency"], out / "foundation_data_efficiency.png"))
    return made
