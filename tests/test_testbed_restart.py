"""Testbed restarts: ELM's format and names, pass `elmai check`, read back exactly, and a
run continued from a restart is identical to one that never stopped."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

import elmai
from elmai.apps.testbed import make_climate, make_grid, make_surface
from elmai.apps.testbed.dynamics import Model, State
from elmai.apps.testbed.restart import read_testbed_state, restart_name, write_testbed_restart
from elmai.io.elm_params import default_params

FIELDS = ("veg_c", "soil_c", "soil_n", "soil_p", "sminn", "sminp")


@pytest.fixture(scope="module")
def run10(tmp_path_factory: pytest.TempPathFactory):
    grid = make_grid(6.0)
    climate = make_climate(grid, nyears=5, seed=2)
    surface = make_surface(grid, climate)
    t_annual = climate.annual_mean_temperature_c()
    model = Model(
        default_params(), surface.pft_weights, surface.pct_sand[0], t_annual, supplement_nutrients=True
    )
    state = State.bare(grid.ngrid)
    model.advance(state, climate, 0, 10)
    path = tmp_path_factory.mktemp("tb") / restart_name("tb", 11)
    write_testbed_restart(path, grid, model, state, year=11, case="tb")
    return grid, climate, model, state, path


def test_restart_has_elm_names_and_passes_every_check(run10) -> None:
    grid, _, model, state, path = run10
    assert path.name == "tb.elm.r.0011-01-01-00000.nc"
    report = elmai.check_restart(path)
    assert report.ok and not report.rules_skipped, report.table()
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        # natural column (17 pfts) + 3 urban landunits x 5 columns (1 pft each) per gridcell
        assert ds.dimensions["pft"].size == grid.ngrid * (17 + 15) and ds.dimensions["levgrnd"].size == 15
        assert ds.dimensions["column"].size == grid.ngrid * 16
        assert int(ds["spinup_state"][...]) == 0 and ds.getncattr("case_id") == "tb"
        natural = np.nonzero(ds["cols1d_ityp"][...] == 1)[0]
        assert natural.size == grid.ngrid
        order = np.argsort(ds["cols1d_gridcell_index"][...][natural])
        soil4 = ds["soil4c_vr"][...]
        assert soil4.shape == (grid.ngrid * 16, 15) and np.all(soil4[:, 10:] == 0)
        np.testing.assert_array_equal(soil4[natural[order], :10], state.soil_c[7])
        special = np.setdiff1d(np.arange(soil4.shape[0]), natural)
        assert np.all(soil4[special] == 0) and np.all(ds["scalaravg_col"][...][special] == 1e36)
        on_natural = np.isin(ds["pfts1d_column_index"][...] - 1, natural)
        dead = ds["deadstemc"][...][on_natural]
        live = model.wtcol.reshape(-1) > 0
        np.testing.assert_array_equal(dead[live], state.veg_c[3].reshape(-1)[live])
        # zero-weight pfts hold ELM's cold-start seeds (deadstemc 0.1 on woody types, else 0)
        woody = model.params.pft["woody"][np.tile(np.arange(17), grid.ngrid)] >= 1
        types = np.tile(np.arange(17), grid.ngrid)
        np.testing.assert_array_equal(dead[~live], np.where(woody & (types > 0), 0.1, 0.0)[~live])
        assert ds["cols1d_gridcell_index"][0] == 1  # 1-based, as ELM writes
        for name in ("totvegc", "totsomc", "totlitc", "totcolc", "totcoln", "totcolp", "cwdp", "tlai",
                     "pfts1d_wtcol", "sminn_vr", "cpool", "xsmrpool", "gresp_storage"):  # fmt: skip
            assert name in ds.variables
        assert "cwdc" not in ds.variables and ds["totvegc"].dimensions == ("pft",)


def test_read_back_is_exact_and_continuation_is_identical(run10) -> None:
    _, climate, model, state, path = run10
    back = read_testbed_state(path, model)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(back, name), getattr(state, name), err_msg=name)
    uninterrupted = state.copy()
    model.advance(uninterrupted, climate, 10, 3)
    model.advance(back, climate, 10, 3)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(back, name), getattr(uninterrupted, name), err_msg=name)


def test_an_elmai_rewritten_restart_continues_too(run10, tmp_path: Path) -> None:
    """A restart elmai rewrote (as the AI spin-up will) is a valid starting point."""
    _, _, model, state, path = run10
    ai = tmp_path / "ai.nc"
    soil4 = elmai.open_restart(path).read("soil4c_vr")
    elmai.write_restart(
        path, ai, {"soil4c_vr": soil4 * 2, "soil4n_vr": soil4 * 2 / 10, "soil4p_vr": soil4 * 2 / 200}
    )
    back = read_testbed_state(ai, model)
    np.testing.assert_array_equal(back.soil_c[7], state.soil_c[7] * 2)


def test_wrong_grid_is_refused(run10) -> None:
    _, _, _, _, path = run10
    grid = make_grid(10.0)
    climate = make_climate(grid, nyears=1)
    surface = make_surface(grid, climate)
    other = Model(
        default_params(), surface.pft_weights, surface.pct_sand[0], climate.annual_mean_temperature_c()
    )
    with pytest.raises(elmai.errors.ShapeError, match="gridcells"):
        read_testbed_state(path, other)
