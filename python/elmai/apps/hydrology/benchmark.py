"""The hydrology benchmark in two configurations, part by part (simulation, forecast,
ungauged); each part writes OUT/<part>.json and its figures, `assemble` merges the parts
into one results file (results/hydrology.json) with the keys issue 26 names.

- reduced: what 2 CPU cores do in about 15 minutes a model: basins subsampled (seeded),
  small hidden sizes, a fixed number of random batches;
- full: all 422 basins, NeuralHydrology-sized models and epochs (hours on CPU; use a GPU);
- tiny: seconds, every code path (the benchmark's --quick).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"
PARTS = ("simulation", "forecast", "ungauged", "uq", "explain")

SETTINGS: dict[str, dict] = {
    "reduced": {
        "simulation": {
            "lstm": "simulation_lstm_reduced.yaml",
            "transformer": "simulation_transformer_reduced.yaml",
        },
        "forecast": {
            "n_basins": 60,
            "history": 90,
            "issue_stride": 10,
            "eval_levels": [0.0, 1.0, 2.0],
            "models": {
                "tst": {"kind": "tst", "hidden": 32, "epochs": 10, "steps": 50, "batch_size": 64, "lr": 1e-3},
                "tst_perfect": {
                    "kind": "tst",
                    "hidden": 32,
                    "epochs": 10,
                    "steps": 50,
                    "batch_size": 64,
                    "lr": 1e-3,
                    "level": 0.0,
                    "eval_levels": [0.0],
                },
                "lstm_ed": {
                    "kind": "lstm_ed",
                    "hidden": 64,
                    "epochs": 10,
                    "steps": 80,
                    "batch_size": 64,
                    "lr": 2e-3,
                },
                "lstm": {
                    "kind": "lstm",
                    "hidden": 64,
                    "epochs": 10,
                    "steps": 80,
                    "batch_size": 64,
                    "lr": 2e-3,
                },
            },
        },
        "uq": {"basin": "09107000", "epochs": 200},
        "explain": {"ilstm": "simulation_ilstm_reduced.yaml"},
        "ungauged": {
            "n_basins": 90,
            "k": 3,
            "n_folds_run": 3,
            "seq": 365,
            "last": 180,  # the loss on the last 180 days of each window
            "hidden": 48,
            "epochs": 6,
            "steps": 40,
            "batch_size": 64,
            "lr": 2e-3,
        },
    },
    "full": {
        "simulation": {
            "lstm": "simulation_lstm_full.yaml",
            "transformer": "simulation_transformer_full.yaml",
        },
        "forecast": {
            "n_basins": None,
            "history": 365,
            "issue_stride": 1,
            "eval_levels": [0.0, 0.5, 1.0, 1.5, 2.0],
            "models": {
                "tst": {
                    "kind": "tst",
                    "hidden": 64,
                    "epochs": 30,
                    "steps": 1000,
                    "batch_size": 256,
                    "lr": 5e-4,
                },
                "tst_perfect": {
                    "kind": "tst",
                    "hidden": 64,
                    "epochs": 30,
                    "steps": 1000,
                    "batch_size": 256,
                    "lr": 5e-4,
                    "level": 0.0,
                    "eval_levels": [0.0],
                },
                "lstm_ed": {
                    "kind": "lstm_ed",
                    "hidden": 256,
                    "epochs": 30,
                    "steps": 1000,
                    "batch_size": 256,
                    "lr": 1e-3,
                },
                "lstm": {
                    "kind": "lstm",
                    "hidden": 256,
                    "epochs": 30,
                    "steps": 1000,
                    "batch_size": 256,
                    "lr": 1e-3,
                },
            },
        },
        "uq": {"basin": "09107000", "epochs": 1000},
        "explain": {"ilstm": "simulation_ilstm_reduced.yaml"},
        "ungauged": {
            "n_basins": None,
            "k": 3,
            "n_folds_run": 3,
            "seq": 365,
            "last": 1,
            "hidden": 256,
            "epochs": 30,
            "steps": 1000,
            "batch_size": 256,
            "lr": 1e-3,
        },
    },
}


def _tiny() -> dict:
    """Seconds-long settings that exercise every code path (`make bench --quick`, tests)."""
    import copy

    t = copy.deepcopy(SETTINGS["reduced"])
    t["simulation"] = {"lstm": "simulation_lstm_tiny.yaml"}
    t["forecast"]["n_basins"] = 4
    for m in t["forecast"]["models"].values():
        m.update(epochs=1, steps=2)
    t["ungauged"].update(n_basins=9, epochs=1, steps=2, n_folds_run=1)
    t["uq"]["epochs"] = 2
    t["explain"] = {"ilstm": "simulation_ilstm_tiny.yaml"}
    return t


SETTINGS["tiny"] = _tiny()


def _subset(data, n: int | None, seed: int = 0):
    if n is None or n >= len(data.basins):
        return data
    keep = sorted(np.random.default_rng(seed).choice(len(data.basins), n, replace=False).tolist())
    return data.subset([data.basins[i] for i in keep])


def _strip(d):
    """JSON-able copy without the in-memory objects (keys starting with '_')."""
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if not str(k).startswith("_")}
    return d


def _reuse(cfg) -> dict | None:
    """A finished run of the same config in its folder (metrics.json beside a matching
    resolved_config.yaml): its metrics, so the benchmark does not retrain it."""
    from elmai import config_file as cf
    from elmai.errors import OutputExistsError

    metrics = Path(cfg.out) / "metrics.json"
    if not metrics.is_file() or not (Path(cfg.out) / cf.RESOLVED).is_file():
        return None
    try:
        cf.prepare_output(cfg.out, cfg, kind="hydrology-simulation")
    except OutputExistsError:
        return None
    return json.loads(metrics.read_text())


def run_part(part: str, config: str, out: Path, log: Callable[[str], None] | None = print) -> dict:
    import torch

    from elmai.apps.hydrology import caravan
    from elmai.apps.hydrology.config import DYNAMIC, PERIODS, STATIC, HydrologyConfig
    from elmai.apps.hydrology.plots import nse_by_lead, nse_cdf

    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    st = SETTINGS[config][part]
    t0 = time.perf_counter()
    if part == "simulation":
        from elmai.apps.hydrology.simulation import run_simulation

        res: dict = {}
        for name, file in st.items():
            cfg = HydrologyConfig.load(CONFIGS_DIR / file)
            cfg.out = str((out / f"simulation_{name}").resolve())
            r = _reuse(cfg) or run_simulation(cfg, overwrite=True, log=log)
            res[name] = {
                k: r[k] for k in ("median_nse", "summary", "basins", "periods", "parameters", "wall_seconds")
            }
            res[name]["per_basin_nse"] = {b: s["nse"] for b, s in r["per_basin"]["model"].items()}
            res[name]["epochs"], res[name]["steps_per_epoch"] = (
                cfg.training["epochs"],
                cfg.training["steps_per_epoch"],
            )
            res["climatology"] = {
                "median_nse": r["median_nse"]["climatology"],
                "summary": r["summary"]["climatology"],
                "per_basin_nse": {b: s["nse"] for b, s in r["per_basin"]["climatology"].items()},
            }
        curves = {n: list(v["per_basin_nse"].values()) for n, v in res.items()}
        nse_cdf(
            curves, out / "simulation_nse_cdf.png", f"simulation mode, test 1989-10-01..1999-09-30 ({config})"
        )
    elif part == "forecast":
        from elmai.apps.hydrology.forecast import ForecastSetup, run_forecast

        data = _subset(caravan.load(None, None, STATIC), st["n_basins"])
        s = ForecastSetup(
            history=st["history"], issue_stride=st["issue_stride"], eval_levels=st["eval_levels"]
        )
        r = run_forecast(data, STATIC, DYNAMIC, PERIODS, s, st["models"], log)
        res = _strip(r)
        res["basins"] = len(data.basins)
        res["history_days"], res["issue_stride_days"] = s.history, s.issue_stride
        res["label"] = "surrogate forecasts (ERA5-Land future drivers + seeded noise growing with lead time)"
        nse_by_lead(
            {
                n: v["median_nse_by_lead"]
                for n, v in res.items()
                if isinstance(v, dict) and "median_nse_by_lead" in v
            },
            out / "forecast_nse_by_lead.png",
            f"30-day forecasts, surrogate level 1, test period ({config})",
        )
        _attention_maps(r, s, out)
    elif part == "ungauged":
        from elmai.apps.hydrology.ungauged import INPUT_SETS, LABEL, run_ungauged

        need = sorted({a for v in INPUT_SETS.values() for a in v})
        data = _subset(caravan.load(None, None, need), st["n_basins"])
        kw = {k: v for k, v in st.items() if k != "n_basins"}
        res = run_ungauged(data, DYNAMIC, models=list(INPUT_SETS), log=log, **kw)
        res["rs_label"] = LABEL
        res["basins"] = len(data.basins)
        for f in range(kw["n_folds_run"]):
            nse_cdf(
                {
                    n: list(res[n]["folds"][f]["nse"][b]["nse"] for b in res[n]["folds"][f]["nse"])
                    for n in INPUT_SETS
                },
                out / f"ungauged_fold{f + 1}_nse_cdf.png",
                f"ungauged basins, fold {f + 1}, held out 2008-2014",
            )
    elif part == "explain":
        from elmai.apps.hydrology.explain import run_explain

        cfg = HydrologyConfig.load(CONFIGS_DIR / st["ilstm"])
        cfg.out = str((out / "simulation_ilstm").resolve())
        sim = out / "simulation.json"
        lstm = json.loads(sim.read_text())["lstm"]["median_nse"]["model"] if sim.is_file() else None
        res = run_explain(cfg, lstm, log)
        res["basins"] = res["ilstm"]["basins"]
    elif part == "uq":
        from elmai.apps.hydrology.uq_warming import run_uq

        res = run_uq(caravan.load(None, [st["basin"]]), st["basin"], st["epochs"])
        res["basins"] = 1
    else:
        raise ValueError(part)
    res["wall_seconds"] = time.perf_counter() - t0
    res["configuration"] = config
    (out / f"{part}.json").write_text(json.dumps(res, indent=1, default=float))
    return res


def _attention_maps(r: dict, s, out: Path) -> None:
    """Decoder cross-attention (lead-day queries over the fused past + forecast encoding) and
    the fusion attention of the TST, averaged over test forecasts of the first basin."""
    import torch

    from elmai.apps.hydrology.forecast import inputs
    from elmai.apps.hydrology.forecast_models import Block
    from elmai.apps.hydrology.plots import _plt

    model, p, pairs = r["tst"]["_model"], r["_prepared"], r["_pairs"]
    sel = pairs[pairs[:, 0] == 0][:64]
    Block.record = True
    try:
        with torch.no_grad():
            model.eval()
            model(*[torch.from_numpy(a) for a in inputs(p, sel, s, 1.0)[:4]])
        cross = model.decoder[-1].weights["cross"].mean(0)[s.history :].numpy()
        fusion = model.fusion.weights.mean(0).numpy()
    finally:
        Block.record = False
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    ax[0].imshow(cross, aspect="auto", cmap="viridis")
    ax[0].axvline(s.history - 0.5, color="w", lw=0.8)
    ax[0].set(
        xlabel=f"fused encoding: past days 1..{s.history} | forecast days 1..{s.lead}",
        ylabel="lead day query",
        title="TST decoder cross-attention",
    )
    ax[1].imshow(fusion, aspect="auto", cmap="viridis")
    ax[1].set(xlabel="past day", ylabel="forecast day", title="TST fusion: forecast -> past drivers")
    fig.tight_layout()
    fig.savefig(out / "tst_attention.png", dpi=110)
    plt.close(fig)


def assemble(out: Path, results: Path, config: str) -> dict:
    """results/hydrology.json from the parts found in OUT."""
    res: dict = {"config": {"configuration": config, "settings": SETTINGS[config], "parts": {}}}
    for part in PARTS:
        f = out / f"{part}.json"
        if not f.is_file():
            continue
        r = json.loads(f.read_text())
        res["config"]["parts"][part] = {
            "basins": r.get("basins") or r.get("lstm", {}).get("basins"),
            "wall_seconds": r["wall_seconds"],
        }
        if part == "simulation":  # the models' own run time (a reused run's part takes seconds)
            models = {n: v for n, v in r.items() if isinstance(v, dict) and "epochs" in v}
            res["config"]["parts"][part]["wall_seconds"] = sum(v["wall_seconds"] for v in models.values())
            res["config"]["parts"][part]["training"] = {
                n: {"epochs": v["epochs"], "steps_per_epoch": v["steps_per_epoch"]} for n, v in models.items()
            }
        if part == "simulation":
            res["simulation"] = {
                n: {
                    "median_nse": v["median_nse"]["model"]
                    if isinstance(v["median_nse"], dict)
                    else v["median_nse"],
                    "summary": v["summary"]["model"] if "model" in v["summary"] else v["summary"],
                }
                for n, v in r.items()
                if isinstance(v, dict) and "median_nse" in v
            }
            res["simulation"]["periods"] = r["lstm"]["periods"]
            res["simulation"]["note"] = (
                "validation period 1981-01-01..1989-09-30 (the data start 1981-01-01, NeuralHydrology's "
                "starts 1980-10-01); Caravan ERA5-Land forcing, not the original CAMELS forcings: the "
                "published 0.74-0.76 (531 basins, CAMELS forcings) is not a like-for-like reference"
            )
        elif part == "forecast":
            res["forecast"] = {
                n: {
                    "median_nse_by_lead": v["median_nse_by_lead"],
                    **({"by_level": v["by_level"]} if "by_level" in v else {}),
                }
                for n, v in r.items()
                if isinstance(v, dict) and "median_nse_by_lead" in v
            }
            res["forecast"]["label"] = r["label"]
        elif part == "ungauged":
            res["ungauged"] = {
                n: {
                    "median_nse": v["median_nse"],
                    "folds_median_nse": [f["median_nse"] for f in v["folds"]],
                    "basins_judged": v["basins_judged"],
                }
                for n, v in r.items()
                if isinstance(v, dict) and "median_nse" in v
            }
            res["ungauged"]["rs_label"] = r["rs_label"]
        elif part == "explain":
            res["explain"] = {
                k: v for k, v in r.items() if k not in ("wall_seconds", "configuration", "basins")
            }
            if res["explain"].get("lstm_median_nse_same_basins") is None and "simulation" in res:
                res["explain"]["lstm_median_nse_same_basins"] = res["simulation"]["lstm"]["median_nse"]
        elif part == "uq":
            res["uq"] = {k: v for k, v in r.items() if k not in ("wall_seconds", "configuration")}
    res["config"]["wall_seconds"] = sum(p["wall_seconds"] for p in res["config"]["parts"].values())
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(res, indent=1))
    return res
