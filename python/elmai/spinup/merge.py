"""Merge predicted equilibrium carbon pools into a copy of an ELM restart, ELM's way.

Carbon comes from the model. Nitrogen and phosphorus follow by stoichiometry: plant
pools by their PFT's tissue C:N and C:P (ELM's leafcn, frootcn, livewdcn, deadwdcn and
the cp analogues), soil1..4 by the fixed soil C:N (cn_s1..4) and C:P, and litter and CWD
keep the C:N:P the early restart holds at that level (the column's pool-wide ratio where
a level held nothing). tlai follows leaf C (x slatop). Column totals (totsomc, totlitc,
cwdc, totvegc, totcolc) are recomputed from the new pools. In an AD-mode restart
(spinup_state = 1) the predicted normal-mode pools are deflated as ELM stores them:
soil3 and soil4 divided by their AD factor over scalaravg_col, dead stem and coarse root
by spinup_mortality_factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elmai.data.features import PFT_POOLS, SOIL_POOLS, CellPools
from elmai.io.elm_names import NLEVDECOMP, vr_pool
from elmai.io.elm_params import SOIL_CP, ElmParams
from elmai.io.restart import Restart
from elmai.io.soil_levels import DZSOI_DECOMP

TISSUE = {
    "leafc": "leaf",
    "frootc": "froot",
    "livestemc": "livewd",
    "deadstemc": "deadwd",
    "livecrootc": "livewd",
    "deadcrootc": "deadwd",
}
AD_SOIL_FACTORS = {"soil3": 5.0, "soil4": 70.0}  # ELM CTC spinup_factor for soil3 and soil4
AD_MORTALITY_FACTOR = 10.0  # ELM spinup_mortality_factor: dead stem and coarse root


@dataclass
class Stoichiometry:
    """Ratios the merge uses: (6, NATPFT) plant C:N and C:P (inf where a PFT has no such
    tissue), (8,) soil C:N and C:P (nan for litter and CWD, which keep the restart's)."""

    pft_cn: np.ndarray
    pft_cp: np.ndarray
    soil_cn: np.ndarray
    soil_cp: np.ndarray
    slatop: np.ndarray

    @classmethod
    def from_params(cls, params: ElmParams) -> Stoichiometry:
        p = params.pft

        def ratio(kind: str) -> np.ndarray:
            r = np.stack([p[f"{TISSUE[v]}{kind}"] for v in PFT_POOLS])
            return np.where(r > 0, r, np.inf)

        nan4 = np.full(4, np.nan)
        return cls(
            ratio("cn"),
            ratio("cp"),
            np.concatenate([nan4, params.soil_cn]),
            np.concatenate([nan4, SOIL_CP]),
            p["slatop"].copy(),
        )


def _litter_ratio(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """C:X of litter/CWD per (cell, level): the level's own, else the column's pool-wide."""
    col = (x * DZSOI_DECOMP).sum(axis=1) / np.maximum((c * DZSOI_DECOMP).sum(axis=1), 1e-300)
    own = np.divide(x, c, out=np.zeros_like(x), where=c > 0)
    return np.where(c > 0, own, col[:, None])


def merge_updates(
    r: Restart, cells: CellPools, pft_c: np.ndarray, soil_c: np.ndarray, st: Stoichiometry
) -> dict[str, np.ndarray]:
    """The variables of `r` to replace: every pool the model predicts (C, N, P), tlai and
    the column totals. pft_c: (ngrid, NATPFT, 6) gC/m2; soil_c: (ngrid, NLEVDECOMP, 8) gC/m3."""
    ad = cells.spinup_state == 1
    scal = cells.scalaravg if cells.scalaravg is not None else np.ones(soil_c.shape[:2])
    updates: dict[str, np.ndarray] = {}
    present = cells.pft_index >= 0
    idx = cells.pft_index[present]
    for j, var in enumerate(PFT_POOLS):
        c = pft_c[..., j]
        if ad and var in ("deadstemc", "deadcrootc"):
            c = c / AD_MORTALITY_FACTOR
        for element, ratio in (("c", None), ("n", st.pft_cn[j]), ("p", st.pft_cp[j])):
            name = var[:-1] + element
            if name not in r:
                continue
            values = r.read(name).copy()
            new = c if ratio is None else c / ratio[None, :]
            values[idx] = new[present]
            updates[name] = values
    if "tlai" in r:
        lai = r.read("tlai").copy()
        lai[idx] = (pft_c[..., PFT_POOLS.index("leafc")] * st.slatop[None, :])[present]
        updates["tlai"] = lai
    col = cells.column
    for k, pool in enumerate(SOIL_POOLS):
        c = soil_c[..., k]
        if ad and pool in AD_SOIL_FACTORS:
            c = c / (AD_SOIL_FACTORS[pool] / np.maximum(scal, 1e-3))
        for element in "cnp":
            name = vr_pool(pool, element)
            if name not in r:
                continue
            values = r.read(name).copy()
            if element == "c":
                new = c
            elif k >= 4:
                new = c / (st.soil_cn if element == "n" else st.soil_cp)[k]
            else:
                early_c = r.read(vr_pool(pool, "c"))[col, :NLEVDECOMP]
                new = c * _litter_ratio(early_c, values[col, :NLEVDECOMP])
            values[col, :NLEVDECOMP] = new
            updates[name] = values
    updates |= column_totals(r, updates)
    return updates


def column_totals(r: Restart, updates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """totsomc, totlitc, cwdc, totvegc and totcolc (those the file has), each moved by the
    change of the pools it sums, so components elmai does not touch (ELM's product pools,
    seed carbon, ...) stay counted."""

    def parts(get) -> dict[str, np.ndarray]:
        stock = {p: get(vr_pool(p, "c"))[:, :NLEVDECOMP] @ DZSOI_DECOMP for p in SOIL_POOLS}
        veg = sum(get(v) for v in PFT_POOLS if v in r)
        totvegc = np.bincount(sub.pft_column, weights=veg * sub.pft_weight_column, minlength=r.dims["column"])
        out = {
            "totsomc": stock["soil1"] + stock["soil2"] + stock["soil3"] + stock["soil4"],
            "totlitc": stock["litr1"] + stock["litr2"] + stock["litr3"],
            "cwdc": stock["cwd"],
            "totvegc": totvegc,
        }
        out["totcolc"] = out["totsomc"] + out["totlitc"] + out["cwdc"] + out["totvegc"]
        return out

    sub = r.subgrid
    old = parts(r.read)
    new = parts(lambda n: updates[n] if n in updates else r.read(n))
    return {name: r.read(name) + (new[name] - old[name]) for name in old if name in r}
