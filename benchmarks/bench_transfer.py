"""Transfer to worlds the model never saw (issue 18): the shipped model (four 2 deg source
worlds) zero-shot on an unseen 1 deg and 0.5 deg world, fine-tuned on 1/5/20% of the
1 deg world's gridcells, a model trained on that world (upper bound), and zero-shot on a
world with a decomposition parameter set it never saw. Writes bench-results/transfer.json
with one entry per setting (elmai.apps.transfer.protocol); the work folder keeps worlds and
finished settings, so a second run only does what is missing (delete it to start over).

Figures are gridcell-years (not seconds): the AI route's against AD + native on the same
world, and the peak memory of the 0.5 deg setting against a 16 GB budget."""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import RESULTS, BenchResult, Figure
from elmai import pretrained
from elmai.apps.transfer.protocol import SETTINGS, run_transfer, source_options
from elmai.apps.transfer.worlds import WorldSpec


def run(quick: bool = False) -> BenchResult:
    out = RESULTS / "data" / ("transfer_quick" if quick else "transfer")
    opts = source_options(out, keep_files=False)  # the shipped model
    model, card = opts.model, pretrained.load_card()
    settings = list(SETTINGS)
    if quick:  # small worlds, short runs: checks the benchmark runs, not the figures
        opts.early_years, opts.forcing_years, opts.reference_max_years = 4, 2, 40
        opts.finetune_epochs = opts.full_epochs = 2
        opts.reference_sample = 40
        opts.targets = {
            "1deg": WorldSpec("quick_10deg", 10.0, 101),
            "0p5deg": WorldSpec("quick_7p5deg", 7.5, 102),
            "params": WorldSpec("quick_params_10deg", 10.0, 103, params_draw=7),
        }
        settings = ["zero_shot_1deg", "few_shot_5pct", "unseen_params"]
    results = run_transfer(settings, opts)
    figures = []
    for name, e in results.items():
        g = e["gridcell_years"]
        figures.append(
            Figure(
                f"{name}: AI route vs AD + native (gridcell-years, not s)",
                g["ai_route"],
                "AD + native gridcell-years",
                g["ad"],
                "<= 0.1" if name == "few_shot_5pct" else "",
                note="" if g["ad_met"] else "AD never met the criterion: a lower bound",
            )
        )
    if results.get("zero_shot_0p5deg", {}).get("peak_rss_gb") is not None:
        figures.append(
            Figure(
                "zero_shot_0p5deg: peak memory (GB, not s)",
                results["zero_shot_0p5deg"]["peak_rss_gb"],
                "budget 16 GB",
                16.0,
                "<= 1",
                reference_kind="budget",
            )
        )
    if not quick:  # the model card carries its transfer figures (key ones per setting)
        keep = (
            "r2",
            "log_ratio_p50",
            "log_ratio_p90",
            "drifting_fraction_ai_alone",
            "drifting_fraction_refined",
            "cells",
            "cells_trained_on",
            "resolution_deg",
            "seed",
        )
        summary = {
            k: {f: e[f] for f in keep} | {"ctsm_all_met": e["ctsm_criteria"].get("all_met", {}).get("met")}
            for k, e in results.items()
        }
        pretrained.write_card(model.parent, model, card["trained_on"], summary, card["rebuild"])
    context = {
        "source model": f"{Path(model).name} ({card['trained_on']['cells']:,} cells of "
        f"{len(card['trained_on']['worlds'])} worlds at {card['trained_on']['resolution_deg']} deg)",
        "forcing cycle (years)": opts.forcing_years,
        "reference sample (gridcells)": opts.reference_sample,
        "settings run": ", ".join(results),
        "incomplete": {k: e["status"] for k, e in results.items() if e.get("status")},
    }
    return BenchResult(
        "transfer",
        "spin-up of unseen worlds: transfer and cost",
        figures,
        context,
        extra={"settings": results},
    )
