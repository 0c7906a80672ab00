"""The semi-analytic (matrix) equilibrium of the testbed: the ground truth of spin-up.

With supplemental nutrients (ELM's suplnitro/suplphos) the only nonlinear pools are leaf
and fine-root C (light interception). They reach their periodic state in a few decades;
the model then runs one more forcing cycle and records what its step used (decay
fractions, growth, litter inputs, mortality). Every other pool then obeys a linear
periodic recurrence x[m+1] = a[m] x[m] + b[m], and because the CTC cascade is triangular
(donors precede receivers), the periodic steady state is solved in closed form pool by
pool: live wood, dead wood, CWD, litter, soil1 .. soil4. Vertical mixing couples the
levels of a pool (x[m+1] = M (a[m] x[m] + b[m])): one small linear solve per gridcell.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from elmai.apps.testbed.climate import DAYS_IN_MONTH, Climate
from elmai.apps.testbed.dynamics import CWD, TRANSITIONS, Model, State
from elmai.errors import InvalidArgumentError, RunError
from elmai.io.elm_structure import CASCADE

LITTER = [CASCADE.index(p) for p in CASCADE.of_kind("litter")]
# each soil pool with the pools that feed it, in cascade order (a donor is solved first)
SOIL_FEEDS = [
    (CASCADE.index(k), tuple(CASCADE.index(d) for d in CASCADE.donors_of(k))) for k in CASCADE.of_kind("soil")
]


def periodic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Start-of-month values (L, ...) of x[m+1] = a[m] x[m] + b[m] with x[L] = x[0]."""
    x = np.zeros_like(b[0])
    growth = np.ones_like(b[0])
    for m in range(len(b)):
        x = a[m] * x + b[m]
        growth = growth * a[m]
    x0 = np.divide(x, 1.0 - growth, out=np.zeros_like(x), where=growth < 1.0)
    out = np.empty_like(b)
    x = x0
    for m in range(len(b)):
        out[m] = x
        x = a[m] * x + b[m]
    return out


def cycle_map(a: np.ndarray, mix: list[np.ndarray]) -> np.ndarray:
    """(ngrid, nlev, nlev) product over a cycle of the monthly maps x -> mix[m] (a[m] x):
    the part of periodic_mixed shared by a pool's C, N and P (same decay, same mixing)."""
    ngrid, nlev = a.shape[1:]
    prod = np.broadcast_to(np.eye(nlev), (ngrid, nlev, nlev)).copy()
    for m in range(len(a)):
        prod = np.matmul(mix[m], a[m][:, :, None] * prod)
    return prod


def periodic_mixed(
    a: np.ndarray, b: np.ndarray, mix: list[np.ndarray], prod: np.ndarray | None = None
) -> np.ndarray:
    """Start-of-month values (L, ngrid, nlev) of x[m+1] = mix[m] (a[m] x[m] + b[m]) with
    x[L] = x[0]: decay and inputs level by level, then vertical mixing (nlev x nlev).
    With P the cycle's map (`cycle_map`) and c the image of zero, x[0] = (I - P)^-1 c:
    one small linear solve per gridcell."""
    if prod is None:
        prod = cycle_map(a, mix)
    nlev = b.shape[2]
    x = np.zeros(b.shape[1:])
    for m in range(len(b)):
        x = (a[m] * x + b[m]) @ mix[m].T
    x0 = np.linalg.solve(np.eye(nlev)[None] - prod, x[:, :, None])[:, :, 0]
    out = np.empty_like(b)
    x = x0
    for m in range(len(b)):
        out[m] = x
        x = (a[m] * x + b[m]) @ mix[m].T
    return out


def record_cycle(model: Model, climate: Climate, state: State, first_year: int = 0) -> list[dict]:
    """Run one forcing cycle from `state` (in place), recording every month."""
    records = []
    for year in range(first_year, first_year + climate.nyears):
        for month in range(12):
            rec: dict = {}
            model.step(state, climate.month(year, month), DAYS_IN_MONTH[month] * 86400.0, record=rec)
            records.append(rec)
    return records


def solve_equilibrium(
    model: Model, climate: Climate, state: State, fast_years: int = 30, chunk: int = 3000
) -> State:
    """The periodic steady state at the start of a forcing cycle, from `state` after
    `fast_years` years of spin-up of the fast pools (a multiple of the cycle is best).
    Gridcells do not interact, so they are solved `chunk` at a time (the recorded cycle
    takes ~1 GB per 1,000 gridcells with a 20-year forcing), on every core."""
    ngrid = state.sminn.size
    if ngrid <= chunk:
        return _solve(model, climate, state, fast_years)
    parts = [slice(start, min(start + chunk, ngrid)) for start in range(0, ngrid, chunk)]
    jobs = [(model.cells(i), climate.cells(i), state.cells(i), fast_years) for i in parts]
    out = state.copy()
    workers = min(len(parts), os.cpu_count() or 1)
    if workers > 1:  # chunks are independent: one process per core
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            solved = list(pool.map(_solve_job, jobs))
    else:
        solved = [_solve_job(job) for job in jobs]
    for i, part in zip(parts, solved, strict=True):
        out.put(i, part)
    return out


