"""`make demo`: the AI spin-up of a world the model never saw, as a user would run it.

The shipped pre-trained model (elmai/pretrained: trained on four 2 deg testbed worlds)
spins up an unseen 1 deg world: 20 years from bare ground (the early run, with its h0),
`elmai spinup` (C++ runner, merge, checks), one forcing cycle, `elmai refine`, one more
cycle to verify; the world's matrix equilibrium scores the prediction cell by cell, and
native and AD spin-ups of a random sample of its gridcells give the conventional cost.
Report: summary.json (the transfer block of bench-results/transfer.json for this world),
report.md/.html and PNG plots.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from elmai.apps.transfer.protocol import AD_YEARS, REFERENCE_SAMPLE, TransferOptions, run_transfer, step
from elmai.apps.transfer.worlds import WorldSpec

SETTING = "zero_shot_1deg"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m elmai.apps.demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="demo-output", help="report folder (default demo-output)")
    p.add_argument("--resolution", type=float, default=1.0, help="the unseen world's grid (deg; default 1)")
    p.add_argument("--seed", type=int, default=101, help="the unseen world's seed (default 101)")
    p.add_argument("--years", type=int, default=20, help="early years before the AI restart (default 20)")
    p.add_argument("--forcing-years", type=int, default=20, help="forcing cycle (default 20, ELM's)")
    p.add_argument("--model", help="spin-up model (default: the shipped pre-trained one)")
    p.add_argument("--reference-sample", type=int, default=REFERENCE_SAMPLE,
                   help=f"gridcells of the native/AD spin-ups (default {REFERENCE_SAMPLE})")  # fmt: skip
    p.add_argument("--reference-max-years", type=int, default=6000)
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    from elmai import pretrained

    model = Path(args.model) if args.model else pretrained.default_model()
    card = pretrained.load_card(model.parent) if not args.model else {}
    trained = card.get("trained_on", {})
    if trained:
        step(f"model: {model.name}, trained on {len(trained['worlds'])} worlds at "
             f"{', '.join(f'{r:g}' for r in trained['resolution_deg'])} deg ({trained['cells']:,} cells); "
             "none of them is the world below")  # fmt: skip
    name = f"demo_{args.resolution:g}deg_seed{args.seed}".replace(".", "p")
    world = WorldSpec(name, args.resolution, args.seed)
    opts = TransferOptions(
        out=out,
        model=model,
        checkpoint=None,
        early_years=args.years,
        forcing_years=args.forcing_years,
        reference_max_years=args.reference_max_years,
        reference_sample=args.reference_sample,
        source_cells=int(trained.get("cells", 0)),
        targets={"1deg": world},
    )
    (out / "transfer.json").unlink(missing_ok=True)  # the demo always runs
    entry = run_transfer([SETTING], opts)[SETTING]
    plots = [scatter_plot(out, world.name, model)]
    plots += [f"{SETTING}/verify_ai/verify.png", f"{SETTING}/verify_refined/verify.png"]
    summary = demo_summary(entry, args, trained, plots, time.perf_counter() - t_start)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    write_report(out, summary)
    step(f"report: {out / 'report.md'} (+ report.html, summary.json); done in {summary['elapsed_s']} s")
    return 0


def demo_summary(
    entry: dict, args: argparse.Namespace, trained: dict, plots: list[str], elapsed: float
) -> dict:
    n = args.forcing_years
    refs = entry["reference_years"]
    met = entry["ctsm_criteria"]["area_drifting"]["met"]
    ai_met = entry["ctsm_criteria_ai_alone"]["area_drifting"]["met"]
    return {
        "transfer": entry,
        "world": entry["target_world"],
        "resolution_deg": entry["resolution_deg"],
        "gridcells": entry["cells"],
        "model_trained_on": {k: trained.get(k) for k in ("resolution_deg", "cells", "warming_k")}
        | {"worlds": [w["name"] for w in trained.get("worlds", [])]},
        "years_to_equilibrium": {  # simulated years per gridcell until the criterion holds
            "ai": args.years + n + n if met else None,
            "ai_prediction_only": args.years + n if ai_met else None,
            "native": refs["native"],
            "ad": refs["ad"],
        },
        "early_years": args.years,
        "forcing_years": n,
        "reference_sample_cells": refs["sample_cells"],
        "ad_years": AD_YEARS,
        "balance_failures": entry["balance_failures"],
        "checks_ok": entry["checks_ok"],
        "plots": plots,
        "elapsed_s": round(elapsed, 1),
    }


def scatter_plot(out: Path, world: str, model_file: Path) -> str:
    """Predicted against true equilibrium column totals, one point per gridcell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from elmai.apps.transfer.metrics import column_totals
    from elmai.data.dataset import load
    from elmai.data.features import PFT_PARAMETERS
    from elmai.training.evaluate import predict

    data = load(out / "worlds" / world / "dataset.nc")
    a = data.arrays
    model = torch.jit.load(str(model_file), map_location="cpu").eval()
    pft, soil = predict(model, a)
    sla = np.asarray(a["traits"])[:, PFT_PARAMETERS.index("slatop")]
    pred = column_totals(pft, soil, a["pft_weight"], sla)
    true = column_totals(a["pft_target"], a["soil_target"], a["pft_weight"], sla)
    names = ("soil4c_vr", "soil3c_vr", "cwdc_vr", "deadstemc")
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.8))
    for ax, name in zip(axes, names, strict=True):
        t, q = true[name], pred[name]
        held = t > 1.0
        ax.loglog(t[held], q[held], ".", ms=2, alpha=0.4)
        lo, hi = t[held].min(), t[held].max()
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.set_title(f"{name} (gC/m2 of column)")
        ax.set_xlabel("matrix equilibrium")
    axes[0].set_ylabel("AI prediction (unseen world)")
    fig.tight_layout()
    path = out / "scatter_unseen.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def write_report(out: Path, s: dict) -> None:
    from elmai.apps.transfer.report import transfer_table

    e = s["transfer"]
    lines = [
        "# elmai demo: AI spin-up of a world the model never saw",
        "",
        f"Testbed world at {s['resolution_deg']:g} deg, seed {e['seed']} ({s['gridcells']:,} gridcells); the "
        f"shipped model was trained on {len(s['model_trained_on']['worlds'])} other worlds at "
        f"{', '.join(f'{r:g}' for r in s['model_trained_on']['resolution_deg'] or [])} deg. "
        f"{s['early_years']} early years, forcing cycle {s['forcing_years']} years. Balance failures "
        f"(C, N, P every step): {s['balance_failures']}. Static checks of the AI restarts: "
        f"{'OK' if s['checks_ok'] else 'FAILED'}.",
        "",
        transfer_table({"this world (zero-shot)": e}),
        "",
        "Global NEE over the verification cycle: AI alone "
        f"{e['nee_pgc_ai_alone']:+.3f} PgC/yr, AI + cycle + refine {e['nee_pgc_refined']:+.3f} PgC/yr.",
        "",
        "![prediction against the matrix equilibrium](scatter_unseen.png)",
        "",
        f"![verification from the AI restart]({s['plots'][1]})",
        "",
        f"![verification from the refined restart]({s['plots'][2]})",
    ]
    (out / "report.md").write_text("\n".join(lines))
    html = ["<html><head><meta charset='utf-8'><title>elmai demo</title></head><body>"]
    for line in "\n".join(lines).splitlines():
        if line.startswith("# "):
            html.append(f"<h1>{line[2:]}</h1>")
        elif line.startswith("!["):
            html.append(f"<p><img src='{line[line.index('(') + 1 : -1]}' style='max-width:100%'></p>")
        elif line.startswith("|"):
            if set(line) <= set("|- "):
                continue
            cells = "".join(f"<td>{c.strip()}</td>" for c in line.strip("|").split(" | "))
            html.append(f"<table border=1><tr>{cells}</tr></table>")
        elif line:
            html.append(f"<p>{line}</p>")
    html.append("</body></html>")
    (out / "report.html").write_text("\n".join(html))


if __name__ == "__main__":
    sys.exit(main())
