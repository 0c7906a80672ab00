"""The testbed's grid, climate and surface data: real land mask, plausible climate,
PFTs by climate zone, ELM file names (checked with netCDF4-python)."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.apps.testbed import make_climate, make_grid, make_surface
from elmai.apps.testbed.files import write_forcing, write_surface
from elmai.apps.testbed.grid import EARTH_RADIUS_KM, cell_areas
from elmai.io.elm_names import NATPFT, SPVAL


@pytest.fixture(scope="module")
def world():
    grid = make_grid(2.0)
    climate = make_climate(grid, nyears=20, seed=0)
    return grid, climate, make_surface(grid, climate)


def nearest(grid, lat: float, lon: float) -> int:
    d = (grid.cell_lat - lat) ** 2 + ((grid.cell_lon - lon + 180) % 360 - 180) ** 2
    return int(np.argmin(d))


def test_grid_counts_and_areas(world) -> None:
    grid, _, _ = world
    assert 5000 <= grid.ngrid <= 5800  # ~5k land cells at 2 degrees
    full = cell_areas(grid.lat, 2.0).sum() * grid.lon.size
    assert full == pytest.approx(4 * np.pi * EARTH_RADIUS_KM**2, rel=1e-9)
    land = (grid.area * grid.cell_landfrac).sum()
    assert 1.30e8 < land < 1.55e8  # Earth's land incl. Antarctica is ~1.49e8 km2
    assert np.all(grid.cell_landfrac >= 0.5)
    assert not grid.land[np.searchsorted(grid.lat, 0) - 1, np.searchsorted(grid.lon, 200)]  # central Pacific
    for lat, lon in ((50, 10), (-10, 300), (65, 110)):
        i = nearest(grid, lat, lon)
        assert abs(grid.cell_lat[i] - lat) <= 2 and grid.coast_km[i] > 0


def test_grid_scales_with_resolution() -> None:
    assert 21_000 <= make_grid(1.0).ngrid <= 22_500  # ~21k at 1 degree, as the issue states


def test_climate_is_plausible(world) -> None:
    grid, c, _ = world
    t, p = c.annual_mean_temperature_c(), c.annual_precipitation_mm()
    amazon, sahara, siberia = nearest(grid, -3, 300), nearest(grid, 24, 12), nearest(grid, 62, 120)
    assert t[amazon] > 20 and p[amazon] > 1800
    assert t[sahara] > 18 and p[sahara] < 250
    assert t[siberia] < 2 and c.warmest_month_c()[siberia] - c.coldest_month_c()[siberia] > 30
    north, south = grid.cell_lat > 30, grid.cell_lat < -30
    july, january = c.TBOT[:, 6].mean(axis=0), c.TBOT[:, 0].mean(axis=0)
    assert np.all(july[north] > january[north]) and np.all(july[south] < january[south])
    assert c.FSDS.min() >= 0 and c.PRECTmms.min() >= 0 and np.all(c.QBOT > 0)
    assert np.all(c.PSRF < 101326) and np.all(c.PSRF > 50_000)
    # inter-annual variability exists and is reproducible
    assert c.TBOT.mean(axis=1).std(axis=0).mean() > 0.2
    np.testing.assert_array_equal(make_climate(grid, nyears=20, seed=0).TBOT, c.TBOT)
    assert not np.array_equal(make_climate(grid, nyears=20, seed=1).TBOT, c.TBOT)
    np.testing.assert_array_equal(c.month(23, 5)["TBOT"], c.TBOT[3, 5])  # the period recycles


def test_pft_mix_by_climate_zone(world) -> None:
    grid, _, s = world
    w = s.pft_weights
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    assert np.all((w == 0) | (w >= 0.05 - 1e-12))
    assert np.all((w > 0).sum(axis=0) <= 5)
    assert np.argmax(w[:, nearest(grid, -3, 300)]) == 4  # Amazon: broadleaf evergreen tropical
    assert np.argmax(w[:, nearest(grid, 24, 12)]) == 0  # Sahara: bare
    siberia = nearest(grid, 62, 120)
    assert w[2, siberia] + w[3, siberia] > 0.2  # boreal needleleaf
    assert w[0, nearest(grid, -80, 60)] == 1.0  # Antarctica: bare
    assert ((w > 0).sum(axis=0) >= 2).mean() > 0.5  # most cells mix several PFTs
    assert 0.05 < np.average(w[0], weights=grid.area) < 0.4
    assert np.all(s.pct_sand + s.pct_clay <= 100) and np.all(s.organic > 0)


def test_surface_and_forcing_files_use_elm_names(tmp_path: Path) -> None:
    grid = make_grid(6.0)
    climate = make_climate(grid, nyears=2, seed=3)
    surface = make_surface(grid, climate)
    write_surface(tmp_path / "surfdata.nc", grid, surface)
    write_forcing(tmp_path / "forcing.nc", grid, climate)
    j, i = grid.jxy - 1, grid.ixy - 1
    with netCDF4.Dataset(tmp_path / "surfdata.nc") as ds:
        ds.set_auto_mask(False)
        assert ds.dimensions["natpft"].size == NATPFT and ds.dimensions["nlevsoi"].size == 10
        pct = ds["PCT_NAT_PFT"][...]
        np.testing.assert_allclose(pct[:, j, i], surface.pct_nat_pft)
        np.testing.assert_allclose(pct.sum(axis=0), 100.0)
        np.testing.assert_array_equal(ds["PFTDATA_MASK"][...], grid.land.astype(int))
        for name in ("PCT_SAND", "PCT_CLAY", "ORGANIC", "LANDFRAC_PFT", "AREA", "LATIXY", "LONGXY"):
            assert name in ds.variables
    with netCDF4.Dataset(tmp_path / "forcing.nc") as ds:
        ds.set_auto_mask(False)
        assert ds.dimensions["time"].isunlimited() and len(ds.dimensions["time"]) == 24
        tbot = ds["TBOT"][...]
        np.testing.assert_allclose(tbot[:, j, i], climate.TBOT.reshape(24, -1))
        assert np.all(tbot[:, ~grid.land] == np.float32(SPVAL))
        assert ds["time"].calendar == "noleap"
        for name in ("PRECTmms", "FSDS", "FLDS", "QBOT", "PSRF", "WIND"):
            assert ds[name].dimensions == ("time", "lat", "lon")
