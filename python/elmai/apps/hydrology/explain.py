"""iLSTM explanations: accuracy next to the simulation LSTM on the same basins and periods,
and its own importances read from its attentions on the test period: the variable
attention (which driver) averaged over days, windows and basins, and the temporal
attention (which lag) per driver."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def importances(model, p, basins: np.ndarray, period: slice, seq: int, last: int, names: list[str]) -> dict:
    """Mean variable attention per driver and mean temporal attention per driver and lag
    (lag 0 = the predicted day) over windows tiling `period`."""
    import torch

    from elmai.apps.hydrology.dataset import eval_ends, gather

    ends = eval_ends(period, seq, last)
    pairs = np.array([(b, e) for b in basins for e in ends])
    beta_sum, alpha_sum, n = 0.0, 0.0, 0
    model.eval()
    model.record = True
    try:
        with torch.no_grad():
            for i in range(0, len(pairs), 64):
                x, s, _ = gather(p, pairs[i : i + 64], seq)
                model(torch.from_numpy(x), torch.from_numpy(s))
                beta_sum = beta_sum + model.beta.sum((0, 1)).numpy()  # var
                alpha_sum = alpha_sum + model.alpha.sum((0, 1)).numpy()  # var x span
                n += model.beta.shape[0] * model.beta.shape[1]
    finally:
        model.record = False
    beta = beta_sum / n
    alpha = (alpha_sum / n)[:, ::-1]  # lag 0 first
    return {
        "variable": {v: float(b) for v, b in zip(names, beta, strict=True)},
        "temporal": {v: [float(a) for a in row] for v, row in zip(names, alpha, strict=True)},
    }


def plot(imp: dict, path: Path) -> Path:
    from elmai.apps.hydrology.plots import _plt

    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    names = list(imp["variable"])
    ax[0].bar(range(len(names)), [imp["variable"][v] for v in names])
    ax[0].set_xticks(range(len(names)), [v.replace("_", " ") for v in names], fontsize=7)
    ax[0].set(ylabel="mean variable attention", title="iLSTM variable importance")
    for v in names:
        ax[1].plot(imp["temporal"][v], label=v.replace("_", " "))
    ax[1].set(
        xlabel="lag (days before the predicted day)",
        ylabel="mean temporal attention",
        title="iLSTM temporal importance",
    )
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_explain(cfg, lstm_median: float | None = None, log=print) -> dict:
    """Train the iLSTM of `cfg` (model.type ilstm) and read its importances."""
    import torch

    from elmai.apps.hydrology.dataset import prepare
    from elmai.apps.hydrology.models import build
    from elmai.apps.hydrology.simulation import load_data, run_simulation

    r = run_simulation(cfg, overwrite=True, log=log)
    data = load_data(cfg)
    tr = cfg.training
    train, test = data.index(*cfg.periods["train"]), data.index(*cfg.periods["test"])
    lo = max(0, min(train.start, test.start) - tr["seq_length"] + 1)
    basins = np.arange(len(data.basins))
    p = prepare(
        data,
        cfg.data["dynamic"],
        cfg.data["static"],
        cfg.data["target"],
        basins,
        train,
        slice(lo, max(train.stop, test.stop)),
    )
    m = cfg.model
    model = build(
        "ilstm",
        p.x.shape[-1],
        p.static.shape[-1],
        m["hidden"],
        m["dropout"],
        tr["predict_last"],
        m.get("span", 60),
    )
    model.load_state_dict(torch.load(Path(cfg.out) / "model.pt"))
    imp = importances(model, p, basins, test, tr["seq_length"], tr["predict_last"], cfg.data["dynamic"])
    plot(imp, Path(cfg.out) / "ilstm_importance.png")
    return {
        "ilstm": {
            "median_nse": r["median_nse"]["model"],
            "summary": r["summary"]["model"],
            "basins": r["basins"],
            "wall_seconds": r["wall_seconds"],
            "importance": imp,
        },
        "lstm_median_nse_same_basins": lstm_median,
    }
