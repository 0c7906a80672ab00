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


# Soil organic matter C:P of soil1..soil4. The ELM parameter file carries none; elmai's
# testbed and sample files use these fixed values.
SOIL_CP: tuple[float, float, float, float] = (80.0, 120.0, 150.0, 200.0)


@dataclass
class ElmParams:
    """Per-PFT arrays (length 17) and CTC scalars. `source` names the file they came from."""

    pft: dict[str, np.ndarray] = field(default_factory=dict)
    ctc: dict[str, float] = field(default_factory=dict)
    source: str = "built-in defaults (clm_params_c211124vpft.nc)"

    def __getitem__(self, name: str) -> np.ndarray | float:
        return self.pft[name] if name in self.pft else self.ctc[name]

    @property
    def soil_cn(self) -> np.ndarray:
        """Fixed C:N of soil1..soil4 (cn_s1..cn_s4)."""
        return np.array([self.ctc[f"cn_s{i}"] for i in range(1, 5)])


def default_params() -> ElmParams:
    return ElmParams(
        pft={k: np.array(v, dtype=np.float64) for k, v in _DEFAULT_PFT.items()},
        ctc=dict(_DEFAULT_CTC),
    )


def read_params(path: str | os.PathLike[str]) -> ElmParams:
    """Read the parameters elmai uses from an ELM parameter file (clm_params*.nc)."""
    from elmai.errors import ShapeError, VariableNotFoundError
    from elmai.io.restart import open_restart

    with open_restart(path) as r:
        missing = [v for v in PFT_PARAMETERS + CTC_PARAMETERS if v not in r]
        if missing:
            raise VariableNotFoundError(f"parameter file '{path}' lacks {', '.join(missing)}")
        pft = {}
        for v in PFT_PARAMETERS:
            values = np.asarray(r.read(v), dtype=np.float64)
            if values.ndim != 1 or values.size < NATPFT:
                raise ShapeError(
                    f"'{v}' in '{path}' has shape {values.shape}; expected at least {NATPFT} PFTs"
                )
            pft[v] = values[:NATPFT].copy()
        ctc = {v: float(np.asarray(r.read(v)).reshape(-1)[0]) for v in CTC_PARAMETERS}
    return ElmParams(pft, ctc, source=os.fspath(path))
