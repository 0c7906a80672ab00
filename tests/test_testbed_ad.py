"""ELM-style accelerated decomposition (AD) in the testbed: balances still close, AD
restarts hold the deflated state with spinup_state = 1, a normal-mode read leaves AD as
ELM does, and AD reaches the slow pools far sooner than a native spin-up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import elmai
from elmai.apps.testbed import make_climate, make_grid, make_surface
from elmai.apps.testbed.dynamics import AD_MORTALITY_FACTOR, Model, State
from elmai.apps.testbed.restart import read_testbed_state, write_testbed_restart
from elmai.io.elm_params import default_params
from tests.testbed_helpers import advance_checked


@pytest.fixture(scope="module")
def world():
    grid = make_grid(6.0)
    climate = make_climate(grid, nyears=5, seed=4)
    surface = make_surface(grid, climate)

    def model(accelerated: bool) -> Model:
        return Model(
            default_params(),
            surface.pft_weights,
            surface.pct_sand[0],
            climate.annual_mean_temperature_c(),
            accelerated=accelerated,
            supplement_nutrients=True,
            climate_normals=climate.normals(),
        )

    return grid, climate, model


def test_ad_steps_close_the_balance(world) -> None:
    grid, climate, model = world
    state = State.bare(grid.ngrid)
    advance_checked(model(True), climate, state, 0, 3)


def test_ad_restart_and_exit_as_elm_does(world, tmp_path: Path) -> None:
    grid, climate, model = world
    ad_model, normal = model(True), model(False)
    state = State.bare(grid.ngrid)
    ad_model.advance(state, climate, 0, 15)
    path = tmp_path / "ad.elm.r.0016-01-01-00000.nc"
    write_testbed_restart(path, grid, ad_model, state, year=16)
    report = elmai.check_restart(path)
    assert report.ok, report.table()
    with elmai.open_restart(path) as r:
        assert int(r.read("spinup_state")) == 1
        scalaravg = r.read("scalaravg_col")[r.subgrid.column_landunit_type == 1, :10]  # natural veg
    np.testing.assert_allclose(scalaravg, ad_model.scalaravg)
    assert np.all(scalaravg > 0)
    # read in normal mode: ELM's exit rescaling
    exited = read_testbed_state(path, normal)
    factor = normal.ad_factors[7] / scalaravg  # ELM's max(1, 1/(k_s4*365)) = 27.4 over scalaravg_col
    assert abs(normal.ad_factors[7] - 27.3959) < 1e-3 and abs(normal.ad_factors[3] - 1.3692) < 1e-3
    cwd_factor = normal.ad_factors[3] / scalaravg  # CWD: max(1, 0.5/(k_frag*365)) = 1.37
    np.testing.assert_allclose(exited.soil_c[3], state.soil_c[3] * cwd_factor, rtol=1e-15)
    np.testing.assert_allclose(exited.soil_c[7], state.soil_c[7] * factor, rtol=1e-15)
    np.testing.assert_allclose(exited.soil_c[5], state.soil_c[5])  # soil2 is not accelerated
    np.testing.assert_allclose(exited.veg_c[3], state.veg_c[3] * AD_MORTALITY_FACTOR)
    # read in AD mode: the deflated state as stored
    np.testing.assert_array_equal(read_testbed_state(path, ad_model).soil_c, state.soil_c)


def test_ad_reaches_the_slow_pools_sooner(world) -> None:
    grid, climate, model = world
    normal = model(False)
    native, ad = State.bare(grid.ngrid), State.bare(grid.ngrid)
    normal.advance(native, climate, 0, 40)
    ad_model = model(True)
    ad_model.advance(ad, climate, 0, 40)
    normal.exit_ad(ad, ad_model.scalaravg)
    soil4_native = normal.soil_stock(native.soil_c[7]) @ grid.area
    soil4_ad = normal.soil_stock(ad.soil_c[7]) @ grid.area
    assert soil4_ad > 3 * soil4_native
