"""AI spin-up vs the conventional routes, in simulated years to CLM5's criterion: runs the
demo pipeline (2 deg testbed, training, export, `elmai spinup`, one forcing cycle, `elmai
refine`, verification, native and AD reference spin-ups) and reads its summary. The AI
route's years count the early run, the cycle before the Newton step and the verification."""

from __future__ import annotations

import json

from benchmarks.common import RESULTS, BenchResult, Figure
from elmai import demo


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
            "--epochs",
            "3",
            "--reference-resolution",
            "15",
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
    context = {
        "years_to_equilibrium": y,
        "AI criterion met": y["ai"] is not None,
        "criterion_fraction_ai": s["criterion_fraction"]["ai"],
        "criterion_fraction_ai_prediction_only": s["criterion_fraction"]["ai_prediction_only"],
        "newton_change": s["newton_change"],
        "balance_failures": s["balance_failures"],
        "lowest R2": min(s["r2"].values()),
    }
    return BenchResult(
        "ai_spinup", "simulated years to the CLM5 criterion: AI vs native vs AD", figures, context
    )
