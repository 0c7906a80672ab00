"""The testbed's monthly C/N/P step: ELM's balance check closes for every column and
step, pools stay non-negative, vegetation follows climate, a bare start is far from
equilibrium for a long time."""

from __future__ import annotations

import numpy as np
import pytest

import elmai
from elmai.io.elm_params import default_params
from elmai.testbed import make_climate, make_grid, make_surface
from elmai.testbed.climate import DAYS_IN_MONTH
from elmai.testbed.dynamics import SOIL_POOLS, Model, State


@pytest.fixture(scope="module")
def setup():
    grid = make_grid(6.0)
    climate = make_climate(grid, nyears=5, seed=2)
    surface = make_surface(grid, climate)
    model = Model(
        default_params(), surface.pft_weights, surface.pct_sand[0], climate.annual_mean_temperature_c()
    )
    return grid, climate, model


def run(model: Model, climate, state: State, years: int, check: bool = False, start: int = 0) -> list[float]:
    """Advance `years`; with check, ELM's balance check runs on C, N and P every month.
    Returns the worst |error| per element."""
    worst = {"C": 0.0, "N": 0.0, "P": 0.0}
    for year in range(start, start + years):
        for month in range(12):
            dt = DAYS_IN_MONTH[month] * 86400.0
            before = model.totals(state) if check else None
            f = model.step(state, climate.month(year, month), dt)
            if check:
                after = model.totals(state)
                for element, (ins, outs) in f.balance_terms().items():
                    report = elmai.check_balance(
                        before[element], after[element], ins, outs, dt, element=element
                    )
                    assert report.ok, report.table()
                    worst[element] = max(worst[element], report.max_abs_error)
    return worst


@pytest.mark.parametrize("supplement", [False, True])
def test_balances_close_every_step_from_bare_ground(setup, supplement: bool) -> None:
    grid, climate, model = setup
    if supplement:  # ELM's suplnitro/suplphos: the top-up is an input flux, so the books still close
        model = Model(model.params, model.wtcol.T, model.sand, model.t_annual, supplement_nutrients=True)
    state = State.bare(grid.ngrid)
    worst = run(model, climate, state, years=3, check=True)
    assert all(err < 1e-9 for err in worst.values()), worst  # ELM's tolerance is 1e-7
    for pools in (state.veg_c, state.soil_c, state.soil_n, state.soil_p, state.sminn, state.sminp):
        assert np.all(pools >= 0) and np.all(np.isfinite(pools))


def test_balances_close_on_a_grown_state(setup) -> None:
    grid, climate, model = setup
    state = State.bare(grid.ngrid)
    run(model, climate, state, years=30)
    worst = run(model, climate, state, years=2, check=True, start=30)
    assert all(err < 1e-9 for err in worst.values()), worst


def test_vegetation_follows_climate_and_bare_start_is_far_from_equilibrium(setup) -> None:
    grid, climate, model = setup
    state = State.bare(grid.ngrid)
    run(model, climate, state, years=40)
    before = model.totals(state)["C"]
    pools_before = model.soil_stock(state.soil_c).sum(axis=1)  # (8,) summed over columns
    run(model, climate, state, years=1, start=40)
    change = model.totals(state)["C"] - before  # gC/m2/yr
    growth = model.soil_stock(state.soil_c).sum(axis=1) / pools_before - 1  # relative, per year
    veg = model.veg_totals(state)[0]
    p = climate.annual_precipitation_mm()
    t = climate.annual_mean_temperature_c()
    warm_wet, desert = (t > 20) & (p > 1500), p < 150
    assert warm_wet.any() and desert.any()
    assert veg[warm_wet].mean() > 10 * max(veg[desert].mean(), 1e-9)
    # the CLM5 criterion: < 3% of land area with |dTOTECOSYSC/dt| > 1 gC/m2/yr -- not met yet
    area = grid.area * grid.cell_landfrac
    assert np.average(np.abs(change) > 1.0, weights=area) > 0.03
    # the slowest pools are furthest from equilibrium: after 40 years passive soil4 still
    # grows several times faster (relatively) than the litter and the faster soil2
    litr1, soil2, soil4 = (SOIL_POOLS.index(n) for n in ("litr1", "soil2", "soil4"))
    assert growth[soil4] > 3 * abs(growth[litr1]) and growth[soil4] > 2 * growth[soil2]
