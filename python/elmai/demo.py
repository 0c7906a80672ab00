"""`make demo`: the main job, end to end, on the embedded default data (the testbed).

What runs today: the testbed spins up from bare ground for 20 years (the early restart an
AI spin-up starts from), the matrix equilibrium gives the state it must reach, the early
restart's slow pools are replaced through elmai's safe writer, the result is checked with
`elmai check` and verified by continuing the run, and a report with plots is written.
The trained model is not built yet (issues: model/training, AI spin-up): until it is, the
matrix solution stands in for its prediction (an oracle), and the report says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import elmai
from elmai.io.soil_levels import DZSOI_DECOMP
from elmai.testbed.run import CRITERION_AREA, run_testbed
from elmai.testbed.verify import verify

# What the oracle supplies: every decomposing pool (deep and cold layers make even litter
# and soil1/soil2 slow) and every vegetation pool (a few percent off in leaves after 20
# years already drifts soil C by more than CLM5's 1 gC/m2/yr).
SOIL_POOLS = ("litr1", "litr2", "litr3", "cwd", "soil1", "soil2", "soil3", "soil4")
VEG_POOLS = ("leaf", "froot", "livestem", "deadstem", "livecroot", "deadcroot")


def step(msg: str) -> None:
    print(f"[elmai demo] {msg}", flush=True)


def predicted_pools(early: Path, target: Path) -> dict[str, np.ndarray]:
    """The pools the AI predicts, taken from the target (the oracle), and the column
    totals recomputed from the pools of the new state so the restart stays consistent."""
    names = [f"{p}{e}_vr" for p in SOIL_POOLS for e in "cnp"] + [f"{p}{e}" for p in VEG_POOLS for e in "cnp"]
    names.append("tlai")  # follows leaf C
    with elmai.open_restart(target) as t:
        updates = {n: t.read(n) for n in names if n in t}
    with elmai.open_restart(early) as r:
        pool = {n: updates.get(n, r.read(n)) if n in r else None for n in r.variables}
        sub = r.subgrid
    stock = {p: pool[f"{p}c_vr"][:, : DZSOI_DECOMP.size] @ DZSOI_DECOMP for p in SOIL_POOLS}
    veg = sum(pool[f"{p}c{s}"] for p in VEG_POOLS for s in ("", "_storage", "_xfer"))
    totvegc = np.bincount(sub.pft_column, weights=veg * sub.pft_weight_column, minlength=stock["soil1"].size)
    updates["totsomc"] = stock["soil1"] + stock["soil2"] + stock["soil3"] + stock["soil4"]
    updates["totlitc"] = stock["litr1"] + stock["litr2"] + stock["litr3"]
    updates["cwdc"] = stock["cwd"]
    updates["totvegc"] = totvegc
    updates["totcolc"] = updates["totsomc"] + updates["totlitc"] + updates["cwdc"] + totvegc
    return updates


def soil4_stock(path: Path) -> np.ndarray:
    with elmai.open_restart(path) as r:
        return r.read("soil4c_vr")[:, : DZSOI_DECOMP.size] @ DZSOI_DECOMP


def plot(out: Path, early: Path, target: Path, curves: dict[str, list[float]], years: list[int]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from elmai.testbed.grid import make_grid
    from elmai.testbed.restart import read_setup

    grid = make_grid(float(read_setup(early)["resolution_deg"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, path, title in (
        (axes[0], early, "early restart (year 21)"),
        (axes[1], target, "equilibrium (matrix)"),
    ):
        stock = grid.to_map(soil4_stock(path) / 1000.0)
        im = ax.imshow(stock, origin="lower", extent=(0, 360, -90, 90), vmin=0, vmax=50, cmap="viridis")
        ax.set_title(f"soil4 C, {title}")
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
    fig.colorbar(im, ax=axes, label="kgC/m2")
    maps = out / "soil4_maps.png"
    fig.savefig(maps, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for label, values in curves.items():
        ax.plot(years, [100 * v for v in values], "o-", label=label)
    ax.axhline(100 * CRITERION_AREA, color="black", ls="--", lw=1, label="CLM5 criterion (3%)")
    ax.set_xlabel("simulated year of the verification run")
    ax.set_ylabel("land area drifting > 1 gC/m2/yr over a cycle (%)")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    crit = out / "criterion.png"
    fig.savefig(crit, dpi=110)
    plt.close(fig)
    return [maps.name, crit.name]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m elmai.demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="demo-output", help="report folder (default demo-output)")
    p.add_argument("--resolution", type=float, default=2.0, help="testbed grid, degrees (default 2)")
    p.add_argument("--years", type=int, default=20, help="early spin-up years (default 20)")
    p.add_argument("--forcing-years", type=int, default=10, help="recycled forcing period (default 10)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    step("status: testbed, checks and restart I/O are built; the trained model is not yet (see README):")
    step("the matrix equilibrium stands in for its prediction (an oracle) to show the pipeline end to end")

    step(f"1/5 testbed: {args.years} years from bare ground at {args.resolution:g} deg (the AI's input)")
    native = run_testbed(
        out / "testbed",
        resolution=args.resolution,
        years=args.years,
        forcing_years=args.forcing_years,
        case="demo",
    )
    early = Path(native.restarts[-1])
    step(f"    {native.ngrid} gridcells; balance failures {native.balance_failures}; restart {early.name}")

    step("2/5 the target: the testbed's matrix (semi-analytic) equilibrium")
    eq = run_testbed(
        out / "equilibrium",
        resolution=args.resolution,
        years=0,
        forcing_years=args.forcing_years,
        case="demo_eq",
        spinup="matrix",
        first_year=args.years + 1,
        progress=False,
    )
    target = Path(eq.restarts[-1])

    step(
        "3/5 the AI spin-up step: soil, litter and vegetation pools into a copy of the early restart (oracle)"
    )
    ai = out / f"demo_ai.elm.r.{args.years + 1:04d}-01-01-00000.nc"
    t0 = time.perf_counter()
    updates = predicted_pools(early, target)
    elmai.write_restart(early, ai, updates, history="elmai demo: pools from the matrix oracle")
    write_s = time.perf_counter() - t0
    report = elmai.check_restart(ai)
    step(f"    written in {write_s:.3f} s; elmai check: {'OK' if report.ok else 'FAILED'}")

    n = 2 * args.forcing_years  # drift is measured over a forcing cycle: two cycles give a curve
    step(f"4/5 verification: {n} more years from the early and from the AI restart")
    v_early = verify(early, n, out / "verify_early", progress=False)
    v_ai = verify(ai, n, out / "verify_ai", progress=False)
    years = [y.year for y in v_ai.cycle_years()]
    curves = {
        "early restart (year 21)": [y.disequilibrium_area for y in v_early.cycle_years()],
        "AI restart (oracle)": [y.disequilibrium_area for y in v_ai.cycle_years()],
    }

    step("5/5 report")
    plots = plot(out, early, target, curves, years)
    total_years = {"ai_route": args.years + args.forcing_years}  # early run + one verification cycle
    summary = {
        "status": "testbed, checks, restart I/O and verification are real; the model prediction is an oracle",
        "gridcells": native.ngrid,
        "early_restart": str(early),
        "ai_restart": str(ai),
        "check_ok": report.ok,
        "criterion_fraction": {
            "early": curves["early restart (year 21)"],
            "ai": curves["AI restart (oracle)"],
        },
        "criterion_met_year_ai": v_ai.first_year_meeting_criterion(),
        "balance_failures": native.balance_failures + v_early.balance_failures + v_ai.balance_failures,
        "simulated_years": total_years,
        "plots": plots,
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    last_early, last_ai = curves["early restart (year 21)"][-1], curves["AI restart (oracle)"][-1]
    lines = [
        "# elmai demo report",
        "",
        f"**Status:** {summary['status']}.",
        "",
        f"Testbed: {native.ngrid} gridcells at {args.resolution:g} deg, {args.years} years from bare ground "
        f"(restart `{early.name}`), forcing cycle {args.forcing_years} years, {summary['balance_failures']} "
        "balance failures (ELM's check on C, N and P every step).",
        "",
        f"AI restart `{ai.name}`: litter, CWD, soil1-4 and vegetation pools (C, N, P) replaced with the "
        f"matrix equilibrium's, column totals recomputed, through `elmai.write_restart` in {write_s:.3f} s; "
        "`elmai check`: "
        f"{'OK' if report.ok else 'FAILED'}.",
        "",
        f"Land area drifting more than 1 gC/m2/yr over a forcing cycle, at the end of verification: early "
        f"restart {100 * last_early:.0f}%, AI restart {100 * last_ai:.0f}% (CLM5 criterion: < 3%).",
        "",
        "![soil4 carbon](soil4_maps.png)",
        "",
        "![criterion](criterion.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    step(f"report: {out / 'report.md'}, {out / 'summary.json'}")
    step(f"done in {summary['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
