"""Streamflow ML on the Caravan CAMELS-US basins (issue 26), reduced configuration: median
test NSE of the simulation-mode LSTM and transformer (and day-of-year climatology), TST /
LSTM-ED / LSTM / persistence 30-day forecasts on surrogate forecasts, and the ungauged-basin
cross-validation; each model's training time against the issue's 30-minute budget.
--quick runs the tiny settings (seconds; checks the code paths, not the skill)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.common import BenchResult, Figure
from elmai.apps.hydrology.benchmark import PARTS, assemble, run_part

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 1800.0  # issue 26: each model <= 30 minutes on 2 cores (reduced configuration)


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def result_from(res: dict, parts: dict[str, dict]) -> BenchResult:
    """The benchmark's figures and context from a results file and its parts' JSON."""
    config = res["config"]["configuration"]
    context: dict = {"configuration": f"{config} (see python/elmai/apps/hydrology/benchmark.py)"}
    figures = []
    sim = res.get("simulation", {})
    if sim:
        s = parts["simulation"]
        rows = []
        for name in ("lstm", "transformer"):
            if name in sim:
                q = sim[name]["summary"]["nse"]
                rows.append(f"{name} {q['median']:.3f} (quartiles {q['q25']:.3f}..{q['q75']:.3f})")
                figures.append(
                    Figure(
                        f"simulation {name} training + scoring",
                        s[name]["wall_seconds"],
                        "issue budget",
                        BUDGET,
                        "<= 1",
                        reference_kind="budget",
                    )
                )
        clim = s["climatology"]["median_nse"]
        lstm = sim.get("lstm", {}).get("median_nse", float("nan"))
        context[f"simulation median test NSE, {s['lstm']['basins']} basins"] = (
            "; ".join(rows) + f"; day-of-year climatology {clim:.3f} | LSTM >= 0.70: {_verdict(lstm >= 0.70)}"
            " | Caravan ERA5-Land forcing: the published 0.74-0.76 used the CAMELS forcings"
        )
    fc = res.get("forecast", {})
    if fc:
        p = parts["forecast"]
        leads = {n: v["median_nse_by_lead"] for n, v in fc.items() if isinstance(v, dict)}
        context[f"forecast median NSE at lead 1 / 7 / 30, {p['basins']} basins, surrogate forecasts"] = (
            "; ".join(f"{n} {v['1']:.3f} / {v['7']:.3f} / {v['30']:.3f}" for n, v in leads.items())
        )
        if {"tst", "lstm", "lstm_ed"} <= set(leads):
            ok = all(leads["tst"][k] > max(leads["lstm"][k], leads["lstm_ed"][k]) for k in ("7", "30"))
            context["TST beats LSTM and LSTM-ED at lead 7 and 30"] = _verdict(ok)
        for n in ("tst", "lstm_ed", "lstm"):
            if n in fc and "by_level" in fc[n]:
                by = fc[n]["by_level"]
                context[f"forecast {n} lead-7 median NSE by surrogate noise level"] = ", ".join(
                    f"{lvl}: {v['7']:.3f}" for lvl, v in by.items()
                )
        for n, v in p.items():
            if isinstance(v, dict) and "train_seconds" in v:
                figures.append(
                    Figure(
                        f"forecast {n} training",
                        v["train_seconds"],
                        "issue budget",
                        BUDGET,
                        "<= 1",
                        reference_kind="budget",
                    )
                )
    ug = res.get("ungauged", {})
    if ug:
        p = parts["ungauged"]
        med = {n: v["median_nse"] for n, v in ug.items() if isinstance(v, dict)}
        best = max(med, key=med.get)
        context[f"ungauged median held-out NSE, {p['basins']} basins, 3-fold"] = (
            "; ".join(f"{n} {v:.3f}" for n, v in med.items())
            + f" | Geo-RS-LSTM best: {_verdict(best == 'geo_rs_lstm')}"
            + f" | >= 0.65: {_verdict(med.get('geo_rs_lstm', -1) >= 0.65)} | RS = {ug['rs_label']}"
        )
        for n, v in p.items():
            if isinstance(v, dict) and "folds" in v:
                t = max(f["train_seconds"] for f in v["folds"])
                figures.append(
                    Figure(
                        f"ungauged {n} training (slowest fold)",
                        t,
                        "issue budget",
                        BUDGET,
                        "<= 1",
                        reference_kind="budget",
                    )
                )
    ex = res.get("explain", {})
    if ex:
        il = ex["ilstm"]
        imp = ", ".join(f"{k} {v:.2f}" for k, v in il["importance"]["variable"].items())
        context[f"iLSTM median test NSE, {il['basins']} basins"] = (
            f"{il['median_nse']:.3f} (simulation LSTM on the same basins "
            f"{ex.get('lstm_median_nse_same_basins') or float('nan'):.3f}); variable attention: {imp}"
        )
        figures.append(
            Figure(
                "iLSTM training + scoring",
                il["wall_seconds"],
                "issue budget",
                BUDGET,
                "<= 1",
                reference_kind="budget",
            )
        )
    uq = res.get("uq", {})
    if uq:
        for n in ("pi3nn", "conformal", "ensemble"):
            v = uq[n]
            ok = abs(v["picp_validation"] - 0.95) <= 0.03
            context[f"UQ {uq['basin']} {n}, 95% intervals (train 1981-1999, test 2000-2014)"] = (
                f"PICP validation {v['picp_validation']:.3f} ({_verdict(ok)}: within 0.03), shift "
                f"{v['picp_shift']:.3f}; MPIW {v['mpiw_validation']:.2f} / {v['mpiw_shift']:.2f} mm/day; "
                f"warm years PICP {v['warm_years']['shift']['picp']:.3f}; rank corr. width vs |error| "
                "by year "
                f"{v['width_error_spearman_shift']:.2f}"
            )
        figures.append(
            Figure(
                "UQ (3 methods, 2 splits)",
                parts["uq"]["wall_seconds"],
                "issue budget",
                BUDGET,
                "<= 1",
                reference_kind="budget",
            )
        )
    return BenchResult(
        "hydrology", "streamflow ML on 422 Caravan CAMELS-US basins", figures, context, extra={"results": res}
    )


def run(quick: bool = False) -> BenchResult:
    config = "tiny" if quick else "reduced"
    out = ROOT / "runs" / "hydrology" / config
    for part in PARTS:
        run_part(part, config, out, log=None)
    results = out / "results.json" if quick else ROOT / "results" / "hydrology.json"
    res = assemble(out, results, config)
    parts = {p: json.loads((out / f"{p}.json").read_text()) for p in PARTS}
    return result_from(res, parts)
