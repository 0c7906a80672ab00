"""The study's summary (results/foundation.json): the keys issue 27 asks for, each from
the stage that measured it, and `missing` naming every asked-for figure not measured."""

from __future__ import annotations

import numpy as np

__all__ = ["summarise"]

# asked for by issue 27 and not built (each with why)
NOT_BUILT = (
    "deepspeed optimiser state across engines (its partitioned AdamW moments restart on resume)",
    "distributed (sharded) checkpoint format (full state gathered instead)",
    "throughput per size and engine (one size measured)",
)


def _largest(runs: dict, sizes: list[str]) -> str | None:
    done = [s for s in sizes if s in runs]
    return done[-1] if done else None


def summarise(study: dict, sizes: list[str]) -> dict:
    out: dict = {"corpora": study.get("corpora", {})}
    missing: list[str] = []
    pre = study.get("pretrain", {})
    out["n_sizes"] = len(pre)
    out["sizes"] = {s: pre[s]["parameters"] for s in sizes if s in pre}
    out["pretraining"] = {
        s: {
            "steps": v["steps_done"],
            "train_minutes": v["train_seconds"] / 60,
            "first_loss_mean20": float(np.mean(v["losses"][:20])),
            "last_loss_mean20": float(np.mean(v["losses"][-20:])),
            "tokens_per_s": v["tokens_per_s"],
            "stopped_by_time_limit": v["stopped_early"],
        }
        for s, v in pre.items()
    }
    fc = study.get("forecast_runs", {})
    big = _largest(fc, sizes)
    if big:
        r = fc[big]["1"]
        out["forecast"] = {
            g: {
                k: v[k]
                for k in ("rmse_vs_persistence", "rmse_vs_climatology", "vit", "persistence", "climatology")
            }
            | {"size": big}
            for g, v in r["groups"].items()
        }
        out["forecast_by_size"] = {
            s: {g: v["rmse_vs_persistence"] for g, v in runs["1"]["groups"].items()} for s, runs in fc.items()
        }
        out["data_efficiency"] = {
            s: {
                f: {"samples": v["n_train_samples"]} | {g: gv["vit"] for g, gv in v["groups"].items()}
                for f, v in runs.items()
            }
            for s, runs in fc.items()
        }
    else:
        missing += ["forecast", "data_efficiency"]
    ds = study.get("downscale_runs", {})
    big = _largest(ds, sizes)
    if big:
        out["downscaling"] = {
            n: {
                "rmse_vs_bilinear": v["rmse_vs_bilinear"],
                "cnn_rmse_vs_bilinear": v["cnn_rmse_vs_bilinear"],
                "units": v["units"],
                "size": big,
            }
            | {m: v[m] for m in ("vit", "cnn", "bilinear")}
            for n, v in ds[big]["variables"].items()
        }
        out["downscaling_by_size"] = {
            s: {n: v["rmse_vs_bilinear"] for n, v in r["variables"].items()} for s, r in ds.items()
        }
    else:
        missing.append("downscaling")
    em = study.get("emulation_runs", {})
    big = _largest(em, sizes)
    if big:
        out["emulation"] = {p: v | {"size": big} for p, v in em[big]["pools"].items()}
        out["emulation_cost"] = em[big]["cost"] | {
            "prepare_seconds_per_world": em[big]["prepare_seconds_per_world"]
        }
    else:
        missing.append("emulation")
    eng = study.get("engine_runs")
    if eng:
        out["engines"] = {e: v for e, v in eng["engines"].items()}
        out["engines_setup"] = {k: v for k, v in eng.items() if k != "engines"}
        missing += [f"engines.{e}" for e, v in eng["engines"].items() if "error" in v]
    else:
        missing.append("engines")
    if study.get("large"):
        out["largest_size_check"] = study["large"]
    if study.get("memory"):
        out["state_memory_per_rank"] = study["memory"]
    real = study.get("real_fields")
    if real and "variables" in real:
        out["real_fields_demo"] = real
    else:
        missing.append(f"real_fields ({(real or {}).get('status', 'not run')})")
    effic = out.get("data_efficiency", {})
    missing += [
        f"data_efficiency.{s} (100% only: CPU time)" for s in sizes if s in effic and len(effic[s]) < 2
    ]
    out["missing"] = missing + list(NOT_BUILT)
    return out
