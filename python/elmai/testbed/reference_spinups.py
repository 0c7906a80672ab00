"""The conventional spin-ups an AI spin-up is compared with: native (from bare ground,
normal decomposition) and AD (accelerated decomposition, then ELM's exit rescaling and
native years), run until CLM5's criterion holds over a whole forcing cycle.

Per simulated year: global NEE (PgC/yr, > 0 = source; with supplemental nutrients the
ecosystem's only carbon exchange, so -d TOTECOSYSC/dt) and, once a cycle has run, the
fraction of land area whose TOTECOSYSC drifts by more than 1 gC/m2/yr over the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from elmai.errors import InvalidArgumentError
from elmai.testbed.dynamics import State
from elmai.testbed.run import CRITERION_AREA, CRITERION_GC_M2_YR
from elmai.testbed.world import World


@dataclass
class SpinupCurve:
    mode: str
    resolution: float
    ad_years: int = 0
    years: list[int] = field(default_factory=list)
    nee_pgc: list[float] = field(default_factory=list)
    area_off: list[float | None] = field(default_factory=list)  # None until a cycle has run
    years_to_criterion: int | None = None


def reference_spinup(
    mode: str,
    resolution: float = 10.0,
    forcing_years: int = 20,
    seed: int = 0,
    ad_years: int = 100,
    max_years: int = 6000,
    progress: bool = False,
) -> SpinupCurve:
    """Spin up the testbed world `mode` = "native" or "ad" from bare ground until the
    criterion holds (or `max_years`)."""
    if mode not in ("native", "ad"):
        raise InvalidArgumentError(f"mode must be 'native' or 'ad', not {mode!r}")
    world = World.build(resolution, forcing_years, seed)
    climate, area = world.climate, world.area_m2
    native = world.model()
    curve = SpinupCurve(mode, resolution, ad_years if mode == "ad" else 0)
    s = State.bare(world.grid.ngrid)
    history = []
    from tqdm import tqdm

    bar = tqdm(total=max_years, desc=f"{mode} spin-up ({resolution:g} deg)", unit="yr", disable=not progress)
    year = 0
    if mode == "ad":
        ad = world.model(accelerated=True)
        for year in range(ad_years):
            start = ad.totals(s)["C"]
            ad.advance(s, climate, year, 1)
            curve.years.append(year + 1)
            curve.nee_pgc.append(-float((ad.totals(s)["C"] - start) @ area) / 1e15)
            curve.area_off.append(None)  # AD pools are not the model's own: no criterion yet
            bar.update(1)
        ad.exit_ad(s, ad.scalaravg)
        year = ad_years
    history.append(native.totals(s)["C"])
    while year < max_years:
        native.advance(s, climate, year, 1)
        year += 1
        total = native.totals(s)["C"]
        curve.years.append(year)
        curve.nee_pgc.append(-float((total - history[-1]) @ area) / 1e15)
        history.append(total)
        off = None
        if len(history) > forcing_years:
            drift = np.abs(total - history[-1 - forcing_years]) / forcing_years
            off = float(np.average(drift > CRITERION_GC_M2_YR, weights=area))
        curve.area_off.append(off)
        bar.update(1)
        if off is not None and off < CRITERION_AREA:
            curve.years_to_criterion = year
            break
    bar.close()
    return curve
