"""Is the testbed's spin-up problem as hard as ELM's? A native run from bare ground on a
coarse (10 deg) grid, judged against the matrix (semi-analytic) equilibrium of the same
world: hundreds of years short of the criterion, soil3/soil4 and dead wood slowest, cold
and dry places slowest; a long native run converges to the matrix solution."""

from __future__ import annotations

import numpy as np
import pytest

from elmai.apps.testbed.dynamics import SOIL_POOLS, VEG_POOLS, State
from elmai.apps.testbed.equilibrium import solve_equilibrium
from elmai.apps.testbed.world import World

RESOLUTION = 10.0


class Judge:
    """A testbed world and its matrix equilibrium, the judge of a native spin-up."""

    def __init__(self) -> None:
        world = World.build(RESOLUTION, forcing_years=20, seed=0)
        self.climate, self.model, self.area = world.climate, world.model(), world.area_m2
        self.eq = solve_equilibrium(self.model, self.climate, State.bare(world.grid.ngrid))

    def soil_total(self, s: State) -> np.ndarray:
        return self.model.soil_stock(s.soil_c).sum(axis=0)

    def pool_progress(self, s: State) -> dict[str, float]:
        """Global stock of each pool as a fraction of its equilibrium stock."""
        w = self.model.wtcol[None]
        veg, veg_eq = (s.veg_c * w).sum(axis=2), (self.eq.veg_c * w).sum(axis=2)
        soil, soil_eq = self.model.soil_stock(s.soil_c), self.model.soil_stock(self.eq.soil_c)
        out = {n: (veg[i] @ self.area) / (veg_eq[i] @ self.area) for i, n in enumerate(VEG_POOLS)}
        return out | {n: (soil[i] @ self.area) / (soil_eq[i] @ self.area) for i, n in enumerate(SOIL_POOLS)}

    def criterion_area(self, start: np.ndarray, end: np.ndarray, years: int) -> float:
        drift = np.abs(end - start) / years
        return float(np.average(drift > 1.0, weights=self.area))


@pytest.fixture(scope="module")
def world() -> Judge:
    return Judge()


@pytest.fixture(scope="module")
def native(world: Judge) -> dict:
    """Snapshots of a native spin-up from bare ground at 100, 300 and 600 years."""
    m, c = world.model, world.climate
    s = State.bare(world.eq.sminn.size)
    snaps = {}
    year = 0
    for until in (100, 300, 580, 600):
        m.advance(s, c, year, until - year)
        year = until
        snaps[until] = s.copy()
    return snaps


def test_native_spinup_needs_many_hundreds_of_years(world: Judge, native: dict) -> None:
    m = world.model
    # the drift over the forcing cycle ending at year 600 still breaks CLM5's criterion
    area = world.criterion_area(m.totals(native[580])["C"], m.totals(native[600])["C"], 20)
    assert area > 0.03, area
    assert world.soil_total(native[600]) @ world.area < 0.9 * (world.soil_total(world.eq) @ world.area)


def test_soil3_soil4_and_dead_wood_are_the_slowest_pools(world: Judge, native: dict) -> None:
    progress = world.pool_progress(native[100])
    order = sorted(progress, key=progress.get)
    assert order[0] == "soil4", progress
    assert {"soil3", "deadstem", "deadcroot"} <= set(order[:5]), progress
    for fast in ("leaf", "froot", "litr1", "soil1"):  # months to a few years
        assert progress[fast] == pytest.approx(1.0, abs=0.01), progress


def test_cold_and_dry_cells_are_slower_than_warm_and_wet(world: Judge, native: dict) -> None:
    soil_eq = world.soil_total(world.eq)
    vegetated = soil_eq > 100.0  # gC/m2; ice and bare desert hold nothing to spin up
    progress = world.soil_total(native[300])[vegetated] / soil_eq[vegetated]
    t = world.climate.annual_mean_temperature_c()[vegetated]
    p = world.climate.annual_precipitation_mm()[vegetated]
    cold, dry, warm_wet = t < 0, (p < 300) & (t > 0), (t > 20) & (p > 1000)
    assert cold.sum() >= 5 and dry.sum() >= 3 and warm_wet.sum() >= 5
    assert progress[cold].mean() < progress[warm_wet].mean() - 0.2
    assert progress[dry].mean() < progress[warm_wet].mean()
    assert np.corrcoef(t, progress)[0, 1] > 0.5


@pytest.mark.slow
def test_long_native_run_agrees_with_the_matrix_equilibrium(world: Judge) -> None:
    """~2.5 min: 8,000 native years; total soil C within 1% of the matrix solution."""
    s = State.bare(world.eq.sminn.size)
    world.model.advance(s, world.climate, 0, 8000)
    native, matrix = world.soil_total(s) @ world.area, world.soil_total(world.eq) @ world.area
    assert native == pytest.approx(matrix, rel=0.01)
