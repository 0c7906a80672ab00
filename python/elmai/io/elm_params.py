"""ELM parameters the package uses, with built-in defaults equal to the real ELM parameter
file clm_params_c211124vpft.nc (E3SM; checked by tests/test_elm_params.py).

Per-PFT values are for the 17 natural PFTs (index = pfts1d_itypveg); the CTC decomposition
cascade values are scalars. Units as in the file: k_* 1/day, slatop m2/gC, leaf_long years.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from elmai.io.elm_names import NATPFT

PFT_PARAMETERS: tuple[str, ...] = (
    "leafcn",
    "frootcn",
    "livewdcn",
    "deadwdcn",
    "leafcp",
    "frootcp",
    "livewdcp",
    "deadwdcp",
    "slatop",
    "froot_leaf",
    "stem_leaf",
    "croot_stem",
    "flivewd",
    "leaf_long",
    "woody",
    "evergreen",
    "lf_flab",
    "lf_fcel",
    "lf_flig",
    "fr_flab",
    "fr_fcel",
    "fr_flig",
)
CTC_PARAMETERS: tuple[str, ...] = (
    "k_l1",
    "k_l2",
    "k_l3",
    "k_s1",
    "k_s2",
    "k_s3",
    "k_s4",
    "k_frag",
    "rf_l1s1",
    "rf_l2s2",
    "rf_l3s3",
    "rf_s1s2",
    "rf_s2s3",
    "rf_s3s4",
    "cn_s1",
    "cn_s2",
    "cn_s3",
    "cn_s4",
    "q10_hr",
    "decomp_depth_efolding",
    "cwd_fcel",
    "cwd_flig",
)

# fmt: off
_DEFAULT_PFT: dict[str, list[float]] = {
    "leafcn": [1.0, 35.0, 40.0, 25.0, 30.0, 30.0, 25.0, 25.0, 25.0, 30.0, 25.0, 25.0, 25.0, 25.0, 25.0, 25.0, 25.0],
    "frootcn": [1.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0],
    "livewdcn": [1.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "deadwdcn": [1.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "leafcp": [1.0, 525.0, 400.0, 250.0, 600.0, 450.0, 500.0, 375.0, 250.0, 450.0, 375.0, 250.0, 250.0, 375.0, 375.0, 275.0, 275.0],
    "frootcp": [1.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0],
    "livewdcp": [1.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0],
    "deadwdcp": [1.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0],
    "slatop": [0.0, 0.01, 0.008, 0.024, 0.012, 0.012, 0.03, 0.03, 0.03, 0.012, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03],
    "froot_leaf": [0.0, 1.0, 1.0, 0.5, 0.794, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0],
    "stem_leaf": [0.0, -1.0, -1.0, -1.3, -0.55, -1.0, -1.0, -1.0, -1.0, 0.2, 0.2, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    "croot_stem": [0.0, 0.3, 0.3, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0],
    "flivewd": [0.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5, 0.5, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0],
    "leaf_long": [0.0, 1.5, 3.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    "woody": [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "evergreen": [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "lf_flab": [0.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25],
    "lf_fcel": [0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    "lf_flig": [0.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25],
    "fr_flab": [0.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25],
    "fr_fcel": [0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    "fr_flig": [0.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25],
}
_DEFAULT_CTC: dict[str, float] = {
    "k_l1": 1.20397280432594,
    "k_l2": 0.0725706928348355,
    "k_l3": 0.0140989243795016,
    "k_s1": 0.0725706928348355,
    "k_s2": 0.0140989243795016,
    "k_s3": 0.0014009809156281,
    "k_s4": 0.000100005000333347,
    "k_frag": 0.00100050033358353,
    "rf_l1s1": 0.39,
    "rf_l2s2": 0.55,
    "rf_l3s3": 0.29,
    "rf_s1s2": 0.28,
    "rf_s2s3": 0.46,
    "rf_s3s4": 0.55,
    "cn_s1": 12.0,
    "cn_s2": 12.0,
    "cn_s3": 10.0,
    "cn_s4": 10.0,
    "q10_hr": 1.5,
    "decomp_depth_efolding": 0.33,
    "cwd_fcel": 0.76,
    "cwd_flig": 0.24,
}
# fmt: on


# Soil organic matter N:P of soil1..soil4 (np_s1_new..np_s4_new, CNP parameter files). ELM
# starts soil C:P at cn_s * np_s_new and lets it float from there (CNP decomposition).
# Files without them (CN-only sets) get the values of clm_params_c211124vpft.nc.
SOIL_NP_PARAMETERS: tuple[str, ...] = ("np_s1_new", "np_s2_new", "np_s3_new", "np_s4_new")
# Wood turnover: live wood -> dead wood (lwtop_ann, 1/yr; CNPhenologyMod) and the background
# gap mortality rate am (r_mort, 1/yr; GapMortalityMod). Scalars (allpfts) in the file.
WOOD_PARAMETERS: tuple[str, ...] = ("lwtop_ann", "r_mort")
_DEFAULT_SOIL_NP: dict[str, float] = {"np_s1_new": 30.0, "np_s2_new": 30.0, "np_s3_new": 50.0, "np_s4_new": 50.0}
_DEFAULT_OPTIONAL: dict[str, float] = _DEFAULT_SOIL_NP | {"lwtop_ann": 0.7, "r_mort": 0.02}

# ELM's namelist default spinup_mortality_factor (bld/namelist_files/namelist_defaults.xml;
# elm_varctl's compiled-in default is 1): dead stem and coarse root die this much faster in
# AD mode and are multiplied by it on leaving AD (VegetationDataType.F90, veg_cs_restart).
SPINUP_MORTALITY_FACTOR = 10.0



@dataclass
class ElmParams:
    """Per-PFT arrays (length 17) and CTC scalars. `source` names the file they came from."""

    pft: dict[str, np.ndarray] = field(default_factory=dict)
    ctc: dict[str, float] = field(default_factory=dict)
    source: str = "built-in defaults (clm_params_c211124vpft.nc)"
    npft: int = 25  # PFTs in the file (natural ones first; the arrays hold the 17 natural slots)

    def __getitem__(self, name: str) -> np.ndarray | float:
        return self.pft[name] if name in self.pft else self.ctc[name]

    @property
    def soil_cn(self) -> np.ndarray:
        """Fixed C:N of soil1..soil4 (cn_s1..cn_s4)."""
        return np.array([self.ctc[f"cn_s{i}"] for i in range(1, 5)])

    @property
    def soil_cp_initial(self) -> np.ndarray:
        """C:P ELM starts soil1..soil4 at (cn_s x np_s_new); the ratio floats afterwards."""
        return self.soil_cn * np.array([self.ctc[n] for n in SOIL_NP_PARAMETERS])

    @property
    def ad_factors(self) -> np.ndarray:
        """ELM's AD spin-up factor of each CTC pool (elm_names.CTC_POOLS order), as
        readDecompCNParams computes it (DecompCascadeCNMod.F90): max(1, 1/(k*365)) with k in
        1/day, CWD max(1, 0.5/(k_frag*365)). Defaults: soil3 1.956, soil4 27.40, CWD 1.369."""
        from elmai.io.elm_names import CTC_DECAY_RATE, CTC_POOLS

        # ELM's spinup_vector is in the order litr1-3, soil1-4, cwd; elmai's is CTC_POOLS
        k = np.array([self.ctc[CTC_DECAY_RATE[p]] for p in CTC_POOLS])
        scale = np.array([0.5 if p == "cwd" else 1.0 for p in CTC_POOLS])
        return np.maximum(1.0, scale / (k * 365.0))


def default_params() -> ElmParams:
    return ElmParams(
        pft={k: np.array(v, dtype=np.float64) for k, v in _DEFAULT_PFT.items()},
        ctc=dict(_DEFAULT_CTC) | _DEFAULT_OPTIONAL,
    )


def read_params(path: str | os.PathLike[str]) -> ElmParams:
    """Read the parameters elmai uses from an ELM parameter file (clm_params*.nc)."""
    from elmai.errors import ShapeError, VariableNotFoundError
    from elmai.io.restart import open_netcdf

    with open_netcdf(path) as r:
        missing = [v for v in PFT_PARAMETERS + CTC_PARAMETERS if v not in r]
        if missing:
            raise VariableNotFoundError(f"parameter file '{path}' lacks {', '.join(missing)}")
        pft = {}
        npft = None
        for v in PFT_PARAMETERS:
            values = np.asarray(r.read(v), dtype=np.float64)
            if values.ndim != 1 or values.size < 2 or (npft is not None and values.size != npft):
                raise ShapeError(
                    f"'{v}' in '{path}' has shape {values.shape}; expected one value per PFT"
                    + (f" ({npft}, as the other PFT parameters)" if npft else "")
                )
            npft = values.size
            # sets with fewer PFTs (Arctic sets have 12) leave the missing types at 0: a
            # restart that uses one of them is refused where the pfts are read
            pft[v] = np.pad(values[:NATPFT], (0, max(0, NATPFT - values.size)))
        ctc = {v: float(np.asarray(r.read(v)).reshape(-1)[0]) for v in CTC_PARAMETERS}
        for v, default in _DEFAULT_OPTIONAL.items():  # CN-only and older sets lack some
            ctc[v] = float(np.asarray(r.read(v)).reshape(-1)[0]) if v in r else default
    return ElmParams(pft, ctc, source=os.fspath(path), npft=int(npft or NATPFT))


def find_params(folder: str | os.PathLike[str], given: str | os.PathLike[str] | None = None) -> ElmParams:
    """The case's parameter file (ELM's `paramfile`): `given`, else the one clm_params*.nc in
    `folder`. Never a silent fallback to the built-in values: AD factors, stoichiometry and
    decay rates must be the case's own, so a missing or ambiguous file is an error naming
    where elmai looked."""
    from pathlib import Path

    from elmai.errors import ParameterFileError

    if given:
        path = Path(given)
        if not path.exists():
            raise ParameterFileError(f"parameter file '{path}' (--params) not found")
        return read_params(path)
    folder = Path(folder)
    hits = sorted(folder.glob("clm_params*.nc"))
    if len(hits) == 1:
        return read_params(hits[0])
    if not hits:
        raise ParameterFileError(
            f"no ELM parameter file (clm_params*.nc) in '{folder}': give the case's paramfile "
            "(see lnd_in / user_nl_elm) with --params"
        )
    names = ", ".join(h.name for h in hits)
    raise ParameterFileError(f"several parameter files in '{folder}' ({names}): choose one with --params")
