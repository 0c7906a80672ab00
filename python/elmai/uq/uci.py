"""The PI3NN paper's UCI check: four regression sets, 90/10 splits over several seeds,
95% intervals, PICP and MPIW on standardised targets (statistics of the training part)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elmai.uq.pi3nn import PI3NN, picp_mpiw

# PI3NN (Liu et al., ICLR 2022), 95% level: (PICP, MPIW) as in ../shared/data/README.md
PUBLISHED = {
    "boston": (0.946, 1.41),
    "concrete": (0.938, 1.72),
    "energy": (0.948, 1.04),
    "yacht": (0.927, 0.30),
}
FILES = {
    "boston": "boston-housing/boston_housing.txt",
    "concrete": "concrete/concrete.csv",
    "energy": "energy-efficiency/energy.csv",
    "yacht": "yacht/yacht_hydrodynamics.data",
}


def data_dir() -> Path:
    env = os.environ.get("ELMAI_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3].parent / "shared" / "data"


def load_uci(name: str, root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of a set; energy's target is Y1 (heating load), as in the paper."""
    path = (root or data_dir() / "uci") / FILES[name]
    if not path.exists():
        raise FileNotFoundError(f"UCI set '{name}' not found at {path}")
    if name in ("concrete", "energy"):
        table = np.loadtxt(path, delimiter=",", skiprows=1)
        if name == "energy":
            return table[:, :8], table[:, 8]
        return table[:, :-1], table[:, -1]
    table = np.loadtxt(path)
    return table[:, :-1], table[:, -1]


@dataclass
class UciResult:
    name: str
    picp: float
    mpiw: float
    picp_runs: list[float]
    mpiw_runs: list[float]


def run_uci(name: str, seeds: int = 5, level: float = 0.95, **pi3nn_args: object) -> UciResult:
    x, y = load_uci(name)
    picps, mpiws = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        order = rng.permutation(y.size)
        n_test = max(1, int(round(0.1 * y.size)))
        test, train = order[:n_test], order[n_test:]
        xm, xs = x[train].mean(axis=0), x[train].std(axis=0)
        xs = np.where(xs > 0, xs, 1.0)
        ym, ys = y[train].mean(), y[train].std()
        model = PI3NN(seed=seed, **pi3nn_args).fit((x[train] - xm) / xs, (y[train] - ym) / ys)
        lo, hi = model.interval((x[test] - xm) / xs, level)
        p, w = picp_mpiw((y[test] - ym) / ys, lo, hi)
        picps.append(p)
        mpiws.append(w)
    return UciResult(name, float(np.mean(picps)), float(np.mean(mpiws)), picps, mpiws)
