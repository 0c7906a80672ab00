"""Quasi-equilibrium estimates from an early state: the physics prior of the spin-up model.

After ~20 years the fast pools (leaves, fine roots, live wood, litter) are near their
periodic state, so what they pass on is near its equilibrium too. Each slower pool's
equilibrium is then its inflow over its own decay rate, level by level down the CTC
cascade (pools at one level share the environmental scalar, so only ratios of rates
matter): soil1 from litr1, soil2 from litr2 and soil1, soil3 from litr3 and soil2, soil4
from soil3. Dead stem and coarse root follow ELM's wood dynamics: live wood turns over at
LIVE_TO_DEAD + MORTALITY per year, so its growth is that rate times its (equilibrated)
stock; dead wood gains the live-to-dead flux and its direct share of growth
((1 - flivewd)/flivewd of the live one) and dies at MORTALITY. The network learns the
correction from these estimates to the true equilibrium (CWD, which trails dead wood,
and everything the estimates leave out).
"""

from __future__ import annotations

import torch

from elmai.data.features import PFT_POOLS, SOIL_POOLS
from elmai.io.elm_params import default_params
from elmai.io.elm_structure import CASCADE

# The model's prior uses the default parameter file's wood turnover (lwtop_ann) and gap
# mortality (r_mort, ELM's am), 1/yr; the network learns what other sets change
LIVE_TO_DEAD = default_params().ctc["lwtop_ann"]
MORTALITY = default_params().ctc["r_mort"]
# each soil pool with the pools that feed it (elm_structure.CASCADE), in cascade order
FEEDS = tuple(
    (SOIL_POOLS.index(k), tuple((SOIL_POOLS.index(d),) for d in CASCADE.donors_of(k)))
    for k in CASCADE.of_kind("soil")
)


def soil_quasi_equilibrium(soil: torch.Tensor, rate: torch.Tensor, rf: torch.Tensor) -> torch.Tensor:
    """(B, level, 8) gC/m3: litter and CWD as they are, soil1..4 from their inflows."""
    qe = [soil[..., k] if not is_soil else None for k, is_soil in enumerate(CASCADE.mask("soil"))]
    tiny = 1e-12
    for k, donors in FEEDS:
        inflow = sum((1 - rf[d]) * rate[..., d] * qe[d] for (d,) in donors)
        qe[k] = torch.clamp(inflow / (rate[..., k] + tiny), max=1e7)
    return torch.stack(qe, dim=-1)


def wood_quasi_equilibrium(pft: torch.Tensor, flivewd: torch.Tensor) -> torch.Tensor:
    """(B, NATPFT, 6) gC/m2: dead stem and coarse root from their live pools; the rest as is."""
    share = torch.where(
        flivewd > 0, (1 - flivewd) / torch.clamp(flivewd, min=1e-6), torch.zeros_like(flivewd)
    )
    gain = (LIVE_TO_DEAD + MORTALITY) * share + LIVE_TO_DEAD  # per unit of live wood
    out = pft.clone()
    for live, dead in (("livestemc", "deadstemc"), ("livecrootc", "deadcrootc")):
        out[..., PFT_POOLS.index(dead)] = pft[..., PFT_POOLS.index(live)] * gain / MORTALITY
    return out
