"""The mathematics of `elmai refine` (its stages are in refine.py): one Newton step of the
slow pools from one forcing cycle run from the AI restart.

The AI restart lands within ~1% of equilibrium, but CLM5's criterion (< 3% of land
drifting by more than 1 gC/m2/yr over a cycle) needs the slow pools to ~0.3%: drift is
error x turnover rate. Near equilibrium the pools relax linearly, so an error e0 at the
start of a forcing cycle is e1 = P e0 at its end, where P = exp(A T) is the cycle map of
the linear carbon cascade (decay at the climatological rates, transfers down the CTC
cascade, CWD fragmentation into litter, bioturbation, live wood -> dead wood -> CWD by
ELM's turnover and mortality). Running one cycle from the AI restart measures
x1 - x0 = (P - I) e0, hence x* = x0 - (P - I)^-1 (x1 - x0): one small solve per column
(Newton-Krylov spin-up, Lindsay 2017, with the Jacobian written down rather than probed).
Fast pools (P ~ 0) take the run's end state; slow ones are extrapolated to where they
are heading. It needs a start near equilibrium (the AI's job): from the 20-year restart
itself the same step leaves half the land drifting.
"""

from __future__ import annotations

import numpy as np

from elmai.data import features as F
from elmai.io import elm_names as N
from elmai.io.elm_params import ElmParams
from elmai.io.soil_levels import DZSOI_DECOMP, SOM_DIFFUSIVITY, mixing_matrix

# where each soil pool's decay goes (None: the atmosphere)
RECEIVER = {donor: receiver for donor, receiver, _ in N.CTC_CASCADE}
MIXING_DEPTH = 1.0  # m: bioturbation acts above it (the rooted levels)
WOOD = (
    (F.PFT_POOLS.index("livestemc"), F.PFT_POOLS.index("deadstemc")),
    (F.PFT_POOLS.index("livecrootc"), F.PFT_POOLS.index("deadcrootc")),
)


def wood_tendency(params: ElmParams) -> np.ndarray:
    """(live, dead) wood tendency (1/yr): live wood turns over to dead wood (lwtop_ann) and
    dies, dead wood dies (r_mort, ELM's am), both from the case's parameter file."""
    turnover, mortality = params.ctc["lwtop_ann"], params.ctc["r_mort"]
    return np.array([[-(turnover + mortality), 0.0], [turnover, -mortality]])


def expm(a: np.ndarray, terms: int = 18) -> np.ndarray:
    """exp of each matrix in a stack (..., n, n): scaling and squaring around a Taylor
    series (Moler and Van Loan 2003, method 3). Each matrix is scaled to 1-norm <= 1 on its
    own, so a result does not depend on the others in the stack; the truncation error is
    below 1/(terms + 1)! (1e-17 for 18 terms). numpy only, so refine needs no torch."""
    a = np.asarray(a, dtype=np.float64)
    flat = a.reshape(-1, *a.shape[-2:])
    norm = np.abs(flat).sum(axis=-2).max(axis=-1)
    squarings = np.where(norm > 1.0, np.ceil(np.log2(np.maximum(norm, 1.0))), 0).astype(int)
    x = flat / (2.0**squarings)[:, None, None]
    eye = np.broadcast_to(np.eye(a.shape[-1]), x.shape)
    out = eye + x / terms
    for k in range(terms - 1, 0, -1):  # Horner: I + x/k (I + x/(k+1) (...))
        out = eye + (x @ out) / k
    for step in range(int(squarings.max(initial=0))):
        more = squarings > step
        out[more] = out[more] @ out[more]
    return out.reshape(a.shape)


def wood_map(years: float, params: ElmParams) -> np.ndarray:
    """(2, 2) cycle map of (live, dead) wood."""
    return expm(wood_tendency(params) * years)


def cascade_operator(
    rate: np.ndarray, params: ElmParams, cwd_profile: np.ndarray, mixing_depth: float = MIXING_DEPTH
) -> np.ndarray:
    """(ngrid, 8 L + 2, 8 L + 2) tendency (1/yr) of the column's carbon: the 8 soil pools on
    L levels (pool-major, gC/m3), then the column's live and dead wood (gC/m2 of column)."""
    ngrid, nlev, npool = rate.shape
    n = npool * nlev
    a = np.zeros((ngrid, n + 2, n + 2))
    lev = np.arange(nlev)
    at = {p: k * nlev + lev for k, p in enumerate(F.SOIL_POOLS)}
    for k, pool in enumerate(F.SOIL_POOLS):
        a[:, at[pool], at[pool]] -= rate[:, :, k]
    rf = F.respired_fractions(params)
    for k, pool in enumerate(F.SOIL_POOLS):
        if RECEIVER.get(pool):
            a[:, at[RECEIVER[pool]], at[pool]] += (1 - rf[k]) * rate[:, :, k]
    cwd = F.SOIL_POOLS.index("cwd")
    for pool, share in N.CWD_FRAGMENTATION:
        a[:, at[pool], at["cwd"]] += params.ctc[share] * rate[:, :, cwd]
    mix = mixing_matrix(SOM_DIFFUSIVITY, mixing_depth)
    for k, pool in enumerate(F.SOIL_POOLS):
        if pool != "cwd":  # ELM leaves CWD in place
            a[:, k * nlev : (k + 1) * nlev, k * nlev : (k + 1) * nlev] += mix[None]
    a[:, n:, n:] = wood_tendency(params)
    for wood in (n, n + 1):  # mortality of live and dead wood feeds CWD
        a[:, at["cwd"], wood] = params.ctc["r_mort"] * cwd_profile
    return a


