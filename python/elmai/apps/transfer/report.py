"""The transfer and cost tables (markdown), from the protocol's entries: the same text in
`elmai transfer`'s output, the demo's report and the README (tools/docs_figures.py)."""

from __future__ import annotations

from typing import Any

from elmai.markdown import table

# the targets a land modeller looks at first: slow soil, wood, litter, leaves
KEY_TARGETS = ("soil4c_vr", "soil3c_vr", "cwdc_vr", "deadstemc", "tlai")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


def _lowest_r2(e: dict[str, Any]) -> str:
    name, v = min(e["r2"].items(), key=lambda kv: kv[1] if kv[1] == kv[1] else -1e9)
    return f"{v:.3f} ({name})"


def transfer_rows(results: dict[str, dict[str, Any]]) -> list[str]:
    head = [
        "setting",
        "target world",
        "cells (trained on)",
        "lowest R2",
        *[f"p50 / p90 \\|log ratio\\| {t}" for t in KEY_TARGETS[:3]],
        "drifting: AI alone",
        "AI + cycle + refine",
        "CTSM criteria met (refined)",
    ]
    rows = []
    for name, e in results.items():
        crit = e.get("ctsm_criteria", {})
        met = [k for k, v in crit.items() if k != "all_met" and v.get("met")]
        failed = [k for k, v in crit.items() if k != "all_met" and v.get("met") is False]
        verdict = "all" if crit.get("all_met", {}).get("met") else f"{len(met)}/{len(met) + len(failed)}"
        if failed:
            verdict += " (missed: " + ", ".join(failed) + ")"
        if not crit:
            verdict = "not run"
        if e.get("status"):
            name = f"{name} ({e['status'].split(':')[0]})"
        ratios = [
            f"{_num(e['log_ratio_p50'].get(t))} / {_num(e['log_ratio_p90'].get(t))}" for t in KEY_TARGETS[:3]
        ]
        world = f"{e['resolution_deg']:g} deg, seed {e['seed']}"
        if e.get("target_world", {}).get("params_draw") is not None:
            world += f", parameter draw {e['target_world']['params_draw']}"
        row = [
            name,
            world,
            f"{e['cells']:,} ({e['cells_trained_on']:,})",
            _lowest_r2(e),
            *ratios,
            _pct(e["drifting_fraction_ai_alone"]),
            _pct(e["drifting_fraction_refined"]),
            verdict,
        ]
        rows.append(row)
    return table(head, rows)


def cost_rows(results: dict[str, dict[str, Any]]) -> list[str]:
    head = [
        "setting",
        "AI route (simulation + training targets)",
        "native",
        "AD + native",
        "AD+native / AI route",
        "source worlds' targets (amortised, zero-shot)",
    ]
    rows = []
    for name, e in results.items():
        g = e["gridcell_years"]
        native = f"{g['native']:,}" + ("" if g["native_met"] else " (not met: lower bound)")
        ad = f"{g['ad']:,}" + ("" if g["ad_met"] else " (not met: lower bound)")
        amortised = f"{g['source_training_targets_amortised']:,}" if e["cells_trained_on"] == 0 else "-"
        row = [
            name,
            f"{g['ai_route']:,} ({g['ai_route_simulation']:,} + {g['training_targets']:,})",
            native,
            ad,
            f"{g['ad'] / g['ai_route']:.1f}x",
            amortised,
        ]
        rows.append(row)
    return table(head, rows)


def transfer_table(results: dict[str, dict[str, Any]]) -> str:
    refs = next(iter(results.values()), {}).get("reference_years", {})
    note = (
        f"Gridcell-years simulated on each target world. Native and AD (+ native) years to the criterion "
        f"come from a random sample of {refs.get('sample_cells', '?')} of the world's gridcells "
        f"({refs.get('ad_years', '?')} AD years); the AI route counts the early run, the cycle before "
        "`elmai refine` and the verification cycle (+1 year), and, for few-shot and full-train, the "
        "trained-on cells' AD + native spin-up."
    )
    return "\n".join(
        [
            "Transfer (scores on cells the model did not train on):",
            "",
            *transfer_rows(results),
            "",
            note,
            "",
            *cost_rows(results),
        ]
    )
