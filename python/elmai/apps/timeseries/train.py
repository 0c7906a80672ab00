"""`elmai timeseries train --config X.yaml`: one YAML per experiment (NeuralHydrology's
way): data source and periods, model, training. Launch with `mpirun -n N` for DDP.

Windows of `seq_len` steps of drivers (standardised with training-period statistics),
the static attributes repeated along the window and, with `lagged_target`, the target
observed one step earlier (a one-step-ahead forecast, the setting in which persistence is
a fair baseline) predict the target at the window's last step. With `lagged_target` the
network predicts the change from the last observation, so it starts from persistence and
learns what the drivers add to it (with two years of data this matters). Scores on the test
period: NSE, KGE and RMSE per entity for the model, the climatology of the training
period and persistence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from elmai.apps.timeseries import metrics
from elmai.apps.timeseries.config import TimeseriesConfig
from elmai.apps.timeseries.data import SeriesSet, load_camels, load_testbed
from elmai.apps.timeseries.models import build
from elmai.errors import ConfigError, ElmaiError
from elmai.ml import distributed
from elmai.ml.tabular import FitConfig, fit_tensors


def load_series(data: dict) -> SeriesSet:
    if data["source"] == "camels":
        return load_camels(
            data["root"], [str(b) for b in data["basins"]], data["inputs"], data.get("forcing", "daymet")
        )
    if data["source"] == "testbed":
        run = Path(data["run"])
        if not any(run.glob("*.elm.h0.*.nc")):
            from elmai.apps.testbed.run import run_testbed

            years = int(data.get("years", 20))
            run_testbed(
                run,
                resolution=float(data.get("resolution", 10.0)),
                years=years,
                spinup="matrix",
                history_years=years,
                forcing_years=years,
                progress=False,
            )
        return load_testbed(run, data["target"], data["inputs"], data.get("static", []))
    raise ConfigError(f"unknown data.source {data['source']!r}; choose camels or testbed")


@dataclass
class Windows:
    x: torch.Tensor  # (n, seq_len, nfeat)
    y: torch.Tensor  # (n,) standardised target (its change since the last step when lagged)
    entity: np.ndarray
    t: np.ndarray
    base: np.ndarray  # (n,) physical value the prediction is added to (0, or the last observation)


class Featurizer:
    """Standardisation fitted on the training period, and windows built from it."""

    def __init__(self, ds: SeriesSet, train: np.ndarray, seq_len: int, lagged: bool) -> None:
        self.ds, self.seq_len, self.lagged = ds, seq_len, lagged
        d = ds.dynamic[:, train]
        self.dyn_mean, self.dyn_std = d.mean((0, 1)), d.std((0, 1)) + 1e-12
        self.y_mean, self.y_std = (
            float(np.nanmean(ds.target[:, train])),
            float(np.nanstd(ds.target[:, train])),
        )
        if ds.static is not None:
            self.st = (ds.static - ds.static.mean(0)) / (ds.static.std(0) + 1e-12)

    def windows(self, times: np.ndarray) -> Windows:
        ds, L = self.ds, self.seq_len
        dyn = (ds.dynamic - self.dyn_mean) / self.dyn_std
        y = (ds.target - self.y_mean) / self.y_std
        first = L - 1 + (1 if self.lagged else 0)
        ent, tt = np.meshgrid(np.arange(len(ds.entities)), times[times >= first], indexing="ij")
        ent, tt = ent.ravel(), tt.ravel()
        keep = np.isfinite(y[ent, tt]) & (np.isfinite(y[ent, tt - 1]) if self.lagged else True)
        ent, tt = ent[keep], tt[keep]
        base = ds.target[ent, tt - 1] if self.lagged else np.zeros(len(ent))
        steps = tt[:, None] + np.arange(-L + 1, 1)[None, :]  # (n, L)
        parts = [dyn[ent[:, None], steps]]
        if self.lagged:
            parts.append(np.nan_to_num(y[ent[:, None], steps - 1])[..., None])
        if ds.static is not None:
            parts.append(np.broadcast_to(self.st[ent][:, None, :], (len(ent), L, self.st.shape[1])))
        x = np.concatenate(parts, axis=-1)
        z = (ds.target[ent, tt] - base) / self.y_std if self.lagged else y[ent, tt]
        return Windows(
            torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(z, dtype=torch.float32), ent, tt, base
        )


def model_and_features(cfg: TimeseriesConfig, ds: SeriesSet) -> tuple[str, dict, Featurizer]:
    """The network type, its own settings, and the windows' featurizer (fitted on the
    training period) an experiment names: training and explaining build them alike."""
    m = dict(cfg.model)
    kind, seq_len = m.pop("type", "lstm"), int(m.pop("seq_len", 90))
    lagged = bool(cfg.data.get("lagged_target", False))
    return kind, m, Featurizer(ds, ds.period(*cfg.data["train"]), seq_len, lagged)


def predict(model: torch.nn.Module, w: Windows, feat: Featurizer, batch: int = 2048) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(w.x[i : i + batch]) for i in range(0, len(w.y), batch)]).double().numpy()
    if feat.lagged:
        return w.base + out * feat.y_std
    return out * feat.y_std + feat.y_mean


def train_timeseries(cfg: TimeseriesConfig, progress: bool = True, overwrite: bool = False) -> dict | None:
    """Train, score on the test period, write metrics.json, model.pt, plots and
    resolved_config.yaml (rank 0). An output folder holding another experiment's
    resolved_config.yaml is refused unless `overwrite`."""
    from elmai import config_file

    ctx = distributed.init()
    record = config_file.prepare_output(cfg.out, cfg.__dict__, overwrite=overwrite, kind="timeseries train")
    ds = load_series(cfg.data)
    if ctx.is_root:  # once the inputs are known good: a failed start leaves no record behind
        config_file.write_resolved(cfg.out, record)
    train_t = ds.period(*cfg.data["train"])
    test_t = ds.period(*cfg.data["test"])
    kind, m, feat = model_and_features(cfg, ds)

    nvalid = max(1, int(round(len(train_t) * float(cfg.training.get("valid_fraction", 0.15)))))
    fit_w, valid_w, test_w = (
        feat.windows(train_t[:-nvalid]),
        feat.windows(train_t[-nvalid:]),
        feat.windows(test_t),
    )
    if len(fit_w.y) == 0 or len(test_w.y) == 0:
        raise ElmaiError(f"no complete windows of {feat.seq_len} steps in the training or test period")
    tr = cfg.training
    fit_cfg = FitConfig(
        epochs=int(tr.get("epochs", 50)),
        batch=int(tr.get("batch", 256)),
        lr=float(tr.get("lr", 1e-3)),
        patience=int(tr.get("patience", 15)),
        seed=int(tr.get("seed", 0)),
        weight_decay=float(tr.get("weight_decay", 0.0)),
    )
    torch.manual_seed(fit_cfg.seed)
    model = build(kind, fit_w.x.shape[-1], **m)
    result = fit_tensors(
        model,
        (fit_w.x, fit_w.y),
        (valid_w.x, valid_w.y),
        fit_cfg,
        ctx,
        progress=f"{cfg.name} ({kind})" if progress else None,
    )
    distributed.shutdown(ctx)
    if not ctx.is_root:
        return None
    sim = np.full_like(ds.target, np.nan)
    sim[test_w.entity, test_w.t] = predict(model, test_w, feat)
    clim = metrics.climatology(
        ds.target, ds.season, train_t, smooth=int(cfg.data.get("climatology_smooth", 0))
    )
    pers = metrics.persistence(ds.target)
    per_entity = {}
    for e, name in enumerate(ds.entities):
        obs = ds.target[e, test_t]
        per_entity[name] = {
            label: metrics.scores(series[e, test_t], obs)
            for label, series in (("model", sim), ("climatology", clim), ("persistence", pers))
        }
    nse = {
        k: np.array([v[k]["nse"] for v in per_entity.values()])
        for k in ("model", "climatology", "persistence")
    }
    summary = {
        "name": cfg.name,
        "model": kind,
        "target": f"{ds.target_name} ({ds.target_units})",
        "entities": len(ds.entities),
        "seq_len": feat.seq_len,
        "lagged_target": feat.lagged,
        "epochs": result.epochs_run,
        "ranks": ctx.world,
        # entities whose observations never vary (zero GPP of ice and desert) have no NSE
        "scored_entities": int(np.isfinite(nse["model"]).sum()),
        "median_nse": {k: float(np.nanmedian(v)) for k, v in nse.items()},
        "beats_both_baselines": float(
            np.mean(
                ((nse["model"] > nse["climatology"]) & (nse["model"] > nse["persistence"]))[
                    np.isfinite(nse["model"])
                ]
            )
        ),
        "per_entity": per_entity if len(ds.entities) <= 20 else None,
    }
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    torch.save(
        {
            "state_dict": model.state_dict(),
            "config": cfg.__dict__,
            "features": {
                "dyn_mean": feat.dyn_mean.tolist(),
                "dyn_std": feat.dyn_std.tolist(),
                "y_mean": feat.y_mean,
                "y_std": feat.y_std,
            },
        },
        out / "model.pt",
    )
    _plot(ds, sim, clim, test_t, out / "test_series.png", nse)
    return summary


def _plot(
    ds: SeriesSet, sim: np.ndarray, clim: np.ndarray, test_t: np.ndarray, path: Path, nse: dict
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = np.flatnonzero(np.isfinite(nse["model"]))
    order = scored[np.argsort(nse["model"][scored])]
    show = order[[0, len(order) // 2, -1]] if len(order) > 3 else order
    fig, axes = plt.subplots(len(show), 1, figsize=(10, 2.4 * len(show)), squeeze=False)
    x = ds.time[test_t]
    for ax, e in zip(axes[:, 0], show, strict=True):
        ax.plot(x, ds.target[e, test_t], "k", lw=1, label="observed")
        ax.plot(x, sim[e, test_t], "tab:red", lw=1, label=f"model (NSE {nse['model'][e]:.2f})")
        ax.plot(
            x,
            clim[e, test_t],
            "tab:blue",
            lw=0.8,
            alpha=0.7,
            label=f"climatology ({nse['climatology'][e]:.2f})",
        )
        ax.set_title(ds.entities[e], fontsize=9)
        ax.set_ylabel(f"{ds.target_name} ({ds.target_units})", fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
