"""AI spin-up vs the conventional routes, in simulated years to CLM5's criterion: runs the
demo (the shipped model on an unseen 1 deg world: early run, `elmai spinup`, one forcing
cycle, `elmai refine`, verification, native and AD spin-ups of 500 of its gridcells) and
reads its summary. The AI route's years count the early run, the cycle before the refine
and the verification cycle."""

from __future__ import annotations

import json

from benchmarks.common import RESULTS, BenchResult, Figure
from elmai.apps import demo


def run(quick: bool = False) -> BenchResult:
    out = RESULTS / "data" / "demo"
    args = ["--out", str(out)]
    if quick:
        args += [
            "--resolution",
            "10",
            "--years",
            "4",
            "--forcing-years",
            "2",
            "--reference-sample",
            "40",
            "--reference-max-years",
            "100",
        ]
    demo.main(args)
    s = json.loads((out / "summary.json").read_text())
    y = s["years_to_equilibrium"]
    figures = []
    if y["ai"] is not None:  # otherwise the context says how far from the criterion it ended
        for route in ("native", "ad"):
            if y[route] is not None:
                figures.append(
                    Figure(
                        f"AI route years vs {route} (years, not s)",
                        y["ai"],
                        f"{route} spin-up years",
                        y[route],
                        "<= 0.025" if route == "native" else "<= 1",
                    )
                )
    e = s["transfer"]
    context = {
        "years_to_equilibrium": y,
        "AI criterion met": y["ai"] is not None,
        "drifting_fraction_ai_alone": e["drifting_fraction_ai_alone"],
        "drifting_fraction_refined": e["drifting_fraction_refined"],
        "balance_failures": s["balance_failures"],
        "lowest R2": min(e["r2"].values()),
        "world": f"{s['resolution_deg']:g} deg, {s['gridcells']:,} gridcells, never seen in training",
    }
    return BenchResult(
        "ai_spinup", "simulated years to the CLM5 criterion: AI vs native vs AD", figures, context
    )
