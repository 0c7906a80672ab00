"""The physics prior of the spin-up model against analytic steady states."""

from __future__ import annotations

import numpy as np
import torch

from elmai.data.features import PFT_POOLS, respired_fractions
from elmai.io.elm_params import default_params
from elmai.io.soil_levels import DZSOI_DECOMP
from elmai.models.constraints import initial_drift
from elmai.models.quasi_equilibrium import (
    LIVE_TO_DEAD,
    MORTALITY,
    soil_quasi_equilibrium,
    wood_quasi_equilibrium,
)


def test_soil_cascade_steady_state_is_reproduced() -> None:
    """Constant litter inputs, linear decay: the steady state in closed form, pool by pool."""
    rng = np.random.default_rng(0)
    rf = respired_fractions(default_params())
    rate = rng.uniform(0.01, 5.0, (3, 10, 8))  # 1/yr per cell, level and pool
    inputs = rng.uniform(1.0, 50.0, (3, 10, 3))  # gC/m3/yr into litr1..3
    x = np.zeros((3, 10, 8))
    x[..., :3] = inputs / rate[..., :3]
    x[..., 3] = 7.0  # CWD is carried as is
    passed = (1 - rf) * rate  # fraction of each pool's decay that moves on, per year
    x[..., 4] = passed[..., 0] * x[..., 0] / rate[..., 4]
    x[..., 5] = (passed[..., 1] * x[..., 1] + passed[..., 4] * x[..., 4]) / rate[..., 5]
    x[..., 6] = (passed[..., 2] * x[..., 2] + passed[..., 5] * x[..., 5]) / rate[..., 6]
    x[..., 7] = passed[..., 6] * x[..., 6] / rate[..., 7]
    early = x.copy()
    early[..., 4:] *= 0.1  # slow pools far from equilibrium: the estimate must not depend on them
    qe = soil_quasi_equilibrium(torch.tensor(early), torch.tensor(rate), torch.tensor(rf)).numpy()
    np.testing.assert_allclose(qe, x, rtol=1e-9)


def test_dead_wood_steady_state_follows_live_wood() -> None:
    """Growth G into live wood (share f) and dead wood (1 - f): live = fG/(m + t),
    dead = ((1 - f)G + t live)/m with turnover t and mortality m."""
    f = torch.tensor([0.1, 0.25, 0.0])  # flivewd of three PFTs (the last has no wood)
    growth = 100.0
    live = f * growth / (LIVE_TO_DEAD + MORTALITY)
    dead = ((1 - f) * growth + LIVE_TO_DEAD * live) / MORTALITY
    pft = torch.zeros(1, 3, 6, dtype=torch.float64)
    pft[0, :, PFT_POOLS.index("livestemc")] = live
    qe = wood_quasi_equilibrium(pft, f.double())
    np.testing.assert_allclose(qe[0, :2, PFT_POOLS.index("deadstemc")], dead[:2], rtol=1e-6)
    assert qe[0, 2, PFT_POOLS.index("deadstemc")] == 0


def test_initial_drift_is_error_times_turnover_in_criterion_units() -> None:
    """A soil4 error of e gC/m3 on level 2 decaying at r per year drifts the column by
    e r dz2 gC/m2/yr; a dead-stem error of e gC/m2 on a PFT of weight w by e w m; errors
    in fast pools (litter, soil1/2) do not count."""
    rate = torch.full((1, 10, 8), 0.5, dtype=torch.float64)
    soil_err = torch.zeros(1, 10, 8, dtype=torch.float64)
    soil_err[0, 2, 7] = 40.0  # soil4
    soil_err[0, 0, 3] = -10.0  # CWD
    soil_err[0, :, 0] = 1e3  # litr1: fast, ignored
    wood_err = torch.zeros(1, 17, 2, dtype=torch.float64)
    wood_err[0, 5, 0], wood_err[0, 5, 1] = 100.0, 20.0
    weight = torch.zeros(1, 17, dtype=torch.float64)
    weight[0, 5] = 0.25
    d = initial_drift(soil_err, rate, wood_err, weight, MORTALITY)[0].numpy()
    expect = [-10.0 * 0.5 * DZSOI_DECOMP[0], 0.0, 40.0 * 0.5 * DZSOI_DECOMP[2], 120.0 * 0.25 * MORTALITY]
    np.testing.assert_allclose(d, expect, rtol=1e-12)
