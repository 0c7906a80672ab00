"""Real ELM in the loop (issue 21), where an E3SM checkout is given (ELMAI_E3SM): build ELM
for a CPL_BYPASS site case written by `elmai elm case` from a 2 deg testbed world, then
let ELM run both routes (elmai.apps.elm_runner.loop): its own AD + native spin-up, and the AI route
(early ELM run, `elmai spinup` with the shipped model, one ELM cycle, `elmai refine`,
ELM verification). Every ELM run fails on a balance-check error or endrun in ELM's log.

Without ELMAI_E3SM the benchmark is skipped and an earlier bench-results/elm_loop.json is
kept. The work folder (ELMAI_ELM_LOOP_WORK, default bench-results/data/elm_loop) keeps the
builds and finished runs, so a second run resumes; delete it to start over.
Sizes: ELMAI_ELM_LOOP_SITES (2), ELMAI_ELM_LOOP_AD (100 AD years), ELMAI_ELM_LOOP_NATIVE
(40 native years)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from benchmarks.common import RESULTS, BenchResult, Figure
from elmai.apps.elm_runner import e3sm, loop

PARAMFILE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "elm" / "clm_params_c211124vpft.nc"
)
BUDGET_BUILD_S = 45 * 60.0


class Skipped(BenchResult):
    """No E3SM checkout: print why, keep the JSON of the last real run."""

    def save(self) -> Path:
        return RESULTS / f"{self.name}.json"


def _case(work: Path, world: Path, name: str, sites: int, ad: bool) -> Path:
    from elmai.apps.elm_runner.case_inputs import CaseOptions, write_case

    out = work / name
    if not (out / "inputs.json").is_file():
        write_case(
            CaseOptions(world=str(world), out=str(out), sites=sites, paramfile=str(PARAMFILE), ad_spinup=ad)
        )
    return out


def _build(e3sm_root: str, out: Path) -> float:
    """Build once; the wall time of a build is kept beside it (build.json)."""
    record = out / "build.json"
    if record.is_file():
        return float(json.loads(record.read_text())["wall_s"])
    t0 = time.time()
    e3sm.build(e3sm_root, out)
    wall = time.time() - t0
    loop.write_json(record, {"wall_s": wall})
    return wall


def run(quick: bool = False) -> BenchResult:
    root = os.environ.get(e3sm.ENV_VAR)
    if not root:
        return Skipped("elm_loop", f"skipped: set {e3sm.ENV_VAR} to an E3SM checkout with its submodules", [])
    work = Path(os.environ.get("ELMAI_ELM_LOOP_WORK", RESULTS / "data" / "elm_loop")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    sites = int(os.environ.get("ELMAI_ELM_LOOP_SITES", 2))
    opts = loop.LoopOptions(
        ad_years=int(os.environ.get("ELMAI_ELM_LOOP_AD", 4 if quick else 100)),
        native_years=int(os.environ.get("ELMAI_ELM_LOOP_NATIVE", 3 if quick else 40)),
        early_years=2 if quick else 20,
        cycle=2 if quick else 20,
    )
    world = work / "world"
    if not (world / "spinup_log.json").is_file():
        from elmai.apps.testbed.run import run_testbed

        run_testbed(world, resolution=2.0, years=opts.early_years, progress=False)
    spin = _case(work, world, "spin", sites, ad=True)
    ai = _case(work, world, "ai", sites, ad=False)
    build_s = _build(root, spin)
    _build(root, ai)
    elm = loop.elm_route(spin, opts)
    air = loop.ai_route(ai, opts)
    result = {"options": opts.__dict__, "sites": json.loads((ai / "inputs.json").read_text())["sites"],
              "build_s": build_s, "elm_route": elm, "ai_route": air}  # fmt: skip
    loop.write_json(work / "loop.json", result)

    elm_years = opts.ad_years + opts.native_years
    ai_years = opts.early_years + 2 * (opts.cycle + 1)
    elm_wall = sum(p["wall_s"] for p in elm["phases"])
    ai_wall = sum(p["wall_s"] for p in air["phases"]) + sum(air["elmai_s"].values())
    failures = sum(len(p["problems"]) for p in air["phases"])
    figures = [
        Figure("ELM build (elmai elm build: create_newcase, case.setup, case.build)", build_s,
               "budget 45 min", BUDGET_BUILD_S, "<= 1", reference_kind="budget"),
        Figure("AI route vs ELM AD + native: simulated years per site (years, not s)", ai_years,
               "ELM AD + native years", elm_years, "", note="the ELM spin-up is a fixed length here"),
        Figure("AI route vs ELM AD + native: wall time", ai_wall, "ELM AD + native", elm_wall),
    ]  # fmt: skip
    drift_ai = air["metrics_refined"].get("drift_TOTECOSYSC", [])
    drift_elm = elm["metrics"].get("drift_TOTECOSYSC", [])
    for k, (a, e) in enumerate(zip(drift_ai, drift_elm, strict=False)):
        figures.append(Figure(f"site {k + 1}: |TOTECOSYSC drift| after AI + refine (gC/m2/yr, not s)", abs(a),
                              "budget 1 gC/m2/yr", 1.0, "<= 1", reference_kind="budget",
                              note=f"ELM's own spin-up: {e:+.2f}"))  # fmt: skip
    context = {
        "sites": ", ".join(f"{s['site']}: lat {s['lat']:g} lon {s['lon']:g}" for s in result["sites"]),
        "ELM balance-check failures from the AI restart": failures,
        "ELM spin-up": f"{opts.ad_years} AD + {opts.native_years} native years",
        "AI route": f"{opts.early_years} early + {opts.cycle + 1} cycle + {opts.cycle + 1} verify years",
    }
    return BenchResult(
        "elm_loop", "real ELM judges the AI restart (issue 21)", figures, context, extra=result
    )
