"""The whole AI spin-up route on testbed worlds in ELM's harder layouts: two topounits per
gridcell, a crop landunit (15 natural pfts on the natural column), glacier-only gridcells
(a zero-weight, inactive natural column), lakes, wetlands and urban columns. Data set,
`elmai spinup`, one cycle, `elmai refine`: every file passes `elmai check`, only natural
columns change, and the counts elmai reports match the file (netCDF4-python)."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

import elmai
from elmai.apps.testbed.run import run_testbed
from elmai.apps.testbed.verify import verify
from elmai.data import build_dataset
from elmai.io import elm_names as N
from elmai.spinup import ai_spinup
from elmai.spinup.refine import refine_spinup


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = tmp_path_factory.mktemp("layouts") / "case"
    run_testbed(case, resolution=10.0, years=4, forcing_years=2, equilibrium=True, progress=False,
                topounits=2, crop=True, glacier_cells=True)  # fmt: skip
    return case


def test_the_layout_has_what_elm_writes(world: Path) -> None:
    with netCDF4.Dataset(world / "elmai_testbed.elm.r.0005-01-01-00000.nc") as ds:
        ltype = ds["cols1d_ityplun"][:]
        assert {N.ISTSOIL, N.ISTCROP, *N.URBAN_LANDUNITS} <= set(ltype.tolist())
        assert ds.dimensions["topounit"].size == 2 * ds.dimensions["gridcell"].size
        natural = np.flatnonzero(ltype == N.ISTSOIL)
        on_natural = np.isin(ds["pfts1d_column_index"][:] - 1, natural)
        assert ds["pfts1d_itypveg"][:][on_natural].max() == 14  # crop pfts live on the crop landunit
        assert (ds["cols1d_active"][:][natural] == 0).any()  # glacier-only cells: inactive natural column


def test_dataset_spinup_cycle_refine_on_the_hard_layout(
    world: Path, trained_small_model: Path, tmp_path: Path
) -> None:
    data = build_dataset(world, 5, tmp_path / "ds.nc")
    early = world / "elmai_testbed.elm.r.0005-01-01-00000.nc"
    with netCDF4.Dataset(early) as ds:
        ltype = ds["cols1d_ityplun"][:]
        natural = np.flatnonzero(ltype == N.ISTSOIL)
        e0 = {v: ds[v][:].copy() for v in ("soil4c_vr", "deadstemc", "leafc")}
    assert data.ncell == natural.size  # one record per natural-vegetation column (topounit)
    ai = tmp_path / "ai.elm.r.0005-01-01-00000.nc"
    res = ai_spinup(early, trained_small_model, ai)
    assert res.checks_ok and res.layout["natural_vegetation_columns"] == natural.size
    assert res.layout["crop_columns"] == int((ltype == N.ISTCROP).sum())
    with netCDF4.Dataset(ai) as ds:
        other = np.setdiff1d(np.arange(ltype.size), natural)
        np.testing.assert_array_equal(ds["soil4c_vr"][:][other], e0["soil4c_vr"][other])
        np.testing.assert_array_equal(ds["leafc"][:], e0["leafc"])  # live vegetation untouched
        assert not np.array_equal(ds["soil4c_vr"][:][natural], e0["soil4c_vr"][natural])
    cycle = verify(ai, 2, tmp_path / "cycle", progress=False)
    refined = refine_spinup(ai, cycle.restarts[-1], tmp_path / "refined.elm.r.0005-01-01-00000.nc",
                            params=str(world / "clm_params.nc"))  # fmt: skip
    assert refined.checks_ok and refined.rate_source.startswith("h0")
    assert elmai.check_restart(tmp_path / "refined.elm.r.0005-01-01-00000.nc").ok
