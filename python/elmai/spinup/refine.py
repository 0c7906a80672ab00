"""`elmai refine` as stages sharing one `RefineState`: gather (both restarts, the case's
parameters, the start in normal mode), rates (the cycle's decay rates), newton_step (the
equilibrium estimate, newton.py), write_check (merge into a copy of the start, check,
rename) and summarise (drift and stock changes the caller reports)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from elmai.data import features as F
from elmai.errors import ElmaiError
from elmai.io.elm_params import ElmParams
from elmai.io.elm_structure import TISSUES
from elmai.io.history import decomposition_scalars, history_files
from elmai.io.restart import open_restart
from elmai.io.soil_levels import DZSOI_DECOMP, stock
from elmai.spinup.merge import ALL_POOLS, Stoichiometry, ad_inflation
from elmai.spinup.newton import newton_pools
from elmai.spinup.run import _beside, case_params, refuse_overwriting_inputs, write_checked

DEAD_WOOD = TISSUES.dead_wood_index  # the slow PFT pools (indices into features.PFT_POOLS)
CHANGE_GROUPS = {"dead wood": None, "cwd": "cwd", "soil3": "soil3", "soil4": "soil4"}


@dataclass
class RefineResult:
    out: str
    cells: int
    years: float
    checks_ok: bool
    check_table: str
    start_drifting: float  # fraction of gridcells whose carbon moved > 1 gC/m2/yr over the run
    clipped_gc: float  # most carbon the step pushed below zero in one column (gC/m2; set to zero)
    rate_source: str = ""  # where the cycle's decay rates came from
    change: dict[str, dict[str, float]] = field(default_factory=dict)  # relative change of stocks


@dataclass
class RefineState:
    """What the stages of `elmai refine` hand on."""

    start: Path
    end: Path
    out: Path
    years: float
    params: ElmParams
    force: bool = False
    forcing: str | None = None
    history: list[str | os.PathLike[str]] | None = None
    c0: F.CellPools | None = None  # the start as stored
    c1: F.CellPools | None = None  # one forcing cycle later
    normal0: F.CellPools | None = None  # the start as the cycle began from it (out of AD)
    rate: np.ndarray | None = None
    rate_source: str = ""
    pft: np.ndarray | None = None
    soil: np.ndarray | None = None
    clipped_gc: float = 0.0


def normal_mode(cells: F.CellPools, st: Stoichiometry, path: Path) -> F.CellPools:
    """`cells` with normal-mode pools: an AD file's as ELM takes them out of AD on reading
    it (merge.ad_inflation); a normal-mode file's as they are."""
    if cells.spinup_state != 1:
        return cells
    soil_ad, pft_ad = ad_inflation(cells, st, path)
    return dataclasses.replace(cells, pft=cells.pft * pft_ad, soil=cells.soil * soil_ad, spinup_state=0)


def column_carbon(cells: F.CellPools) -> np.ndarray:
    """(ngrid,) gC/m2 of the vegetated column in the pools elmai reads."""
    return (cells.pft.sum(axis=2) * cells.weight).sum(axis=1) + np.einsum(
        "gls,l->g", cells.soil, DZSOI_DECOMP
    )


