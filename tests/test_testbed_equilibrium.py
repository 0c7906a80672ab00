"""The semi-analytic (matrix) equilibrium: exact for periodic linear recurrences, and the
full model started from it stays put (the CLM5 criterion met at once), while a native
run of the same length is far from it."""

from __future__ import annotations

import numpy as np
import pytest

from elmai.apps.testbed import make_climate, make_grid, make_surface
from elmai.apps.testbed.dynamics import Model, State
from elmai.apps.testbed.equilibrium import periodic, solve_equilibrium
from elmai.apps.testbed.run import run_testbed
from elmai.io.elm_params import default_params


def test_periodic_recurrence_is_exact() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 0.99, (24, 7)), rng.uniform(0, 3, (24, 7))
    x = periodic(a, b)
    np.testing.assert_allclose(a[-1] * x[-1] + b[-1], x[0], rtol=1e-12)  # the cycle closes
    for m in range(23):
        np.testing.assert_allclose(a[m] * x[m] + b[m], x[m + 1], rtol=1e-12)
    const = periodic(np.full((12, 1), 0.9), np.full((12, 1), 2.0))
    np.testing.assert_allclose(const, 20.0)  # b / (1 - a)


@pytest.fixture(scope="module")
def world():
    grid = make_grid(10.0)
    climate = make_climate(grid, nyears=3, seed=5)
    surface = make_surface(grid, climate)
    model = Model(
        default_params(),
        surface.pft_weights,
        surface.pct_sand[0],
        climate.annual_mean_temperature_c(),
        supplement_nutrients=True,
        climate_normals=climate.normals(),
    )
    return grid, climate, model


def cycle_drift(model: Model, climate, state: State, first_year: int) -> np.ndarray:
    """gC/m2/yr change of TOTECOSYSC over one forcing cycle."""
    before = model.totals(state)["C"].copy()
    model.advance(state, climate, first_year, climate.nyears)
    return (model.totals(state)["C"] - before) / climate.nyears


def test_the_model_stays_at_the_matrix_equilibrium(world) -> None:
    grid, climate, model = world
    eq = solve_equilibrium(model, climate, State.bare(grid.ngrid), fast_years=30)
    area = grid.area * grid.cell_landfrac
    drift = cycle_drift(model, climate, eq.copy(), first_year=30)
    assert np.average(np.abs(drift) > 1.0, weights=area) < 0.03  # CLM5's criterion, met at once
    assert np.abs(drift).max() < 5.0
    native = State.bare(grid.ngrid)
    d = cycle_drift(model, climate, native, first_year=0)
    for _ in range(10):  # 33 native years
        d = cycle_drift(model, climate, native, first_year=0)
    assert np.average(np.abs(d) > 1.0, weights=area) > 0.5
    # the slow pools dominate the difference
    soil4_eq, soil4_native = (model.soil_stock(x.soil_c[7]) @ grid.area for x in (eq, native))
    assert soil4_eq > 5 * soil4_native


def test_matrix_needs_supplemental_nutrients(world) -> None:
    grid, climate, model = world
    plain = Model(model.params, model.wtcol.T, model.sand, model.t_annual)
    with pytest.raises(ValueError, match="supplement"):
        solve_equilibrium(plain, climate, State.bare(grid.ngrid))


def test_run_from_the_matrix_equilibrium(tmp_path) -> None:
    result = run_testbed(tmp_path, resolution=10, years=3, forcing_years=3, spinup="matrix", progress=False)
    assert result.balance_failures == 0
    assert result.years[-1].disequilibrium_area < 0.03  # after a full cycle, measured cycle to cycle


def test_solving_in_chunks_of_gridcells_gives_the_same_state(world) -> None:
    grid, climate, model = world
    whole = solve_equilibrium(model, climate, State.bare(grid.ngrid), chunk=10**9)
    chunked = solve_equilibrium(model, climate, State.bare(grid.ngrid), chunk=37)
    for name in ("veg_c", "soil_c", "soil_n", "soil_p", "sminn", "sminp"):
        np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-9, atol=1e-9)