def cwd_input_profile(cwd: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """(ngrid, L) 1/m: where wood enters CWD. CWD does not mix, so near its periodic state
    the input at a level is its decay there (stock x rate); uniform where a column has none."""
    flux = cwd * rate
    total = (flux * DZSOI_DECOMP).sum(axis=1, keepdims=True)
    uniform = np.broadcast_to(1.0 / DZSOI_DECOMP.sum(), flux.shape)
    shape = np.divide(flux, total, out=np.zeros_like(flux), where=total > 0)
    return np.where(total > 0, shape, uniform)


STILL = 1e-9  # decay over the cycle (rate x years) below which a pool level is not relaxing


def _solve(step: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Batched solve; a column whose system is still singular (a whole pool that neither
    decays nor is set, mixing alone) takes the least-squares step (no change along what
    the cycle cannot tell)."""
    try:
        return np.linalg.solve(step, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(rhs)
        for i in range(rhs.shape[0]):
            try:
                out[i] = np.linalg.solve(step[i], rhs[i])
            except np.linalg.LinAlgError:
                out[i] = np.linalg.lstsq(step[i], rhs[i], rcond=1e-12)[0]
        return out


def newton_pools(
    start: F.CellPools,
    end: F.CellPools,
    rate: np.ndarray,
    params: ElmParams,
    years: float,
    chunk: int = 2048,
) -> tuple[np.ndarray, np.ndarray, float]:
    """(pft pools, soil pools, most carbon set to zero in a column, gC/m2): the Newton estimate of the
    equilibrium from a start state and the state one forcing cycle (`years`) later. Columns
    are solved `chunk` at a time (two 82 x 82 float64 matrices per column)."""
    ngrid, nlev, npool = start.soil.shape
    pft = end.pft.copy()  # leaves and fine roots: their errors are gone after a cycle
    pm = wood_map(years, params)
    e_wood = np.zeros((ngrid, 2))
    for live, dead in WOOD:
        dx = np.stack(
            [end.pft[..., live] - start.pft[..., live], end.pft[..., dead] - start.pft[..., dead]], -1
        )
        e0 = np.linalg.solve(pm - np.eye(2), dx[..., None])[..., 0]  # (ngrid, NATPFT, 2)
        pft[..., live] = start.pft[..., live] - e0[..., 0]
        pft[..., dead] = start.pft[..., dead] - e0[..., 1]
        e_wood += (e0 * start.weight[..., None]).sum(axis=1)
    cwd = F.SOIL_POOLS.index("cwd")
    profile = cwd_input_profile(end.soil[..., cwd], rate[..., cwd])
    n = npool * nlev
    x0 = start.soil.transpose(0, 2, 1).reshape(ngrid, n)  # pool-major, as the operator
    dx = end.soil.transpose(0, 2, 1).reshape(ngrid, n) - x0
    e0 = np.empty_like(x0)
    still = (rate * years < STILL).transpose(0, 2, 1).reshape(ngrid, n)  # pool-major, as x0
    for c in range(0, ngrid, chunk):
        g = slice(c, c + chunk)
        a = cascade_operator(rate[g], params, profile[g])
        cycle = expm(a * years)
        # soil change over the cycle, less what the (known) wood errors pushed into CWD
        rhs = dx[g] - np.einsum("gij,gj->gi", cycle[:, :n, n:], e_wood[g])
        step = cycle[:, :n, :n] - np.eye(n)[None]
        # a pool level that does not decay over the cycle (frozen soil: ELM's decomposition
        # scalars are 0 all year) has no equilibrium to step to: it keeps the cycle's end state
        cell, k = np.nonzero(still[g])
        step[cell, k, :] = 0.0
        step[cell, k, k] = 1.0
        rhs[cell, k] = -dx[g][cell, k]
        e0[g] = _solve(step, rhs)
    soil = (x0 - e0).reshape(ngrid, npool, nlev).transpose(0, 2, 1)
    # where the equilibrium is ~0 (empty deep levels, barren cells) the step can overshoot zero
    clipped = np.einsum("gls,l->g", np.minimum(soil, 0.0), DZSOI_DECOMP) + (
        np.minimum(pft, 0.0).sum(axis=2) * start.weight
    ).sum(axis=1)
    return np.maximum(pft, 0.0), np.maximum(soil, 0.0), float(-clipped.min(initial=0.0))
