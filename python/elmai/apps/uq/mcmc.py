"""The MCMC baseline: adaptive Metropolis (Haario et al. 2001, as OLMT's calibration),
several chains stepped together so that each step costs one batched emulator call.

The proposal starts as a small diagonal Gaussian and, after `adapt_start` steps, becomes
(2.38^2 / d) x the running covariance of all chains' samples. `run_until_ess` keeps going
until every parameter's effective sample size (autocorrelation with Geyer's initial
monotone sequence, pooled over chains, after burn-in) reaches the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from elmai.errors import ElmaiError


def ess(chains: np.ndarray) -> np.ndarray:
    """Effective sample size per parameter of chains (nchain, nstep, d)."""
    c, n, d = chains.shape
    x = chains - chains.mean(1, keepdims=True)
    f = np.fft.rfft(x, n=2 * n, axis=1)
    acov = np.fft.irfft(f * np.conj(f), axis=1)[:, :n] / n  # (c, n, d)
    var_within = acov[:, 0].mean(0)
    var_between = chains.mean(1).var(0, ddof=1) * n if c > 1 else np.zeros(d)
    var_plus = var_within * (n - 1) / n + var_between / n
    rho = 1 - (var_within[None] - acov.mean(0)) / np.where(var_plus > 0, var_plus, 1)[None]  # (n, d)
    out = np.empty(d)
    for j in range(d):
        # Geyer: sums of adjacent pairs, truncated at the first negative, made monotone
        pairs = rho[: n - n % 2, j].reshape(-1, 2).sum(1)
        neg = np.where(pairs < 0)[0]
        pairs = pairs[: neg[0] if len(neg) else len(pairs)]
        pairs = np.minimum.accumulate(pairs)
        tau = -1 + 2 * pairs.sum()
        out[j] = c * n / max(tau, 1.0 / np.log10(max(c * n, 10)))
    return out


@dataclass
class MCMCResult:
    samples: np.ndarray  # (nchain, nstep, d) after burn-in
    acceptance: float
    ess: np.ndarray  # per parameter
    evaluations: int  # log-posterior evaluations (chains x steps)

    @property
    def flat(self) -> np.ndarray:
        return self.samples.reshape(-1, self.samples.shape[-1])


def adaptive_metropolis(
    log_post: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    steps: int,
    scale0: np.ndarray,
    seed: int = 0,
    adapt_start: int = 500,
    adapt_every: int = 50,
    state: dict | None = None,
) -> tuple[np.ndarray, dict]:
    """Advance chains x0 (nchain, d) by `steps`; returns the path (nchain, steps, d) and the
    sampler state (to continue)."""
    rng = np.random.default_rng(seed) if state is None else state["rng"]
    c, d = x0.shape
    st = state or {
        "rng": rng,
        "t": 0,
        "sum": np.zeros(d),
        "outer": np.zeros((d, d)),
        "count": 0,
        "chol": np.diag(scale0),
        "accepted": 0,
        "lp": log_post(x0),
        "x": x0.copy(),
    }
    x, lp = st["x"], st["lp"]
    if not np.all(np.isfinite(lp)):
        raise ElmaiError("MCMC start points have zero posterior density (outside the prior?)")
    path = np.empty((c, steps, d))
    for i in range(steps):
        prop = x + (rng.normal(size=(c, d)) @ st["chol"].T)
        lp_new = log_post(prop)
        accept = np.log(rng.random(c)) < lp_new - lp
        x = np.where(accept[:, None], prop, x)
        lp = np.where(accept, lp_new, lp)
        st["accepted"] += int(accept.sum())
        path[:, i] = x
        st["sum"] += x.sum(0)
        st["outer"] += x.T @ x
        st["count"] += c
        st["t"] += 1
        if st["t"] >= adapt_start and st["t"] % adapt_every == 0:
            m = st["sum"] / st["count"]
            cov = st["outer"] / st["count"] - np.outer(m, m)
            cov = (2.38**2 / d) * cov + 1e-10 * np.diag(scale0**2)
            try:
                st["chol"] = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                pass  # keep the previous proposal
    st["x"], st["lp"] = x, lp
    return path, st


def run_until_ess(
    log_post: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    scale0: np.ndarray,
    target_ess: float = 2000,
    burn: int = 2000,
    block: int = 2000,
    max_steps: int = 200_000,
    seed: int = 0,
    progress: bool = False,
) -> MCMCResult:
    """Adaptive Metropolis until min ESS >= target (burn-in steps discarded); `progress`
    shows the smallest ESS climbing to the target."""
    from tqdm import tqdm

    bar = tqdm(total=int(target_ess), desc="MCMC, min ESS", disable=not progress)
    path, st = adaptive_metropolis(log_post, x0, burn, scale0, seed)
    kept: list[np.ndarray] = []
    steps = burn
    while True:
        path, st = adaptive_metropolis(log_post, x0, block, scale0, state=st)
        kept.append(path)
        steps += block
        samples = np.concatenate(kept, axis=1)
        e = ess(samples)
        bar.update(min(int(e.min()), int(target_ess)) - bar.n)
        if e.min() >= target_ess or steps >= max_steps:
            break
    bar.close()
    c = x0.shape[0]
    return MCMCResult(samples, st["accepted"] / (c * steps), e, c * steps)
