"""`make demo`: the AI spin-up end to end on the embedded default data (the testbed).

testbed case (20 years from bare ground + its matrix equilibrium) -> data set (mpirun)
-> training (mpirun, DDP) -> evaluation on held-out cells -> TorchScript export -> AI
spin-up through the C++ runner (`elmai spinup`) -> one forcing cycle from the AI restart
-> Newton step of the slow pools (`elmai refine`) -> verification by continuing the run
-> comparison with the native and AD spin-ups -> report (summary.json, report.md/.html,
PNG plots).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from elmai.config_file import read_yaml
from elmai.testbed.reference_spinups import SpinupCurve, reference_spinup
from elmai.testbed.run import CRITERION_AREA, RunResult, run_testbed
from elmai.testbed.verify import verify

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "spinup_2deg.yaml"


def step(msg: str) -> None:
    print(f"[elmai demo] {msg}", flush=True)


def launch(ranks: int, *args: str) -> None:
    """`mpirun -n ranks elmai ...` (in-process launch of the same CLI when MPI is missing)."""
    from elmai.training.distributed import mpirun_command

    if ranks > 1 and shutil.which("mpirun"):
        cmd, env = mpirun_command(ranks, *args)
    else:
        env, cmd = dict(os.environ), [str(Path(sys.executable).with_name("elmai")), *args]
    subprocess.run(cmd, check=True, env=env)


def ai_years_to_criterion(years_before: int, v: RunResult) -> int | None:
    """Simulated years from bare ground until the run from an AI restart meets the criterion
    (`years_before`: those simulated before that restart)."""
    met = v.first_year_meeting_criterion()
    return None if met is None else years_before + (met - v.years[0].year + 1)


def plot_spinups(out: Path, ai_runs: list[tuple[str, int, RunResult]], curves: dict[str, SpinupCurve]) -> str:
    """NEE and the criterion against simulated years: the reference spin-ups' curves and the
    runs from the AI restarts, each (label, years simulated before it, run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4))
    for name, c in curves.items():
        a.plot(c.years, c.nee_pgc, lw=1, label=f"{name} ({c.resolution:g} deg)")
        pts = [(y, f) for y, f in zip(c.years, c.area_off, strict=True) if f is not None]
        if pts:
            b.plot(*zip(*pts, strict=True), lw=1, label=f"{name} ({c.resolution:g} deg)")
    for (label, before, run), marker in zip(ai_runs, "so", strict=False):
        a.plot([before + i + 1 for i in range(len(run.years))], [y.nee_pgc for y in run.years],
               f"{marker}-", ms=3, color="k", label=label)  # fmt: skip
        cyc = run.cycle_years()
        b.plot([before + (y.year - run.years[0].year + 1) for y in cyc], [y.disequilibrium_area for y in cyc],
               marker, color="k", label=label)  # fmt: skip
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_xlabel("simulated years from bare ground")
    a.axhline(0, color="gray", lw=0.8)
    a.set_ylabel("global NEE (PgC/yr, > 0 = source)")
    b.axhline(CRITERION_AREA, color="k", ls="--", lw=1, label="CLM5 criterion (3%)")
    b.set_ylabel("land area drifting > 1 gC/m2/yr over a cycle")
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    fig.tight_layout()
    path = out / "spinup_comparison.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m elmai.demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="demo-output", help="report folder (default demo-output)")
    p.add_argument("--resolution", type=float, default=2.0, help="testbed grid, degrees (default 2)")
    p.add_argument("--years", type=int, default=20, help="early spin-up years (default 20)")
    p.add_argument("--forcing-years", type=int, default=10, help="recycled forcing period (default 10)")
    p.add_argument("--ranks", type=int, default=2, help="MPI ranks for the data set and training (default 2)")
    p.add_argument("--epochs", type=int, help="training epochs (default: the config's)")
    p.add_argument(
        "--reference-resolution",
        type=float,
        default=10.0,
        help="grid of the native/AD reference spin-ups (default 10 deg: they take thousands of years)",
    )
    p.add_argument("--reference-max-years", type=int, default=6000)
    p.add_argument("--ad-years", type=int, default=50, help="AD years of the AD reference spin-up")
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    def timed(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    step(
        f"1/9 testbed: {args.years} years from bare ground at {args.resolution:g} deg, and its matrix "
        "equilibrium"
    )
    case = run_testbed(
        out / "case",
        resolution=args.resolution,
        years=args.years,
        forcing_years=args.forcing_years,
        case="demo",
        equilibrium=True,
        history_years=args.forcing_years,  # h0 of the last cycle: the decay rates the model reads
    )
    early = Path(case.restarts[0])
    early_year = args.years + 1
    timed("testbed", t0)

    t0 = time.perf_counter()
    step(f"2/9 data set: one record per gridcell from the case's ELM files (mpirun -n {args.ranks})")
    dataset = out / "dataset.nc"
    launch(
        args.ranks,
        "dataset",
        "build",
        "--run",
        str(out / "case"),
        "--early-year",
        str(early_year),
        "--out",
        str(dataset),
    )
    timed("dataset", t0)

    t0 = time.perf_counter()
    step(f"3/9 training the spin-up transformer (mpirun -n {args.ranks}, DDP)")
    cfg = read_yaml(CONFIG) | {"dataset": str(dataset), "out": str(out / "train")}  # checked again by train
    if args.epochs:
        cfg["epochs"] = args.epochs
    config = out / "train_config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    launch(args.ranks, "train", "--config", str(config), "--overwrite")  # the demo owns its folder
    training = json.loads((out / "train" / "summary.json").read_text())
    timed("training", t0)

    t0 = time.perf_counter()
    step("4/9 evaluation on held-out cells (random split; physical units, real entries only)")
    from elmai.training.evaluate import evaluate
    from elmai.training.export import export

    scores = evaluate(out / "train" / "best.pt", dataset, out=out / "evaluation")
    worst = min(scores["r2"], key=scores["r2"].get)
    step(f"    R2 >= {scores['r2'][worst]:.4f} on every target (lowest: {worst})")
    step("5/9 export to TorchScript + JSON sidecar")
    model = out / "spinup_model.pt"
    export(out / "train" / "best.pt", model)
    timed("evaluate_export", t0)

    t0 = time.perf_counter()
    step("6/9 AI spin-up: `elmai spinup` (C++ runner, merge, static checks)")
    from elmai.spinup import ai_spinup

    ai_file = out / f"demo_ai.elm.r.{early_year:04d}-01-01-00000.nc"
    spun = ai_spinup(early, model, ai_file)
    step(
        f"    {ai_file.name}: checks {'OK' if spun.checks_ok else 'FAILED'}; soil4 "
        f"{spun.totals_pgc['early']['soil4']:.0f} -> {spun.totals_pgc['ai']['soil4']:.0f} PgC"
    )
    timed("ai_spinup", t0)

    t0 = time.perf_counter()
    n = args.forcing_years
    step(f"7/9 one forcing cycle ({n} years) from the AI restart, and from the early one for comparison")
    v_ai = verify(ai_file, n, out / "verify_ai", progress=False)
    v_early = verify(early, n, out / "verify_early", progress=False)
    timed("cycle_from_ai", t0)

    t0 = time.perf_counter()
    step("8/9 Newton step of the slow pools from that cycle (`elmai refine`), and its verification")
    from elmai.spinup.newton import refine_spinup

    refined_file = out / f"demo_ai_refined.elm.r.{early_year:04d}-01-01-00000.nc"
    # the AI restart sits in the demo folder, the case's parameter file in the testbed run's
    params_file = str(early.parent / "clm_params.nc")
    refined = refine_spinup(ai_file, v_ai.restarts[-1], refined_file, params=params_file)
    v_refined = verify(refined_file, n, out / "verify_refined", progress=False)
    frac = v_refined.cycle_years()[-1].disequilibrium_area
    step(f"    {refined_file.name}: checks {'OK' if refined.checks_ok else 'FAILED'}; land drifting > 1 "
         f"gC/m2/yr over the next cycle {100 * frac:.1f}% (AI restart alone "
         f"{100 * v_ai.cycle_years()[-1].disequilibrium_area:.1f}%)")  # fmt: skip
    timed("newton_and_verification", t0)

    t0 = time.perf_counter()
    step(f"9/9 reference spin-ups of the same world at {args.reference_resolution:g} deg: native and AD")
    curves = {
        "native": reference_spinup(
            "native",
            args.reference_resolution,
            args.forcing_years,
            max_years=args.reference_max_years,
            progress=True,
        ),
        "AD": reference_spinup(
            "ad",
            args.reference_resolution,
            args.forcing_years,
            ad_years=args.ad_years,
            max_years=args.reference_max_years,
            progress=True,
        ),
    }
    timed("reference_spinups", t0)

    years = {
        "ai": ai_years_to_criterion(args.years + n, v_refined),
        "ai_prediction_only": ai_years_to_criterion(args.years, v_ai),
        "native": curves["native"].years_to_criterion,
        "ad": curves["AD"].years_to_criterion,
    }
    ai_runs = [("AI restart", args.years, v_ai), ("AI + Newton step", args.years + n, v_refined)]
    plots = [plot_spinups(out, ai_runs, curves)] + [
        f"evaluation/{Path(f).name}" for f in scores.get("plots", [])
    ]
    plots += ["verify_ai/verify.png", "verify_refined/verify.png"]
    summary = {
        "r2": scores["r2"],
        "rmse": scores["rmse"],
        "years_to_equilibrium": years,
        "criterion_fraction": {
            "ai": [y.disequilibrium_area for y in v_refined.years],
            "ai_prediction_only": [y.disequilibrium_area for y in v_ai.years],
            "early": [y.disequilibrium_area for y in v_early.years],
        },
        "criterion_window_years": [y.drift_years for y in v_ai.years],
        "nee_pgc": {
            "ai": [y.nee_pgc for y in v_refined.years],
            "ai_prediction_only": [y.nee_pgc for y in v_ai.years],
            "early": [y.nee_pgc for y in v_early.years],
        },
        "balance_failures": case.balance_failures
        + v_ai.balance_failures
        + v_early.balance_failures
        + v_refined.balance_failures,
        "checks_ok": spun.checks_ok and refined.checks_ok,
        "newton_change": refined.change,
        "pools_pgc": spun.totals_pgc,
        "gridcells": case.ngrid,
        "resolution_deg": args.resolution,
        "reference_resolution_deg": args.reference_resolution,
        "training": training,
        "timings_s": timings,
        "plots": plots,
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    write_report(out, summary, args)
    step(f"report: {out / 'report.md'} (+ report.html, summary.json); done in {summary['elapsed_s']} s")
    return 0


def write_report(out: Path, s: dict, args: argparse.Namespace) -> None:
    y = s["years_to_equilibrium"]
    ai_frac = s["criterion_fraction"]["ai"][-1]
    pred_frac = s["criterion_fraction"]["ai_prediction_only"][-1]
    early_frac = s["criterion_fraction"]["early"][-1]
    nee = {k: sum(v) / len(v) for k, v in s["nee_pgc"].items()}  # over the cycle: free of weather

    def fmt(v: int | None, cap: int) -> str:
        return f"> {cap}" if v is None else str(v)

    rows = "\n".join(f"| {k} | {v:.4f} | {s['rmse'][k]:.4g} |" for k, v in s["r2"].items())
    lines = [
        "# elmai demo: AI spin-up on the testbed",
        "",
        f"Testbed at {s['resolution_deg']:g} deg ({s['gridcells']} gridcells), {args.years} years from bare "
        "ground, "
        f"forcing cycle {args.forcing_years} years; model trained on {s['training']['ranks']} MPI rank(s) in "
        f"{s['training']['train_minutes']:.1f} min. Balance failures (C, N, P every step): "
        f"{s['balance_failures']}. "
        f"AI restart static checks: {'OK' if s['checks_ok'] else 'FAILED'}.",
        "",
        "## Years to equilibrium (CLM5: < 3% of land drifting > 1 gC/m2/yr over a forcing cycle)",
        "",
        "| route | simulated years |",
        "| --- | --- |",
        f"| AI ({args.years} early + {args.forcing_years} cycle, Newton step, verification) | "
        f"{fmt(y['ai'], args.years + 2 * args.forcing_years)} |",
        f"| AI prediction alone ({args.years} early + verification) | "
        f"{fmt(y['ai_prediction_only'], args.years + args.forcing_years)} |",
        f"| native ({s['reference_resolution_deg']:g} deg) | {fmt(y['native'], args.reference_max_years)} |",
        f"| AD ({args.ad_years} AD years + native, {s['reference_resolution_deg']:g} deg) | "
        f"{fmt(y['ad'], args.reference_max_years)} |",
        "",
        f"Over one forcing cycle from the refined AI restart (AI prediction, one cycle, Newton step) "
        f"{100 * ai_frac:.1f}% of land area drifts by more than 1 gC/m2/yr (AI prediction alone: "
        f"{100 * pred_frac:.1f}%; early restart: {100 * early_frac:.1f}%); global NEE over that cycle "
        f"{nee['ai']:+.3f} PgC/yr (AI prediction alone {nee['ai_prediction_only']:+.3f}, early "
        f"{nee['early']:+.2f}).",
        "",
        "![spin-up comparison](spinup_comparison.png)",
        "",
        "## Held-out cells (random split): R2 and RMSE in physical units",
        "",
        "| target | R2 | RMSE |",
        "| --- | --- | --- |",
        rows,
        "",
        "![predicted vs reference](evaluation/scatter.png)",
        "",
        "![soil4 maps](evaluation/maps_soil4c.png)",
        "",
        "![R2 per variable](evaluation/r2.png)",
        "",
        f"Timings (s): {s['timings_s']}",
    ]
    text = "\n".join(lines)
    (out / "report.md").write_text(text)
    html = ["<html><head><meta charset='utf-8'><title>elmai demo</title></head><body>"]
    for line in lines:
        if line.startswith("# "):
            html.append(f"<h1>{line[2:]}</h1>")
        elif line.startswith("## "):
            html.append(f"<h2>{line[3:]}</h2>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1 : -1]
            html.append(f"<p><img src='{src}' style='max-width:100%'></p>")
        elif line.startswith("|"):
            if set(line) <= set("|- "):
                continue
            cells = "".join(f"<td>{c.strip()}</td>" for c in line.strip("|").split("|"))
            html.append(f"<table border=1><tr>{cells}</tr></table>")
        elif line:
            html.append(f"<p>{line}</p>")
    html.append("</body></html>")
    (out / "report.html").write_text("\n".join(html))


if __name__ == "__main__":
    sys.exit(main())