def _solve_job(job: tuple) -> State:
    return _solve(*job)


def _solve(model: Model, climate: Climate, state: State, fast_years: int) -> State:
    if not model.supplement:
        raise InvalidArgumentError(
            "the matrix equilibrium needs supplement_nutrients=True (nutrient limits are nonlinear)"
        )
    s = state.copy()
    years = fast_years - fast_years % climate.nyears  # start the cycle on forcing year 0
    model.advance(s, climate, 0, years)
    start = s.copy()
    recs = record_cycle(model, climate, s, first_year=years)
    if min(float(np.min(r["fpi"])) for r in recs) < 1.0 - 1e-12:
        raise RunError("immobilisation was nutrient-limited during the recorded cycle: not linear")
    stack = {k: np.stack([r[k] for r in recs]) for k in recs[0] if k != "fpi" and np.ndim(recs[0][k]) > 0}
    scalar = {k: np.array([r[k] for r in recs]) for k in ("mort", "to_dead", "dead_mort")}
    w = model.wtcol[None]  # (1, ngrid, NATPFT)

    def per_month(x: np.ndarray, ndim: int) -> np.ndarray:
        return x.reshape((-1,) + (1,) * ndim)

    eq = start.copy()
    mort, to_dead, dmort = (per_month(scalar[k], 2) for k in ("mort", "to_dead", "dead_mort"))
    g = stack["growth"]  # (L, 6, ngrid, NATPFT)
    cwd_in = {e: 0.0 for e in "cnp"}
    for live, dead in ((2, 3), (4, 5)):
        keep = (1 - mort) * (1 - to_dead)
        live_x = periodic(np.broadcast_to(keep, g[:, live].shape), g[:, live] * keep)
        moved = (live_x + g[:, live]) * (1 - mort) * to_dead
        dead_x = periodic(np.broadcast_to(1 - dmort, g[:, dead].shape), g[:, dead] * (1 - dmort) + moved)
        eq.veg_c[live], eq.veg_c[dead] = live_x[0], dead_x[0]
        for x, i, rate in ((live_x, live, mort), (dead_x, dead, dmort)):
            lost = (x + g[:, i]) * rate * w  # wood mortality feeds CWD, per m2 of column
            cwd_in["c"] = cwd_in["c"] + lost.sum(axis=2)
            cwd_in["n"] = cwd_in["n"] + (lost / model.cn[i][None, None, :]).sum(axis=2)
            cwd_in["p"] = cwd_in["p"] + (lost / model.cp[i][None, None, :]).sum(axis=2)

    frac = stack["frac"]  # (L, 8, ngrid, nlev)
    ctc = model.params.ctc
    rf = {donor: (1.0 if name is None else ctc[name]) for donor, _, name in TRANSITIONS}
    surface, roots = model.surface_profile[None, None, :], model.root_profile[None, None, :]
    mix = [model.mixing_step(DAYS_IN_MONTH[m % 12] * 86400.0) for m in range(frac.shape[0])]
    pools: dict[tuple[int, str], np.ndarray] = {}
    maps = {k: cycle_map(1 - frac[:, k], mix) for k in range(len(CASCADE.pools)) if k != CWD}
    # the share of CWD fragmentation each litter pool receives (0 for the labile one)
    fragment = {CASCADE.index(pool): ctc[share] for pool, share in CASCADE.fragmentation}
    for e in "cnp":
        cwd = periodic(1 - frac[:, CWD], cwd_in[e][:, :, None] * surface[0])
        pools[(CWD, e)] = cwd
        for k, extra in ((k, fragment.get(k, 0.0)) for k in LITTER):
            litter = (
                stack[f"litter_{e}"][:, k][:, :, None] * surface[0]
                + stack[f"root_{e}"][:, k][:, :, None] * roots[0]
            )
            pools[(k, e)] = periodic_mixed(1 - frac[:, k], litter + extra * frac[:, CWD] * cwd, mix, maps[k])
    soil_ratio = {"c": np.ones(len(CASCADE.pools)), "n": model.soil_cn, "p": model.soil_cp}
    for k, donors in SOIL_FEEDS:
        gains_c = sum((1 - rf[d]) * frac[:, d] * pools[(d, "c")] for d in donors)
        pools[(k, "c")] = periodic_mixed(1 - frac[:, k], gains_c, mix, maps[k])
        pools[(k, "n")] = pools[(k, "c")] / soil_ratio["n"][k]
        pools[(k, "p")] = pools[(k, "c")] / soil_ratio["p"][k]
    for (k, e), x in pools.items():
        {"c": eq.soil_c, "n": eq.soil_n, "p": eq.soil_p}[e][k] = x[0]
    return eq
