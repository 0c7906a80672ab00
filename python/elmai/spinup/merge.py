"""Merge predicted equilibrium carbon pools into a copy of an ELM restart, ELM's way.

Carbon comes from the model, for the natural-vegetation columns and their PFTs of
non-zero weight (zero-weight PFTs keep ELM's cold-start seed pools). `elmai spinup`
writes the pools a spin-up is for: every decomposing pool (litter, CWD, soil1..4: in cold
and deep soil even litter and soil1-2 take decades, since decay is k x T x W x depth
scalars) and dead stem and coarse root; the live vegetation pools, their storage and
transfer pools and tlai stay as ELM left them, so leaves keep their season. `elmai
refine` writes every pool it solved. Nitrogen and
phosphorus follow as ELM keeps them: plant tissues by their PFT's fixed C:N and C:P
(leafcn, frootcn, livewdcn, deadwdcn and the cp analogues); soil1..4 by the fixed soil
C:N (cn_s1..4) and by the cell's own early C:P at that level, because soil C:P floats in
ELM's CNP decomposition (it starts at cn_s x np_s_new); litter and CWD keep the early
C:N:P at that level (the column's pool-wide ratio where a level held nothing, and where
the column held none of the pool, the ratio of what feeds it: `fallback_ratios`). tlai
follows leaf C (x slatop). Every total ELM keeps in the restart (pft totvegc; column
totlitc, totsomc, totcolc, totcoln, totlitp, totsomp, totcolp, cwdp) is moved by the
change of the pools it sums (elm_names), so the terms elmai does not touch stay counted.
In an AD-mode restart (spinup_state = 1) the predicted normal-mode pools are deflated as
ELM stores them: each CTC pool with an AD factor > 1 (from the case's parameter file)
divided by factor / scalaravg_col, dead stem and coarse root by spinup_mortality_factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elmai.data.features import PFT_POOLS, SOIL_POOLS, CellPools
from elmai.errors import ElmaiError
from elmai.io import elm_names as N
from elmai.io.elm_params import SPINUP_MORTALITY_FACTOR, ElmParams
from elmai.io.elm_structure import CASCADE, SPINUP_WRITES, TISSUES
from elmai.io.restart import Restart
from elmai.io.soil_levels import DZSOI_DECOMP

# ELM's spinup_mortality_factor applies to the dead wood
DEAD_WOOD_POOLS = tuple(PFT_POOLS[i] for i in TISSUES.dead_wood_index)
SLOW_POOLS = SPINUP_WRITES  # what `elmai spinup` writes (elm_structure)
ALL_POOLS = PFT_POOLS + SOIL_POOLS


@dataclass
class Stoichiometry:
    """Ratios the merge uses: (6, NATPFT) plant C:N and C:P (inf where a PFT has no such
    tissue), (8,) soil C:N (nan for litter and CWD, which keep the restart's), the initial
    soil C:P (used where a column holds no soil P to take its floating ratio from), the AD
    factor of each CTC pool, and slatop."""

    pft_cn: np.ndarray
    pft_cp: np.ndarray
    soil_cn: np.ndarray
    soil_cp: np.ndarray
    slatop: np.ndarray
    ad_factors: np.ndarray

    @classmethod
    def from_params(cls, params: ElmParams) -> Stoichiometry:
        p = params.pft

        def ratio(kind: str) -> np.ndarray:
            r = np.stack([p[TISSUES.param(v.removesuffix("c"), kind)] for v in PFT_POOLS])
            return np.where(r > 0, r, np.inf)

        nan4 = np.full(4, np.nan)
        return cls(
            ratio("cn"),
            ratio("cp"),
            np.concatenate([nan4, params.soil_cn]),
            np.concatenate([nan4, params.soil_cp_initial]),
            p["slatop"].copy(),
            params.ad_factors,
        )


def ad_inflation(
    cells: CellPools, st: Stoichiometry, path: object = "the restart"
) -> tuple[np.ndarray, np.ndarray]:
    """(ncell, NLEVDECOMP, 8) and (len(PFT_POOLS),) multipliers that take an AD-mode file's
    pools to normal mode, as ELM does on leaving AD (ColumnDataType col_cs_restart: factor /
    scalaravg_col where factor > 1, with scalaravg_col as the file holds it; veg_cs_restart:
    spinup_mortality_factor). Ones in normal mode. ELM sets scalaravg_col to 0 every step
    before AD year 20 (DecompCascadeBGCMod), so such a file cannot leave AD: an error."""
    soil = np.ones(cells.soil.shape)
    pft = np.ones(len(PFT_POOLS))
    if cells.spinup_state != 1:
        return soil, pft
    scal = cells.scalaravg_file
    if scal is None:
        raise ElmaiError(
            f"'{path}': AD restart (spinup_state 1) without scalaravg_col: ELM cannot leave AD from it"
        )
    usable = np.isfinite(scal) & (scal > 0) & (scal < 1e30)
    if not usable.all():
        bad = int(np.argwhere(~usable)[0][0])
        ncol = int((~usable.all(axis=1)).sum())
        raise ElmaiError(
            f"'{path}': AD restart with scalaravg_col = {scal[~usable].flat[0]:g} on {ncol} "
            f"of {scal.shape[0]} natural-vegetation column(s) (first: column {int(cells.column[bad])}, lat "
            f"{cells.lat[bad]:.2f}, lon {cells.lon[bad]:.2f}): ELM accumulates it only from AD year 20 "
            "(DecompCascadeBGCMod) and divides by it when leaving AD; continue AD to year 20 or later first"
        )
    for k, factor in enumerate(st.ad_factors):
        if factor > 1:
            soil[..., k] = factor / scal
    for var in DEAD_WOOD_POOLS:
        pft[PFT_POOLS.index(var)] = SPINUP_MORTALITY_FACTOR
    return soil, pft


def fallback_ratios(cells: CellPools, st: Stoichiometry) -> np.ndarray:
    """(ncell, 2, 8) N:C and P:C a pool gets where its column held none of it in the early
    restart: soil1..4 their initial ratios (1/cn_s, 1/(cn_s x np_s_new)); litter that of the
    leaves and CWD that of the dead wood feeding it, averaged over the column's PFTs by
    weight (0 where nothing feeds it)."""
    out = np.zeros((cells.weight.shape[0], 2, len(SOIL_POOLS)))
    for e, ratios in enumerate((st.soil_cn, st.soil_cp)):
        som = np.isfinite(ratios)
        out[:, e, som] = 1.0 / ratios[som]
    # litter is fed by the leaves, CWD by the dead stem (the first dead-wood tissue)
    for source, pools in (("leafc", N.LITTER_POOLS), (DEAD_WOOD_POOLS[0], (CASCADE.cwd,))):
        j = PFT_POOLS.index(source)
        for e, ratios in enumerate((st.pft_cn[j], st.pft_cp[j])):
            feeds = cells.weight * np.isfinite(ratios)[None, :]
            per_c = np.where(np.isfinite(ratios), 1.0 / ratios, 0.0)
            total = feeds.sum(axis=1)
            mean = np.divide(feeds @ per_c, total, out=np.zeros_like(total), where=total > 0)
            for pool in pools:
                out[:, e, SOIL_POOLS.index(pool)] = mean
    return out


def _early_ratio(c: np.ndarray, x: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """X:C per (cell, level) of a pool: the level's own, else the column's pool-wide, else
    `fallback` (ncell,) where the column holds none of the pool."""
    col_c = (c * DZSOI_DECOMP).sum(axis=1)
    col = np.divide((x * DZSOI_DECOMP).sum(axis=1), col_c, out=np.zeros_like(col_c), where=col_c > 0)
    col = np.where(col_c > 0, col, fallback)
    own = np.divide(x, c, out=np.zeros_like(x), where=c > 0)
    return np.where(c > 0, own, col[:, None])


def merge_updates(
    r: Restart,
    cells: CellPools,
    pft_c: np.ndarray,
    soil_c: np.ndarray,
    st: Stoichiometry,
    pools: tuple[str, ...] = SLOW_POOLS,
) -> dict[str, np.ndarray]:
    """The variables of `r` to replace: the `pools` given (PFT_POOLS / SOIL_POOLS names) in
    C, N and P, tlai if leaf carbon is among them, and the totals. pft_c: (ncell, NATPFT, 6)
    gC/m2; soil_c: (ncell, NLEVDECOMP, 8) gC/m3, in normal mode (deflated here if the file
    is in AD mode)."""
    soil_ad, pft_ad = ad_inflation(cells, st, r.path)
    updates: dict[str, np.ndarray] = {}
    # what each written pool changed, at the rows it changed: (dimension, rows, new - old)
    changes: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
    # zero-weight PFT slots keep what ELM put there (cold-start seed pools)
    write = (cells.pft_index >= 0) & (cells.weight > 0)
    idx = cells.pft_index[write]
    for j, var in enumerate(PFT_POOLS):
        if var not in pools:
            continue
        c = pft_c[..., j] / pft_ad[j]
        for element, ratio in (("c", None), ("n", st.pft_cn[j]), ("p", st.pft_cp[j])):
            name = var[:-1] + element
            if name not in r:
                continue
            values = r.read(name)  # a fresh array: changed in place
            new = (c if ratio is None else c / ratio[None, :])[write]
            changes[name] = ("pft", idx, new - values[idx])
            values[idx] = new
            updates[name] = values
    if "tlai" in r and "leafc" in pools:
        lai = r.read("tlai")
        lai[idx] = (pft_c[..., PFT_POOLS.index("leafc")] * st.slatop[None, :])[write]
        updates["tlai"] = lai
    col = cells.column
    fallback = fallback_ratios(cells, st)
    for k, pool in enumerate(SOIL_POOLS):
        if pool not in pools:
            continue
        c = soil_c[..., k] / soil_ad[..., k]
        early_c = None
        for element in "cnp":
            name = N.vr_pool(pool, element)
            if name not in r:
                continue
            values = r.read(name)
            old = values[col, : N.NLEVDECOMP]
            if element == "c":
                early_c, new = old, c
            elif element == "n" and np.isfinite(st.soil_cn[k]):
                new = c / st.soil_cn[k]  # fixed soil C:N
            else:  # floating: the cell's own early ratio
                if early_c is None:
                    early_c = r.read(N.vr_pool(pool, "c"))[col, : N.NLEVDECOMP]
                new = c * _early_ratio(early_c, old, fallback[:, "np".index(element), k])
            changes[name] = ("column", col, (new - old) @ DZSOI_DECOMP)
            values[col, : N.NLEVDECOMP] = new
            updates[name] = values
    updates |= totals(r, changes)
    return updates


def totals(r: Restart, changes: dict[str, tuple[str, np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Every ELM total the file holds (elm_names.ELM_TOTALS, as ELM's summaries compute
    them), moved by the change of the terms it sums. `changes`: {pool: (level, rows, change)}
    with pft pools' changes per pft and vertically resolved pools' as column stocks over
    the BGC levels; pft changes enter a column total averaged with pfts1d_wtcol (ELM's
    p2c). Terms elmai does not write keep counting as they were."""
    sub = r.subgrid
    ncol = r.dims["column"]
    out: dict[str, np.ndarray] = {}
    for name, (required, optional) in N.ELM_TOTALS.items():
        if name not in r:
            continue
        level = r.info(name).dims
        delta = np.zeros(r.info(name).shape)
        for term in required + optional:
            if term not in changes:
                continue
            where, rows, d = changes[term]
            if where == "pft" and level == ("column",):
                w = d * sub.pft_weight_column[rows]
                delta += np.bincount(sub.pft_column[rows], weights=w, minlength=ncol)
            elif level == (where,):
                np.add.at(delta, rows, d)
            else:
                raise ElmaiError(f"'{r.path}': {term} (per {where}) cannot enter {name} {level}")
        if delta.any():
            out[name] = r.read(name) + delta
    return out