def _relative_change(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    rel = np.abs(after - before) / np.maximum(np.abs(before), 1e-9)
    rel = rel[before > 1.0]  # gC/m2: relative changes of near-empty stocks say nothing
    return {"median": float(np.median(rel)), "p97": float(np.percentile(rel, 97))} if rel.size else {}


def cycle_rates(
    end: Path,
    c0: F.CellPools,
    c1: F.CellPools,
    params: ElmParams,
    forcing: str | None,
    history: list[str | os.PathLike[str]] | None,
) -> tuple[np.ndarray, str]:
    """Decay rates over the cycle and where they came from: the h0 files of the cycle
    (given, else the *.elm.h0.* beside `end`), else a valid scalaravg_col, else the
    forcing's Q10 estimate (F.decomposition_rates)."""
    files = [Path(h) for h in history] if history is not None else history_files(end.parent)
    env = decomposition_scalars(files, c0.lat, c0.lon) if files else None
    scalaravg = c0.scalaravg if c0.scalaravg is not None else c1.scalaravg
    climate = None
    needs_more = env is None or np.isnan(env).any()
    if needs_more and scalaravg is None:  # cells without h0 scalars: a Q10 estimate of the forcing
        climate = F.read_forcing(_beside(end, "*.datm.forcing.nc", forcing, "forcing"), c0.lat, c0.lon)
    rates = F.decomposition_rates(params, climate, scalaravg, env)
    if env is not None:
        return rates, f"h0 scalars ({len(files)} files)"
    return rates, "scalaravg_col" if scalaravg is not None else "Q10 estimate from the forcing"


def cycle_years(start: Path, end: Path, years: float | None) -> float:
    """The cycle length: given, else the restarts' year difference."""
    if years is None:
        with open_restart(start) as r0, open_restart(end) as r1:
            y0, y1 = r0.year, r1.year
        if y0 is None or y1 is None:
            raise ElmaiError(
                f"'{start}' or '{end}' has no timemgr_rst_curr_ymd: give the cycle length (--years)"
            )
        years = float(y1 - y0)
    if years <= 0:
        raise ElmaiError(f"'{end}' must be later than '{start}' (one forcing cycle; got {years:g} years)")
    return years


def gather(state: RefineState) -> None:
    """Stage 1: both restarts' pools, same grid, the end in native mode; the start as the
    cycle began from it (an AD start: as ELM took its pools out of AD)."""
    c0, c1 = F.read_cell_pools(state.start), F.read_cell_pools(state.end)
    if c1.spinup_state != 0:
        raise ElmaiError(
            f"'{state.end}' is an AD-mode restart (spinup_state {c1.spinup_state}): refine needs the "
            "cycle run in native mode (`elmai elm run --mode native`)"
        )
    if c0.lat.shape != c1.lat.shape or not (np.allclose(c0.lat, c1.lat) and np.allclose(c0.lon, c1.lon)):
        raise ElmaiError(
            f"'{state.start}' and '{state.end}' are not the same grid ({c0.lat.size} vs {c1.lat.size} "
            "gridcells)"
        )
    state.c0, state.c1 = c0, c1
    state.normal0 = normal_mode(c0, Stoichiometry.from_params(state.params), state.start)


def rates(state: RefineState) -> None:
    """Stage 2: the decay rates over the cycle (h0 scalars, scalaravg_col or a Q10 estimate)."""
    assert state.c0 is not None and state.c1 is not None
    state.rate, state.rate_source = cycle_rates(
        state.end, state.c0, state.c1, state.params, state.forcing, state.history
    )


def newton_step(state: RefineState) -> None:
    """Stage 3: the equilibrium estimate of the carbon pools (one solve per column)."""
    assert state.normal0 is not None and state.c1 is not None and state.rate is not None
    state.pft, state.soil, state.clipped_gc = newton_pools(
        state.normal0, state.c1, state.rate, state.params, state.years
    )


def write_check(state: RefineState) -> tuple[bool, str]:
    """Stage 4: merge into a copy of the start (N and P by stoichiometry; an AD start stays in
    AD like the file it copies), check every static rule, rename into place."""
    assert state.c0 is not None and state.pft is not None and state.soil is not None
    note = (
        f"elmai refine: Newton step of the carbon pools from {state.start.name} and {state.end.name} "
        f"({state.years:g} yr)"
    )
    return write_checked(
        state.start, state.out, state.c0, state.pft, state.soil, state.params, note, state.force,
        pools=ALL_POOLS,
    )  # fmt: skip


def summarise(state: RefineState, ok: bool, table: str) -> RefineResult:
    """Stage 5: the start's drift over the cycle and the step's relative change of the slow stocks."""
    assert state.normal0 is not None and state.c1 is not None
    assert state.pft is not None and state.soil is not None
    normal0 = state.normal0
    drift = np.abs(column_carbon(state.c1) - column_carbon(normal0)) / state.years
    change = {}
    for name, pool in CHANGE_GROUPS.items():
        if pool is None:
            change[name] = _relative_change(normal0.pft[..., DEAD_WOOD], state.pft[..., DEAD_WOOD])
        else:
            k = F.SOIL_POOLS.index(pool)
            change[name] = _relative_change(stock(normal0.soil[..., k]), stock(state.soil[..., k]))
    return RefineResult(
        str(state.out), int(normal0.lat.size), state.years, ok, table, float((drift > 1.0).mean()),
        state.clipped_gc, rate_source=state.rate_source, change=change,
    )  # fmt: skip


def refine_spinup(
    start: str | os.PathLike[str],
    end: str | os.PathLike[str],
    out: str | os.PathLike[str],
    years: float | None = None,
    forcing: str | None = None,
    params: str | None = None,
    force: bool = False,
    history: list[str | os.PathLike[str]] | None = None,
) -> RefineResult:
    """Write `out`: a copy of `start` whose carbon pools (N and P by stoichiometry) are the
    Newton estimate of the equilibrium from `start` and `end`, the restart one forcing cycle
    later, in stages: gather, rates, newton_step, write_check, summarise. Checked like
    `elmai spinup`; neither input is modified; nothing is written unless every check passes
    (or `force`)."""
    start, end, out = Path(start), Path(end), Path(out)
    refuse_overwriting_inputs(out, start, end)
    state = RefineState(
        start, end, out, cycle_years(start, end, years), case_params(start, params), force, forcing, history
    )
    gather(state)
    rates(state)
    newton_step(state)
    ok, table = write_check(state)
    return summarise(state, ok, table)
