"""One monthly step of the testbed's biogeochemistry: vegetation (GPP, allocation by
ELM's allometry, turnover, mortality) and the CTC decomposition cascade on 10 soil
levels, with C, N and P. Every flux is returned so that ELM's balance check closes for
every column and every step (`elmai.check_balance`).

Conventions: one vegetated column per gridcell holding the 17 natural PFT slots
(weights `wtcol`); vegetation pools per m2 of PFT; soil pools per m3 on the BGC levels
(gC/m3, ELM's `*_vr`); fluxes per m2 of column per second. Plant N and P follow the PFT
stoichiometry (leafcn, frootcn, livewdcn, deadwdcn and the cp analogues), so they are
derived from plant C; soil1..4 keep ELM's fixed C:N (cn_s1..4) and the fixed C:P of
`elm_params.SOIL_CP`; litter and CWD carry whatever C:N:P their inputs bring.

Calibrated (docs/testbed.md): at the matrix equilibrium of the 2 deg grid global GPP is
~142 PgC/yr, vegetation ~664 PgC, soil, litter and CWD ~1,706 PgC. Soil pools mix
vertically within the rooted levels (ELM's bioturbation diffusivity), CWD excepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from elmai.apps.testbed.climate import DAYS_IN_MONTH
from elmai.io.elm_names import (
    CTC_CASCADE,
    CTC_DECAY_RATE,
    CTC_POOLS,
    CWD_FRAGMENTATION,
    NATPFT,
    NLEVDECOMP,
    PFT_TISSUES,
    SCALARAVG_LEVEL,
)
from elmai.io.elm_params import SPINUP_MORTALITY_FACTOR, ElmParams
from elmai.io.elm_structure import CASCADE, TISSUES
from elmai.io.soil_levels import DZSOI_DECOMP, SOM_DIFFUSIVITY, mixing_matrix, node_depths

if TYPE_CHECKING:
    from elmai.apps.testbed.climate import Climate

SECONDS_PER_YEAR = 365.0 * 86400.0
VEG_POOLS = PFT_TISSUES
SOIL_POOLS = CTC_POOLS
CWD = CASCADE.index(CASCADE.cwd)
# (donor, receiver or -1 for the atmosphere, respired fraction parameter): ELM's CTC cascade
TRANSITIONS = tuple(
    (SOIL_POOLS.index(d), -1 if r is None else SOIL_POOLS.index(r), rf) for d, r, rf in CTC_CASCADE
)
DECAY_RATE = tuple(CTC_DECAY_RATE[p] for p in SOIL_POOLS)  # 1/day

# Accelerated decomposition (AD) spin-up, as ELM's CTC cascade: every pool with an AD factor
# > 1 (ElmParams.ad_factors, from the parameter file's decay rates: soil3 1.96, soil4 27.4,
# CWD 1.37 by default) decays that much faster, divided by ELM's scalaravg_col (so that cold
# and dry places are accelerated most), and dead wood dies spinup_mortality_factor (10) times
# faster. Leaving AD multiplies those pools back by the same factors.
AD_MORTALITY_FACTOR = SPINUP_MORTALITY_FACTOR
CUE = 0.4  # carbon use efficiency (NPP/GPP): global NPP ~55 PgC/yr for GPP ~140
ROOTING_DEPTH = 1.0  # m: litter enters the levels above it (ELM normalises its profiles over them)
N_DEPOSITION = 0.5 / SECONDS_PER_YEAR  # gN/m2/s
P_DEPOSITION = 0.0005 / SECONDS_PER_YEAR  # gP/m2/s
P_WEATHERING = 0.01 / SECONDS_PER_YEAR  # gP/m2/s at 25 C
SEEDLING_LAI = 0.3  # stems and seedlings intercept light before leaves exist


@dataclass
class State:
    """The prognostic pools of the testbed."""

    veg_c: np.ndarray  # (6, ngrid, NATPFT) gC/m2 of PFT
    soil_c: np.ndarray  # (8, ngrid, NLEVDECOMP) gC/m3
    soil_n: np.ndarray  # (8, ngrid, NLEVDECOMP) gN/m3
    soil_p: np.ndarray  # (8, ngrid, NLEVDECOMP) gP/m3
    sminn: np.ndarray  # (ngrid,) gN/m2
    sminp: np.ndarray  # (ngrid,) gP/m2

    @classmethod
    def bare(cls, ngrid: int, sminn: float = 2.0, sminp: float = 0.5) -> State:
        z = np.zeros
        return cls(
            z((6, ngrid, NATPFT)),
            z((8, ngrid, NLEVDECOMP)),
            z((8, ngrid, NLEVDECOMP)),
            z((8, ngrid, NLEVDECOMP)),
            np.full(ngrid, sminn),
            np.full(ngrid, sminp),
        )

    def cells(self, idx: np.ndarray | slice) -> State:
        """A copy of the pools of a subset of gridcells."""
        return State(
            self.veg_c[:, idx].copy(),
            self.soil_c[:, idx].copy(),
            self.soil_n[:, idx].copy(),
            self.soil_p[:, idx].copy(),
            self.sminn[idx].copy(),
            self.sminp[idx].copy(),
        )

    def put(self, idx: np.ndarray | slice, part: State) -> None:
        """Write `part` (from `cells(idx)`) back."""
        self.veg_c[:, idx], self.soil_c[:, idx], self.soil_n[:, idx] = part.veg_c, part.soil_c, part.soil_n
        self.soil_p[:, idx], self.sminn[idx], self.sminp[idx] = part.soil_p, part.sminn, part.sminp

    def copy(self) -> State:
        return State(
            *(a.copy() for a in (self.veg_c, self.soil_c, self.soil_n, self.soil_p, self.sminn, self.sminp))
        )


@dataclass
class Fluxes:
    """Column fluxes of one step (per m2 of column per second), as the balance check wants."""

    gpp: np.ndarray
    ar: np.ndarray
    hr: np.ndarray
    n_inputs: dict[str, np.ndarray] = field(default_factory=dict)
    n_outputs: dict[str, np.ndarray] = field(default_factory=dict)
    p_inputs: dict[str, np.ndarray] = field(default_factory=dict)
    p_outputs: dict[str, np.ndarray] = field(default_factory=dict)

    def balance_terms(self) -> dict[str, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
        """{element: (inputs, outputs)} as ELM's balance check takes them, for C, N and P."""
        return {
            "C": ({"gpp": self.gpp}, {"ar": self.ar, "hr": self.hr}),
            "N": (self.n_inputs, self.n_outputs),
            "P": (self.p_inputs, self.p_outputs),
        }

    @property
    def nee(self) -> np.ndarray:
        """Net ecosystem exchange (gC/m2/s, > 0 = source), ELM's sign."""
        return self.ar + self.hr - self.gpp


