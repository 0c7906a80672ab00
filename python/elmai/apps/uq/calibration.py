"""Parameter calibration against observations with an emulator: DBUQ and the MCMC
baseline on the same prior (uniform over the ensemble's ranges), the same likelihood
(Gaussian, noise sigma) and the same emulator, timed side by side.

Also the Missouri Ozark ELM ensemble of GenAI4UQ (1000 runs, 8 parameters, 5 annual
latent-heat values) as an `Ensemble`, so every `elmai uq emulate`/`calibrate` command works
on it as on a testbed ensemble.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from elmai.apps.testbed.ensemble import Ensemble
from elmai.apps.uq.dbuq import DBUQ, DBUQConfig
from elmai.apps.uq.emulator import predict
from elmai.apps.uq.mcmc import MCMCResult, run_until_ess
from elmai.apps.uq.priors import UniformPrior, gaussian_log_likelihood
from elmai.errors import ElmaiError, InputNotFoundError, InvalidArgumentError

# GenAI4UQ's ELM example: the 8 parameters in InputPara.npy's column order
OZARK_PARAMS = [
    "rootb_par",
    "slatop",
    "flnr",
    "frootcn",
    "froot_leaf",
    "br_mr",
    "crit_dayl",
    "crit_onset_gdd",
]


def load_ozark(folder: str | Path) -> Ensemble:
    folder = Path(folder)
    files = folder / "InputPara.npy", folder / "Observations.npy"
    for f in files:
        if not f.exists():
            raise InputNotFoundError(f"Ozark ensemble file '{f}' not found")
    theta, y = (np.load(f).astype(np.float64) for f in files)
    if theta.shape != (y.shape[0], len(OZARK_PARAMS)):
        raise ElmaiError(
            f"'{files[0]}' has shape {theta.shape}; expected ({y.shape[0]}, {len(OZARK_PARAMS)})"
        )
    # the runs were drawn uniformly within ranges we recover from the draws themselves
    return Ensemble(OZARK_PARAMS, theta.min(0), theta.max(0), theta, {"EFLX_LH_TOT": y[:, :, None]})


@dataclass
class Calibration:
    names: list[str]
    obs: np.ndarray
    sigma: np.ndarray
    dbuq: np.ndarray  # posterior samples (n, nparam)
    mcmc: MCMCResult
    timings: dict[str, float]
    truth: np.ndarray | None = None
    summary: dict = field(default_factory=dict)


def calibrate(
    emulator: torch.nn.Module,
    prior: UniformPrior,
    obs: np.ndarray,
    sigma: np.ndarray | float,
    names: list[str],
    n_samples: int = 2000,
    joint: int = 10000,
    dbuq_cfg: DBUQConfig | None = None,
    chains: int = 8,
    seed: int = 0,
    truth: np.ndarray | None = None,
    progress: bool = True,
) -> Calibration:
    """Posterior samples of the parameters for one observation by DBUQ (trained here, then
    sampled) and by adaptive Metropolis until its ESS reaches n_samples; both timed."""
    obs = np.asarray(obs, dtype=np.float64)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), obs.shape).copy()
    if not np.isfinite(obs).all():
        raise ElmaiError("the observation contains NaN or infinite values")
    cfg = dbuq_cfg or DBUQConfig()
    if joint < max(100, cfg.neighbours):
        raise ElmaiError(f"DBUQ needs at least {max(100, cfg.neighbours)} joint samples, got {joint}")
    rng = np.random.default_rng(seed)

    nout = predict(emulator, prior.low[None]).shape[1]
    if nout != obs.size:
        raise InvalidArgumentError(f"observation has {obs.size} values; the emulator gives {nout}")

    t0 = time.perf_counter()
    theta = prior.sample(joint, rng)
    db = DBUQ(theta, predict(emulator, theta), sigma, cfg, bounds=(prior.low, prior.high))
    db.fit()
    t1 = time.perf_counter()
    post = db.sample(obs, n_samples, seed=seed)
    t2 = time.perf_counter()

    def log_post(x: np.ndarray) -> np.ndarray:
        lp = prior.log_prob(x)
        ok = np.isfinite(lp)
        out = np.full(len(x), -np.inf)
        if ok.any():
            out[ok] = lp[ok] + gaussian_log_likelihood(predict(emulator, x[ok]), obs, sigma)
        return out

    start = post[rng.choice(len(post), chains)]
    if not np.isfinite(log_post(start)).all():  # a DBUQ draw outside the prior: start from prior draws
        cand = prior.sample(2000, rng)
        start = cand[np.argsort(-log_post(cand))[:chains]]
    t3 = time.perf_counter()
    mc = run_until_ess(log_post, start, prior.width / 50, target_ess=n_samples, seed=seed, progress=progress)
    t4 = time.perf_counter()
    timings = {
        "dbuq_label_s": db.timings["label_s"],
        "dbuq_train_s": db.timings["train_s"],
        "dbuq_total_s": t2 - t0,
        "dbuq_sample_s": t2 - t1,
        "dbuq_likelihood_ess": db.likelihood_ess,
        "mcmc_s": t4 - t3,
        "mcmc_evaluations": mc.evaluations,
    }
    cal = Calibration(list(names), obs, sigma, post, mc, timings, truth)
    cal.summary = summarize(cal, prior)
    return cal


def summarize(cal: Calibration, prior: UniformPrior) -> dict:
    width = prior.width
    d_mean, m_mean = cal.dbuq.mean(0), cal.mcmc.flat.mean(0)
    out = {
        "parameters": cal.names,
        "dbuq_mean": d_mean.tolist(),
        "dbuq_std": cal.dbuq.std(0).tolist(),
        "mcmc_mean": m_mean.tolist(),
        "mcmc_std": cal.mcmc.flat.std(0).tolist(),
        "mean_difference_prior_range": (np.abs(d_mean - m_mean) / width).tolist(),
        "max_mean_difference_prior_range": float((np.abs(d_mean - m_mean) / width).max()),
        "mcmc_ess_min": float(cal.mcmc.ess.min()),
        "mcmc_acceptance": cal.mcmc.acceptance,
        "timings": cal.timings,
        "speedup_dbuq_vs_mcmc": cal.timings["mcmc_s"] / cal.timings["dbuq_total_s"],
        "speedup_per_new_observation": cal.timings["mcmc_s"] / max(cal.timings["dbuq_sample_s"], 1e-9),
    }
    if cal.truth is not None:
        inside = {}
        for label, s in (("dbuq", cal.dbuq), ("mcmc", cal.mcmc.flat)):
            lo, hi = np.quantile(s, [0.025, 0.975], axis=0)
            inside[label] = ((cal.truth >= lo) & (cal.truth <= hi)).tolist()
        out["truth"] = cal.truth.tolist()
        out["truth_in_95_interval"] = inside
    return out


def plot(
    cal: Calibration, emulator: torch.nn.Module, folder: str | Path, output_labels: list[str] | None = None
) -> list[str]:
    """posterior.png (marginals, DBUQ vs MCMC, truth) and predictive.png (the emulator's
    outputs over posterior samples against the observation)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    d = len(cal.names)
    cols = min(4, d)
    rows = -(-d // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for j, name in enumerate(cal.names):
        ax = axes.flat[j]
        for label, s, color in (
            ("DBUQ", cal.dbuq[:, j], "tab:green"),
            ("MCMC", cal.mcmc.flat[:, j], "tab:blue"),
        ):
            grid = np.linspace(
                *np.quantile(np.concatenate([cal.dbuq[:, j], cal.mcmc.flat[:, j]]), [0.001, 0.999]), 200
            )
            if np.ptp(s) > 0:
                ax.plot(grid, gaussian_kde(s)(grid), color=color, label=label)
        if cal.truth is not None:
            ax.axvline(cal.truth[j], color="red", lw=1.5, label="truth")
        ax.set_xlabel(name)
        ax.set_yticks([])
    for ax in axes.flat[d:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Posterior marginals: DBUQ vs adaptive-Metropolis MCMC")
    fig.tight_layout()
    paths = [str(folder / "posterior.png")]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    pred = {
        k: predict(emulator, s[:2000])
        for k, s in (("DBUQ", cal.dbuq), ("MCMC", cal.mcmc.flat[:: max(1, len(cal.mcmc.flat) // 2000)]))
    }
    x = np.arange(cal.obs.size)
    many = cal.obs.size > 40  # e.g. every cell and year of a testbed ensemble: no tick per output
    fig, ax = plt.subplots(figsize=(10, 3.4) if many else (max(5, 0.6 * cal.obs.size + 3), 3.4))
    for (label, p), color in zip(pred.items(), ("tab:green", "tab:blue"), strict=True):
        lo, mid, hi = np.quantile(p, [0.025, 0.5, 0.975], axis=0)
        ax.fill_between(x, lo, hi, color=color, alpha=0.25, label=f"{label} 95% predictive")
        ax.plot(x, mid, color=color)
    ax.errorbar(
        x,
        cal.obs,
        yerr=None if many else 2 * cal.sigma,
        fmt="." if many else "o",
        color="k",
        ms=2 if many else 6,
        label="observation" if many else "observation +- 2 sigma",
    )
    if not many:
        ax.set_xticks(x, output_labels or [str(i) for i in x])
    ax.set_xlabel("output")
    ax.legend(fontsize=8)
    ax.set_title("Posterior predictive (emulator) vs observation")
    fig.tight_layout()
    paths.append(str(folder / "predictive.png"))
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths
