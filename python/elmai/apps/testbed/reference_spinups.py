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

from elmai.apps.testbed.dynamics import State
from elmai.apps.testbed.run import CRITERION_AREA, CRITERION_GC_M2_YR
from elmai.apps.testbed.world import World
from elmai.errors import InvalidArgumentError
from elmai.io.elm_params import ElmParams


@dataclass
class SpinupCurve:
    mode: str
    resolution: float
    ad_years: int = 0
    years: list[int] = field(default_factory=list)
    nee_pgc: list[float] = field(default_factory=list)
    area_off: list[float | None] = field(default_factory=list)  # None until a cycle has run
    years_to_criterion: int | None = None
    cells: int = 0  # gridcells simulated (a random sample of the world's, or all)
    world_cells: int = 0


def reference_spinup(
    mode: str,
    resolution: float = 10.0,
    forcing_years: int = 20,
    seed: int = 0,
    ad_years: int = 100,
    max_years: int = 6000,
    progress: bool = False,
    params: ElmParams | None = None,
    warming: float = 0.0,
    sample: int = 0,
    sample_seed: int = 0,
) -> SpinupCurve:
    """Spin up the testbed world `mode` = "native" or "ad" from bare ground until the
    criterion holds (or `max_years`). The world is `World.build(resolution, forcing_years,
    seed, params, warming=warming)`; `sample` > 0 spins up that many of its gridcells drawn
    at random (with `sample_seed`): gridcells are independent, so the sample's years to
    the criterion estimate the whole grid's at a fraction of the cost."""
    if mode not in ("native", "ad"):
        raise InvalidArgumentError(f"mode must be 'native' or 'ad', not {mode!r}")
    world = World.build(resolution, forcing_years, seed, params, warming=warming)
    cells = None
    if 0 < sample < world.grid.ngrid:
        cells = np.sort(np.random.default_rng(sample_seed).choice(world.grid.ngrid, sample, replace=False))
    climate = world.climate if cells is None else world.climate.cells(cells)
    area = world.natveg_area_m2 if cells is None else world.natveg_area_m2[cells]
    native = world.model(cells=cells)
    ncell = world.grid.ngrid if cells is None else cells.size
    curve = SpinupCurve(mode, resolution, ad_years if mode == "ad" else 0, cells=ncell,
                        world_cells=world.grid.ngrid)  # fmt: skip
    s = State.bare(ncell)
    history = []
    from tqdm import tqdm

    bar = tqdm(total=max_years, desc=f"{mode} spin-up ({resolution:g} deg)", unit="yr", disable=not progress)
    year = 0
    if mode == "ad":
        ad = world.model(accelerated=True, cells=cells)
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
