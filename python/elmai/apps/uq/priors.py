"""Parameter priors shared by DBUQ and MCMC, so both calibrate against the same one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class UniformPrior:
    low: np.ndarray
    high: np.ndarray

    @property
    def dim(self) -> int:
        return len(self.low)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.low + rng.random((n, self.dim)) * (self.high - self.low)

    def log_prob(self, theta: np.ndarray) -> np.ndarray:
        inside = np.all((theta >= self.low) & (theta <= self.high), axis=-1)
        return np.where(inside, -np.log(self.high - self.low).sum(), -np.inf)

    @property
    def width(self) -> np.ndarray:
        return self.high - self.low


@dataclass
class GaussianPrior:
    mean: np.ndarray
    cov: np.ndarray

    @property
    def dim(self) -> int:
        return len(self.mean)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.multivariate_normal(self.mean, self.cov, size=n)

    def log_prob(self, theta: np.ndarray) -> np.ndarray:
        d = theta - self.mean
        return -0.5 * np.einsum("...i,ij,...j->...", d, np.linalg.inv(self.cov), d)

    @property
    def width(self) -> np.ndarray:
        return 4 * np.sqrt(np.diag(self.cov))


def gaussian_log_likelihood(pred: np.ndarray, obs: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log N(obs; pred, diag(sigma^2)) up to a constant, over the last axis."""
    return -0.5 * (((pred - obs) / sigma) ** 2).sum(-1)
