"""The PI3NN paper's UCI check: four regression sets, 90/10 splits over several seeds,
95% intervals, PICP and MPIW on standardised targets (statistics of the training part)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elmai.apps.uq.pi3nn import PI3NN, picp_mpiw
from elmai.errors import DataNotFoundError

# PI3NN (Liu et al., ICLR 2022), 95% level: (PICP, MPIW) as in the shared data's README.md
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


DATA_ENV = "ELMAI_DATA"  # the folder holding uci/ (and the other shared data sets)


def source_checkout() -> Path | None:
    """The source checkout elmai runs from (an editable install or PYTHONPATH=python), else
    None (an installed wheel)."""
    root = Path(__file__).resolve().parents[4]
    if (root / "pyproject.toml").is_file() and (root / "python/elmai/apps/uq/uci.py").is_file():
        return root
    return None


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the shared data sets: `root`, else $ELMAI_DATA, else (only when running from
    a source checkout) ../shared/data beside the checkout."""
    if root is not None:
        return Path(root)
    env = os.environ.get(DATA_ENV) or os.environ.get("ELMAI_SHARED_DATA")  # the older name
    if env:
        return Path(env)
    checkout = source_checkout()
    if checkout is None:
        raise DataNotFoundError(
            f"no data folder: set {DATA_ENV} to the folder that holds uci/ (or pass root=...)"
        )
    return checkout.parent / "shared" / "data"


def load_uci(name: str, root: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of a set; energy's target is Y1 (heating load), as in the paper. `root` is the
    uci/ folder (default: uci/ under `data_dir()`)."""
    if name not in FILES:
        raise DataNotFoundError(f"unknown UCI set '{name}'; choose one of {', '.join(FILES)}")
    folder = Path(root) if root is not None else data_dir() / "uci"
    path = folder / FILES[name]
    if not path.is_file():
        raise DataNotFoundError(
            f"UCI set '{name}' not found at '{path}' (set {DATA_ENV} to the folder holding uci/)"
        )
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


def run_uci(
    name: str,
    seeds: int = 5,
    level: float = 0.95,
    root: str | os.PathLike[str] | None = None,
    **pi3nn_args: object,
) -> UciResult:
    x, y = load_uci(name, root)
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