class Model:
    """Static inputs of the step: parameters, PFT weights, soil texture, climate normals."""

    def __init__(
        self,
        params: ElmParams,
        wtcol: np.ndarray,
        sand: np.ndarray,
        annual_temp_c: np.ndarray,
        accelerated: bool = False,
        supplement_nutrients: bool = False,
        climate_normals: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.params = params
        # ELM's suplnitro/suplphos: mineral N and P are topped up to demand (booked as inputs)
        self.supplement = supplement_nutrients
        self.wtcol = wtcol.T.copy()  # (ngrid, NATPFT)
        self.present = (self.wtcol > 0) & (np.arange(NATPFT)[None, :] > 0)
        self.sand = sand  # (ngrid,) percent, top soil
        self.t_annual = annual_temp_c
        p = params.pft
        self.woody = p["woody"] > 0
        # (6, NATPFT) tissue C:N and C:P; grasses have no wood (ratio 0 in the file): their
        # wood pools stay empty, and an infinite ratio gives them no N or P
        self.cn = np.stack([p[TISSUES.param(v, "cn")] for v in VEG_POOLS])
        self.cp = np.stack([p[TISSUES.param(v, "cp")] for v in VEG_POOLS])
        self.cn = np.where(self.cn > 0, self.cn, np.inf)
        self.cp = np.where(self.cp > 0, self.cp, np.inf)
        self.soil_cn = np.concatenate([np.ones(4), params.soil_cn])  # litter entries unused
        self.soil_cp = np.concatenate([np.ones(4), params.soil_cp_initial])
        self.k = np.array([params.ctc[name] for name in DECAY_RATE]) / 86400.0  # 1/s
        self.accelerated = accelerated
        z = node_depths()[:NLEVDECOMP]
        self.depth_scalar = np.exp(-z / params.ctc["decomp_depth_efolding"])
        self.z = z
        # where litter enters the soil: leaves and CWD near the surface, roots deeper
        self.surface_profile = self._profile(0.1)
        self.root_profile = self._profile(0.3)
        self.mixing = mixing_matrix(SOM_DIFFUSIVITY, ROOTING_DEPTH)
        self._mixing_steps: dict[float, np.ndarray] = {}  # per step length: months differ
        pfts = np.arange(NATPFT)
        tropical, boreal = np.isin(pfts, (4, 6, 14)), np.isin(pfts, (2, 3, 8, 11, 12))
        self.optimum_t = np.select([tropical, boreal], [30.0, 15.0], 22.0)  # deg C
        self.epsilon = np.where(np.arange(NATPFT) == 14, 2.05, 1.6) * 1e-6  # gC per J of absorbed PAR
        # ELM's scalaravg_col (DecompCascadeCNMod): the mean t x w x o x depth scalar of level
        # 4, one value per column on every level; below 1e-3 ELM sets it to 1
        self.ad_factors = params.ad_factors
        self.live_to_dead = params.ctc["lwtop_ann"]
        self.mortality = params.ctc["r_mort"]
        if climate_normals:
            env = self._scalar_average(climate_normals)[:, SCALARAVG_LEVEL]
            level4 = env * self.depth_scalar[SCALARAVG_LEVEL]
            level4 = np.where(level4 < 1e-3, 1.0, level4)
            self.scalaravg = np.repeat(level4[:, None], NLEVDECOMP, axis=1)
        else:
            self.scalaravg = np.ones((wtcol.shape[1], NLEVDECOMP))

    def cells(self, idx: np.ndarray | slice) -> Model:
        """The same model on a subset of gridcells (gridcells do not interact)."""
        import copy

        sub = copy.copy(self)
        sub.wtcol, sub.present, sub.sand = self.wtcol[idx], self.present[idx], self.sand[idx]
        sub.t_annual, sub.scalaravg = self.t_annual[idx], self.scalaravg[idx]
        return sub

    def _env_scalar(self, t_c: np.ndarray, wet: np.ndarray) -> np.ndarray:
        """(ngrid, NLEVDECOMP) temperature x moisture scalar of decomposition."""
        t_soil = self.t_annual[:, None] + (t_c - self.t_annual)[:, None] * np.exp(-self.z / 1.5)[None, :]
        t_scalar = self.params.ctc["q10_hr"] ** ((t_soil - 25.0) / 10.0) * np.where(t_soil > 0, 1.0, 0.05)
        return t_scalar * (0.2 + 0.8 * wet)[:, None]

    def _wetness(self, forcing: dict[str, np.ndarray], dt: float) -> np.ndarray:
        t_c = forcing["TBOT"].astype(np.float64) - 273.15
        precip_mm = forcing["PRECTmms"].astype(np.float64) * dt
        pet_mm = (4.0 * np.clip(t_c, 0, None) + 0.03 * forcing["FSDS"]) * dt / (30 * 86400.0)
        wet = np.clip(precip_mm / (precip_mm + 0.6 * pet_mm + 1e-9), 0.05, 1.0)
        return wet * (1 - 0.3 * self.sand / 100 * (1 - wet))

    def _scalar_average(self, normals: dict[str, np.ndarray]) -> np.ndarray:
        """Mean environmental scalar over 12 climatological months ({name: (12, ngrid)})."""
        total = 0.0
        for m in range(12):
            month = {k: v[m] for k, v in normals.items()}
            dt = DAYS_IN_MONTH[m] * 86400.0
            total = total + self._env_scalar(
                month["TBOT"].astype(np.float64) - 273.15, self._wetness(month, dt)
            )
        return total / 12.0

    def ad_rate_factor(self) -> np.ndarray:
        """(8, ngrid, NLEVDECOMP) multiplier of the decay rates in AD mode (1 in normal mode)."""
        f = np.ones((8,) + self.scalaravg.shape)
        if self.accelerated:
            for k in np.flatnonzero(self.ad_factors > 1):
                f[k] = self.ad_factors[k] / self.scalaravg
        return f

    def exit_ad(self, state: State, scalaravg: np.ndarray) -> None:
        """Leave AD in place, as ELM does when it reads an AD restart in normal mode."""
        scalaravg = np.where(scalaravg < 1e-3, 1.0, scalaravg)
        for k in np.flatnonzero(self.ad_factors > 1):
            factor = self.ad_factors[k] / scalaravg
            state.soil_c[k] *= factor
            state.soil_n[k] *= factor
            state.soil_p[k] *= factor
        state.veg_c[3] *= AD_MORTALITY_FACTOR  # dead stem
        state.veg_c[5] *= AD_MORTALITY_FACTOR  # dead coarse root

    def enter_ad(self, state: State) -> None:
        """The inverse of exit_ad: a normal-mode state deflated for an AD run."""
        for k in np.flatnonzero(self.ad_factors > 1):
            factor = self.ad_factors[k] / self.scalaravg
            state.soil_c[k] /= factor
            state.soil_n[k] /= factor
            state.soil_p[k] /= factor
        state.veg_c[3] /= AD_MORTALITY_FACTOR
        state.veg_c[5] /= AD_MORTALITY_FACTOR

    def mixing_step(self, dt: float) -> np.ndarray:
        """(nlev, nlev) matrix of one explicit diffusion step of dt seconds (cached per dt)."""
        if dt not in self._mixing_steps:
            self._mixing_steps[dt] = np.eye(NLEVDECOMP) + self.mixing * (dt / SECONDS_PER_YEAR)
        return self._mixing_steps[dt]

    @staticmethod
    def _profile(efold: float) -> np.ndarray:
        """Vertical distribution (1/m) over the BGC levels; sum(profile * dz) = 1."""
        z = node_depths()[:NLEVDECOMP]
        w = np.where(z < ROOTING_DEPTH, np.exp(-z / efold), 0.0)
        return w / (w * DZSOI_DECOMP).sum()

    # -- column totals (per m2 of column) ----------------------------------------------------
    def veg_totals(self, s: State) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = (s.veg_c * self.wtcol[None]).sum(axis=(0, 2))
        n = ((s.veg_c / self.cn[:, None, :]) * self.wtcol[None]).sum(axis=(0, 2))
        p = ((s.veg_c / self.cp[:, None, :]) * self.wtcol[None]).sum(axis=(0, 2))
        return c, n, p

    @staticmethod
    def soil_stock(x: np.ndarray) -> np.ndarray:
        """(..., NLEVDECOMP) per m3 -> (...) per m2."""
        return x @ DZSOI_DECOMP

    def totals(self, s: State) -> dict[str, np.ndarray]:
        vc, vn, vp = self.veg_totals(s)
        return {
            "C": vc + self.soil_stock(s.soil_c).sum(axis=0),
            "N": vn + self.soil_stock(s.soil_n).sum(axis=0) + s.sminn,
            "P": vp + self.soil_stock(s.soil_p).sum(axis=0) + s.sminp,
        }

    # -- one month --------------------------------------------------------------------------
    def advance(self, state: State, climate: Climate, first_year: int, years: int) -> None:
        """Run whole years of monthly steps in place; forcing year = simulated year
        modulo the forcing cycle (year 0 is the cycle's first)."""
        for year in range(first_year, first_year + years):
            for month in range(12):
                self.step(state, climate.month(year, month), DAYS_IN_MONTH[month] * 86400.0)

    def step(self, s: State, forcing: dict[str, np.ndarray], dt: float, record: dict | None = None) -> Fluxes:
        """Advance `s` in place by dt seconds under one month of forcing. `record`, when given,
        receives the step's linear coefficients (decay fractions, growth, litter inputs,
        mortality) for the equilibrium solver, so it never re-derives the formulas."""
        t_c = forcing["TBOT"].astype(np.float64) - 273.15
        precip_mm = forcing["PRECTmms"].astype(np.float64) * dt
        wet = self._wetness(forcing, dt)

        # -- vegetation demand, from the start-of-step leaves -------------------------------
        lai = s.veg_c[0] * self.params.pft["slatop"][None, :]
        fapar = 1.0 - np.exp(-0.5 * (lai + SEEDLING_LAI))
        t_opt = np.exp(-(((t_c[:, None] - self.optimum_t[None, :]) / 12.0) ** 2)) / (
            1 + np.exp(-(t_c[:, None] + 1.0))
        )
        par = 0.5 * forcing["FSDS"].astype(np.float64)[:, None]
        gpp_pft = np.where(self.present, self.epsilon[None, :] * par * fapar * t_opt * wet[:, None], 0.0)
        npp_pft = CUE * gpp_pft
        alloc = self._allocation(npp_pft)  # (6, ngrid, NATPFT), sums to 1 over pools
        n_per_c = (alloc / self.cn[:, None, :]).sum(axis=0)
        p_per_c = (alloc / self.cp[:, None, :]).sum(axis=0)
        plant_n = (npp_pft * n_per_c * self.wtcol).sum(axis=1) * dt
        plant_p = (npp_pft * p_per_c * self.wtcol).sum(axis=1) * dt

        # -- decomposition: outflows from the start-of-step pools (exact monthly decay) -----
        env = self._env_scalar(t_c, wet) * self.depth_scalar[None, :]
        rate = self.k[:, None, None] * env[None] * self.ad_rate_factor()
        frac = -np.expm1(-rate * dt)  # (8, ngrid, nlev)
        if record is not None:
            record["frac"] = frac
        out_c, out_n, out_p = s.soil_c * frac, s.soil_n * frac, s.soil_p * frac
        ncol = t_c.size
        hr = np.zeros(ncol)
        gain_c = np.zeros_like(s.soil_c)
        gain_n = np.zeros_like(s.soil_n)
        gain_p = np.zeros_like(s.soil_p)
        # CWD fragments into cellulose and lignin litter, carrying its N and P (no respiration)
        for pool, fraction in CWD_FRAGMENTATION:
            receiver, share = SOIL_POOLS.index(pool), self.params.ctc[fraction]
            gain_c[receiver] += share * out_c[CWD]
            gain_n[receiver] += share * out_n[CWD]
            gain_p[receiver] += share * out_p[CWD]
        # mineralisation (+) or immobilisation (-) of each transition into a fixed-ratio pool
        mineral_n = np.zeros((len(TRANSITIONS),) + s.soil_c.shape[1:])
        mineral_p = np.zeros_like(mineral_n)
        for t, (donor, receiver, rf_name) in enumerate(TRANSITIONS):
            rf = 1.0 if rf_name is None else self.params.ctc[rf_name]
            to_pool = (1 - rf) * out_c[donor]
            need_n = to_pool / self.soil_cn[receiver] if receiver >= 0 else 0.0
            need_p = to_pool / self.soil_cp[receiver] if receiver >= 0 else 0.0
            mineral_n[t] = out_n[donor] - need_n
            mineral_p[t] = out_p[donor] - need_p
        # immobilisation is limited by what the mineral pools (plus gross mineralisation) hold
        gross_n = self.soil_stock(np.clip(mineral_n, 0, None)).sum(axis=0)
        gross_p = self.soil_stock(np.clip(mineral_p, 0, None)).sum(axis=0)
        demand_n = self.soil_stock(np.clip(-mineral_n, 0, None)).sum(axis=0)
        demand_p = self.soil_stock(np.clip(-mineral_p, 0, None)).sum(axis=0)
        supp_n = supp_p = np.zeros(ncol)
        if self.supplement:  # top the mineral pools up to what microbes and plants demand
            supp_n = np.clip(demand_n + plant_n - s.sminn - gross_n, 0, None)
            supp_p = np.clip(demand_p + plant_p - s.sminp - gross_p, 0, None)
            s.sminn += supp_n
            s.sminp += supp_p
        # plants and immobilising microbes share mineral N and P in proportion to demand (ELM)
        share_n = (s.sminn + gross_n) / np.maximum(demand_n + plant_n, 1e-30)
        share_p = (s.sminp + gross_p) / np.maximum(demand_p + plant_p, 1e-30)
        fpi = np.clip(np.minimum(share_n, share_p), 0, 1)
        for t, (donor, receiver, rf_name) in enumerate(TRANSITIONS):
            limited = (mineral_n[t] < 0) | (mineral_p[t] < 0)
            scale = np.where(limited, fpi[:, None], 1.0)  # slow the immobilising fluxes
            c_out, n_out, p_out = out_c[donor] * scale, out_n[donor] * scale, out_p[donor] * scale
            rf = 1.0 if rf_name is None else self.params.ctc[rf_name]
            hr += self.soil_stock(rf * c_out)
            s.soil_c[donor] -= c_out
            s.soil_n[donor] -= n_out
            s.soil_p[donor] -= p_out
            if receiver >= 0:
                to_pool = (1 - rf) * c_out
                gain_c[receiver] += to_pool
                gain_n[receiver] += to_pool / self.soil_cn[receiver]
                gain_p[receiver] += to_pool / self.soil_cp[receiver]
                s.sminn += self.soil_stock(n_out - to_pool / self.soil_cn[receiver])
                s.sminp += self.soil_stock(p_out - to_pool / self.soil_cp[receiver])
            else:
                s.sminn += self.soil_stock(n_out)
                s.sminp += self.soil_stock(p_out)
        s.soil_c[CWD] -= out_c[CWD]
        s.soil_n[CWD] -= out_n[CWD]
        s.soil_p[CWD] -= out_p[CWD]
        s.soil_c += gain_c
        s.soil_n += gain_n
        s.soil_p += gain_p
        # round-off can leave -1e-17 where immobilisation took everything
        s.sminn = np.maximum(s.sminn, 0.0)
        s.sminp = np.maximum(s.sminp, 0.0)
        hr = hr / dt

        # -- plant growth: the shared fraction, never more than the mineral pools now hold ---
        fpg = np.minimum(
            fpi,
            np.minimum(
                np.where(plant_n > 0, s.sminn / np.maximum(plant_n, 1e-30), 1.0),
                np.where(plant_p > 0, s.sminp / np.maximum(plant_p, 1e-30), 1.0),
            ),
        )
        fpg = np.clip(fpg, 0, 1)
        grow = npp_pft * fpg[:, None]  # what nutrients allow; the rest is respired
        ar_pft = gpp_pft - grow
        s.veg_c += alloc * (grow * dt)[None]
        if record is not None:
            record["growth"] = alloc * (grow * dt)[None]  # (6, ngrid, NATPFT)
            record["fpi"] = fpi
        s.sminn = np.maximum(s.sminn - fpg * plant_n, 0.0)
        s.sminp = np.maximum(s.sminp - fpg * plant_p, 0.0)

        # -- turnover, live -> dead wood, mortality -> litter and CWD -----------------------
        years = dt / SECONDS_PER_YEAR
        leaf_long = np.where(self.params.pft["leaf_long"] > 0, self.params.pft["leaf_long"], 1.0)
        turnover = -np.expm1(-years / leaf_long)[None, :]
        mort = -np.expm1(-self.mortality * years)
        to_dead = -np.expm1(-self.live_to_dead * years)
        pft = self.params.pft
        litter_c = np.zeros((3, ncol))  # litr1..3 from leaves and fine roots, per m2 column
        litter_n = np.zeros((3, ncol))
        litter_p = np.zeros((3, ncol))
        root_c = np.zeros((3, ncol))
        root_n = np.zeros((3, ncol))
        root_p = np.zeros((3, ncol))
        cwd_c, cwd_n, cwd_p = np.zeros(ncol), np.zeros(ncol), np.zeros(ncol)
        for i, pool in enumerate(VEG_POOLS):
            c = s.veg_c[i]
            tissue = TISSUES.tissues[i]
            if not tissue.woody:  # leaves and fine roots turn over
                lost = c * (turnover + mort * (1 - turnover))
            elif tissue.dead_wood and self.accelerated:
                lost = c * -np.expm1(-self.mortality * AD_MORTALITY_FACTOR * years)
            else:
                lost = c * mort
            c -= lost
            w_lost = lost * self.wtcol  # per m2 of column
            n_lost, p_lost = w_lost / self.cn[i][None, :], w_lost / self.cp[i][None, :]
            if not tissue.woody:
                pre = "lf" if pool == "leaf" else "fr"
                fr = np.stack([pft[f"{pre}_flab"], pft[f"{pre}_fcel"], pft[f"{pre}_flig"]])  # (3, NATPFT)
                dest_c, dest_n, dest_p = (
                    (litter_c, litter_n, litter_p) if pool == "leaf" else (root_c, root_n, root_p)
                )
                dest_c += fr @ w_lost.T  # (3 litter pools, ncol)
                dest_n += fr @ n_lost.T
                dest_p += fr @ p_lost.T
            else:
                cwd_c += w_lost.sum(axis=1)
                cwd_n += n_lost.sum(axis=1)
                cwd_p += p_lost.sum(axis=1)
        if record is not None:
            record["mort"], record["to_dead"] = mort, to_dead
            record["dead_mort"] = (
                -np.expm1(-self.mortality * AD_MORTALITY_FACTOR * years) if self.accelerated else mort
            )
            for name, value in (
                ("litter_c", litter_c),
                ("litter_n", litter_n),
                ("litter_p", litter_p),
                ("root_c", root_c),
                ("root_n", root_n),
                ("root_p", root_p),
            ):
                record[name] = value
        for live, dead in ((2, 3), (4, 5)):  # live stem/croot become dead wood; N, P excess freed
            moved = s.veg_c[live] * to_dead
            s.veg_c[live] -= moved
            s.veg_c[dead] += moved
            w = moved * self.wtcol
            s.sminn += (w / self.cn[live][None, :] - w / self.cn[dead][None, :]).sum(axis=1)
            s.sminp += (w / self.cp[live][None, :] - w / self.cp[dead][None, :]).sum(axis=1)
        for k in range(3):
            s.soil_c[k] += (
                litter_c[k][:, None] * self.surface_profile + root_c[k][:, None] * self.root_profile
            )
            s.soil_n[k] += (
                litter_n[k][:, None] * self.surface_profile + root_n[k][:, None] * self.root_profile
            )
            s.soil_p[k] += (
                litter_p[k][:, None] * self.surface_profile + root_p[k][:, None] * self.root_profile
            )
        s.soil_c[CWD] += cwd_c[:, None] * self.surface_profile
        s.soil_n[CWD] += cwd_n[:, None] * self.surface_profile
        s.soil_p[CWD] += cwd_p[:, None] * self.surface_profile
        # vertical mixing of every pool but CWD (ELM leaves CWD in place), one explicit step
        mixed = [k for k in range(len(SOIL_POOLS)) if k != CWD]
        for pools in (s.soil_c, s.soil_n, s.soil_p):
            pools[mixed] = pools[mixed] @ self.mixing_step(dt).T

        # -- mineral N and P: deposition, fixation, weathering, losses -----------------------
        npp_col = (npp_pft * self.wtcol).sum(axis=1) * SECONDS_PER_YEAR
        # CLM4's symbiotic fixation plus a free-living floor
        fixation = (0.3 + 1.8 * (1 - np.exp(-0.003 * npp_col))) / SECONDS_PER_YEAR
        weathering = P_WEATHERING * np.exp(0.07 * (t_c - 25.0))
        s.sminn += (N_DEPOSITION + fixation) * dt
        s.sminp += (P_DEPOSITION + weathering) * dt
        leach_rate = (0.02 + 0.05 * precip_mm * 12 / 1000) / SECONDS_PER_YEAR
        n_loss = s.sminn * -np.expm1(-leach_rate * dt) / dt
        p_loss = s.sminp * -np.expm1(-0.2 * leach_rate * dt) / dt
        s.sminn -= n_loss * dt
        s.sminp -= p_loss * dt

        gpp = (gpp_pft * self.wtcol).sum(axis=1)
        ar = (ar_pft * self.wtcol).sum(axis=1)
        return Fluxes(
            gpp=gpp,
            ar=ar,
            hr=hr,
            n_inputs={"ndep": np.full(ncol, N_DEPOSITION), "nfix": fixation, "nsupp": supp_n / dt},
            n_outputs={"nloss": n_loss},
            p_inputs={"pdep": np.full(ncol, P_DEPOSITION), "pweather": weathering, "psupp": supp_p / dt},
            p_outputs={"ploss": p_loss},
        )

    def _allocation(self, npp_pft: np.ndarray) -> np.ndarray:
        """Fractions of new growth to the 6 plant pools (ELM's allometry)."""
        p = self.params.pft
        f1 = p["froot_leaf"][None, :]
        f2 = p["stem_leaf"][None, :] * np.ones_like(npp_pft)
        dynamic = f2 < 0  # ELM: stem allocation grows with annual NPP
        f2 = np.where(dynamic, 2.7 / (1 + np.exp(-0.004 * (npp_pft * SECONDS_PER_YEAR - 300.0))) - 0.4, f2)
        f2 = np.where(self.woody[None, :], np.clip(f2, 0, None), 0.0)
        f3 = np.where(self.woody, p["croot_stem"], 0.0)[None, :]
        f4 = p["flivewd"][None, :]
        denom = 1 + f1 + f2 * (1 + f3)
        return (
            np.stack(
                [
                    np.ones_like(f2),
                    f1 * np.ones_like(f2),
                    f2 * f4,
                    f2 * (1 - f4),
                    f2 * f3 * f4,
                    f2 * f3 * (1 - f4),
                ]
            )
            / denom[None]
        )
