"""Sobol sensitivity indices of each parameter, computed on an emulator with SALib
(Saltelli sampling, Jansen/Saltelli estimators, bootstrap confidence intervals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class SobolIndices:
    names: list[str]
    outputs: list[str]
    first: np.ndarray  # (noutput, nparam) S1
    total: np.ndarray  # (noutput, nparam) ST
    first_conf: np.ndarray
    total_conf: np.ndarray
    evaluations: int

    def as_dict(self) -> dict:
        return {
            o: {
                n: {"S1": float(self.first[i, j]), "ST": float(self.total[i, j])}
                for j, n in enumerate(self.names)
            }
            for i, o in enumerate(self.outputs)
        }


def sobol_indices(
    fn: Callable[[np.ndarray], np.ndarray],
    names: list[str],
    low: np.ndarray,
    high: np.ndarray,
    n: int = 1024,
    outputs: list[str] | None = None,
    seed: int = 0,
) -> SobolIndices:
    """S1 and ST of every parameter for each column of fn(theta) (uniform priors on
    [low, high]); fn takes (m, nparam) and returns (m, noutput). n is a power of 2."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    problem = {
        "num_vars": len(names),
        "names": list(names),
        "bounds": [[a, b] for a, b in zip(low, high, strict=True)],
    }
    theta = sample.sample(problem, n, calc_second_order=False, seed=seed)
    y = np.asarray(fn(theta), dtype=np.float64).reshape(theta.shape[0], -1)
    outputs = outputs or [f"output{i}" for i in range(y.shape[1])]
    s1, st, c1, ct = (np.zeros((y.shape[1], len(names))) for _ in range(4))
    for i in range(y.shape[1]):
        r = analyze.analyze(problem, y[:, i], calc_second_order=False, seed=seed)
        s1[i], st[i], c1[i], ct[i] = r["S1"], r["ST"], r["S1_conf"], r["ST_conf"]
    return SobolIndices(list(names), outputs, s1, st, c1, ct, theta.shape[0])
