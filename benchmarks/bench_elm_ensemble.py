"""The ELM-run site ensemble (issue 25), where an E3SM checkout is given (ELMAI_E3SM): plan
it once in ELMAI_ELM_ENSEMBLE (default bench-results/data/elm_ensemble) on a 2 deg testbed
world, run it for at most ELMAI_ELM_ENSEMBLE_HOURS (default 1) and report. The ensemble
takes about 15 hours of this machine: each run of the benchmark continues it where the
last one stopped (the manifest), and the report is also written to the committed
results/elm_ensemble.json, from which the docs' figures are generated.

Figures: ELM's wall time per site-year (median over the chunks run, against the 3.5 s the
issue measured on a quiet machine: a budget), and the time left at that pace."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.common import RESULTS, BenchResult, Figure
from elmai.apps.elm_runner import e3sm
from elmai.apps.elm_runner import ensemble as E

PARAMFILE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "elm" / "clm_params_c211124vpft.nc"
)
COMMITTED = Path(__file__).resolve().parents[1] / "results" / "elm_ensemble.json"
BUDGET_S_PER_SITE_YEAR = 3.5  # issue 25, measured once on a quiet machine with 16 sites


class Skipped(BenchResult):
    """No E3SM checkout: say why; the committed results/elm_ensemble.json stays as it is."""

    def save(self) -> Path:
        return RESULTS / f"{self.name}.json"


def run(quick: bool = False) -> BenchResult:
    if not os.environ.get(e3sm.ENV_VAR):
        why = f"skipped: set {e3sm.ENV_VAR} to an E3SM checkout with its submodules"
        return Skipped("elm_ensemble", why, [])
    work = Path(os.environ.get("ELMAI_ELM_ENSEMBLE", RESULTS / "data" / "elm_ensemble")).resolve()
    if not (work / E.MANIFEST).is_file():
        world = work.parent / "elm_ensemble_world"
        if not (world / "spinup_log.json").is_file():
            from elmai.apps.testbed.run import run_testbed

            run_testbed(world, resolution=2.0, years=20, progress=False)
        E.plan_ensemble(work, world, sites=64, held_out=32, group_size=16, paramfile=str(PARAMFILE))
    hours = float(os.environ.get("ELMAI_ELM_ENSEMBLE_HOURS", 0.1 if quick else 1.0))
    E.run_ensemble(work, hours=hours)
    data = E.write_report(work, COMMITTED)
    pace = data["elm_cost"]["s_per_site_year"]
    figures = []
    if pace:
        figures.append(Figure("ELM wall time per site-year (median over chunks)", pace["median"],
                              "budget: 3.5 s measured on a quiet machine", BUDGET_S_PER_SITE_YEAR, "<= 1",
                              reference_kind="budget",
                              note=f"min {pace['min']:.2f}, max {pace['max']:.2f} s; NTASKS 1"))  # fmt: skip
    p = data["progress"]
    context = {
        "sites": p["sites"], "held out": data["held_out_sites"],
        "ELM site-years done / left": f"{p['site_years_done']} / {p['site_years_left']}",
        "hours left at the measured pace": p["hours_left"], "failed stages": "; ".join(p["failed"]) or "none",
    }  # fmt: skip
    about = "ELM teaches and judges: the site ensemble (issue 25)"
    return BenchResult("elm_ensemble", about, figures, context, extra=data)
