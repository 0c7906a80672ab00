"""`elmai testbed verify RESTART --years N`: continue a run from a restart (the testbed's,
or one elmai rewrote, e.g. an AI spin-up restart) in the same world and report, year by
year, global NEE and CLM5's equilibrium criterion, as a table and a PNG."""

from __future__ import annotations

import os
from pathlib import Path

from elmai.apps.testbed.restart import read_setup
from elmai.apps.testbed.run import CRITERION_AREA, RunResult, run_testbed


def verify(
    restart: str | os.PathLike[str],
    years: int,
    out: str | os.PathLike[str],
    progress: bool = True,
    restart_years: tuple[int, ...] = (),
    history: bool = True,
) -> RunResult:
    """Continue `years` from `restart` in its world (resolution, seed, forcing, layout,
    warming and parameters from its testbed_* attributes); also write restarts at the
    start of each of `restart_years` (e.g. one forcing cycle on, for `elmai refine`), and,
    with `history`, monthly h0 files of every year (the decay rates `elmai refine` reads)."""
    setup = read_setup(restart)
    result = run_testbed(
        out,
        resolution=float(setup["resolution_deg"]),
        years=years,
        forcing_years=int(setup["forcing_years"]),
        case=f"{setup['case']}_verify",
        supplement_nutrients=bool(setup["supplement_nutrients"]),
        spinup="native",  # an AD restart is left as ELM leaves it when it reads one
        start_from=str(restart),
        first_year=int(setup.get("year", 1)),
        seed=int(setup["seed"]),
        progress=progress,
        history_years=years if history else 0,
        restart_years=restart_years,
    )
    plot_verification(result, Path(out) / "verify.png", title=Path(restart).name)
    return result


def plot_verification(result: RunResult, path: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    years = [y.year for y in result.years]
    cycle = result.cycle_years()  # drift over a whole forcing cycle: free of inter-annual noise
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    a.plot(years, [y.nee_pgc for y in result.years], "o-")
    a.axhline(0, color="gray", lw=0.8)
    a.set_xlabel("simulated year")
    a.set_ylabel("global NEE (PgC/yr, > 0 = source)")
    b.plot([y.year for y in cycle], [100 * y.disequilibrium_area for y in cycle], "s-", color="tab:red")
    b.axhline(100 * CRITERION_AREA, color="black", ls="--", lw=1, label="CLM5 criterion (3%)")
    b.set_xlabel("simulated year")
    b.set_ylabel(f"area drifting > 1 gC/m2/yr over {cycle[0].drift_years} yr (%)" if cycle else "")
    b.set_ylim(bottom=0)
    b.legend()
    fig.suptitle(f"verification from {title}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
