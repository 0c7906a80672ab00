"""Soft physics constraints of the spin-up model, on predicted pools in physical units.

At equilibrium each slow pool's decay equals what the cascade feeds it, level by level
(pools at one level share the environmental scalar, and levels do not mix): soil4 decays
as fast as soil3 passes carbon on, and soil3 as fast as soil2 and lignin litter feed it.
The cell term penalises the relative imbalance; the grid term the area-weighted total,
i.e. the slow pools' net exchange summed over the land (NEE -> 0 for the slow pools).
"""

from __future__ import annotations

import torch

from elmai.data.features import PFT_POOLS
from elmai.io.elm_structure import CASCADE, TISSUES
from elmai.io.soil_levels import DZSOI_DECOMP

# the two slowest soil pools and what feeds them (elm_structure.CASCADE): soil4 <- soil3,
# soil3 <- its litter and soil donors
S4 = CASCADE.index(CASCADE.of_kind("soil")[-1])
S3 = CASCADE.index(CASCADE.of_kind("soil")[-2])
FEEDS_S4 = [CASCADE.index(d) for d in CASCADE.donors_of(CASCADE.names[S4])]
FEEDS_S3 = [CASCADE.index(d) for d in CASCADE.donors_of(CASCADE.names[S3])]
SLOW_SOIL = (CASCADE.index(CASCADE.cwd), S3, S4)  # the soil pools that do not settle within a forcing cycle
DEAD_WOOD = TISSUES.dead_wood_index  # slow PFT pools (indices into PFT_POOLS)
assert [PFT_POOLS[i] for i in DEAD_WOOD] == [f"{t}c" for t in TISSUES.dead_wood]


def cascade_imbalance(soil: torch.Tensor, rate: torch.Tensor, rf: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(residual, input) of soil3 and soil4 per (cell, level): decay minus inflow (gC/m3/yr)."""
    flux = soil * rate  # decay of every pool
    passed = flux * (1 - rf)  # what moves to the next pool
    in4 = sum(passed[..., d] for d in FEEDS_S4)
    in3 = sum(passed[..., d] for d in FEEDS_S3)
    return flux[..., S4] - in4, in4, flux[..., S3] - in3, in3


def physics_terms(
    soil: torch.Tensor, rate: torch.Tensor, rf: torch.Tensor, area: torch.Tensor, used: torch.Tensor
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Sums whose ratios are the losses (so they can be summed over ranks first). "cell":
    the summed squared log ratios of decay to inflow for soil4 and soil3 over the levels
    that hold them (`used`: (level, pool)); the log ratio stays bounded where inflows are
    tiny, unlike a relative difference. "grid": (area-weighted total imbalance, total
    inflow), whose squared ratio is the grid term."""
    r4, in4, r3, in3 = cascade_imbalance(soil, rate, rf)
    eps = 1e-6
    cell = tuple(
        (torch.log((r + inflow + eps) / (inflow + eps)) ** 2 * used[:, k]).sum()
        for r, inflow, k in ((r4, in4, S4), (r3, in3, S3))
    )
    dz = torch.as_tensor(DZSOI_DECOMP, dtype=soil.dtype, device=soil.device)
    w = area[:, None] * dz[None, :]
    return {"cell": cell, "grid": (((r4 + r3) * w).sum(), ((in4 + in3) * w).sum())}


def initial_drift(
    soil_err: torch.Tensor,
    rate: torch.Tensor,
    wood_err: torch.Tensor,
    pft_weight: torch.Tensor,
    mortality: float,
) -> torch.Tensor:
    """(B, 4) how fast each slow pool of a column would drift away from a predicted state
    (gC/m2/yr, CLM5's criterion unit): its error times its turnover rate, summed over the
    levels (CWD, soil3, soil4) or the PFTs (dead wood). Errors in the fast pools relax
    within a forcing cycle, so they are left out."""
    dz = torch.as_tensor(DZSOI_DECOMP, dtype=soil_err.dtype, device=soil_err.device)
    soil = torch.einsum("blk,l->bk", soil_err[..., list(SLOW_SOIL)] * rate[..., list(SLOW_SOIL)], dz)
    wood = (wood_err.sum(-1) * pft_weight).sum(-1, keepdim=True) * mortality
    return torch.cat([soil, wood], dim=-1)
