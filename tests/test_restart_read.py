"""Every read through the compiled core equals what netCDF4-python reads."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

import elmai
from elmai.io import elm_names as N
from tests.conftest import read_all_netcdf4, shared_data


def test_metadata_matches_netcdf4(any_restart: Path) -> None:
    with netCDF4.Dataset(any_restart) as ref, elmai.open_restart(any_restart) as r:
        assert r.format == ref.data_model
        assert r.dims == {name: len(d) for name, d in ref.dimensions.items()}
        assert r.unlimited_dims == tuple(n for n, d in ref.dimensions.items() if d.isunlimited())
        assert r.variables == list(ref.variables)
        for name, var in ref.variables.items():
            info = r.info(name)
            assert info.dims == var.dimensions
            assert info.shape == var.shape
            assert info.dtype == var.dtype


def test_every_variable_equals_netcdf4(any_restart: Path) -> None:
    ref = read_all_netcdf4(any_restart)
    with elmai.open_restart(any_restart) as r:
        for name, expected in ref.items():
            got = r.read(name)
            assert got.dtype == expected.dtype, name
            assert got.shape == expected.shape, name
            assert got.flags.c_contiguous
            np.testing.assert_array_equal(got, expected, err_msg=name)


def test_fill_values_are_returned_as_stored(elmai_restart: Path) -> None:
    with elmai.open_restart(elmai_restart) as r:
        lake = r.subgrid.column_type == N.ISTDLAK
        assert lake.any()
        soil4 = r.read("soil4c_vr")
        assert np.all(soil4[lake] == N.SPVAL)  # not masked, not NaN
        assert np.all(soil4[~lake, : N.NLEVDECOMP] < N.SPVAL)
        assert r.read("spinup_state").shape == ()
        assert r.read("cols1d_ityp").dtype == np.int32


def test_attributes_match_netcdf4(any_restart: Path) -> None:
    with netCDF4.Dataset(any_restart) as ref, elmai.open_restart(any_restart) as r:
        assert list(r.global_attrs) == ref.ncattrs()
        for key in ref.ncattrs():
            np.testing.assert_array_equal(
                np.atleast_1d(r.global_attrs[key]), np.atleast_1d(ref.getncattr(key))
            )
        for name in ("soil4c_vr", "pfts1d_itypveg", "spinup_state", "grid1d_lat"):
            var = ref.variables[name]
            attrs = r.attrs(name)
            assert list(attrs) == var.ncattrs()
            for key in var.ncattrs():
                np.testing.assert_array_equal(np.atleast_1d(attrs[key]), np.atleast_1d(var.getncattr(key)))
        assert r.attrs("soil4c_vr")["_FillValue"][0] == N.SPVAL
        assert r.attrs("pfts1d_itypveg")["_FillValue"][0] == N.ISPVAL


def test_subgrid_is_zero_based_and_consistent(any_restart: Path) -> None:
    ref = read_all_netcdf4(any_restart)
    with elmai.open_restart(any_restart) as r:
        sub = r.subgrid
    np.testing.assert_array_equal(sub.pft_column, ref["pfts1d_column_index"] - 1)
    np.testing.assert_array_equal(sub.column_gridcell, ref["cols1d_gridcell_index"] - 1)
    np.testing.assert_array_equal(sub.pft_gridcell, ref["pfts1d_gridcell_index"] - 1)
    np.testing.assert_array_equal(sub.pft_weight_column, ref["pfts1d_wtcol"])
    # the hierarchy holds: a pft's gridcell is its column's gridcell, weights sum to 1
    np.testing.assert_array_equal(sub.column_gridcell[sub.pft_column], sub.pft_gridcell)
    sums = np.bincount(sub.pft_column, weights=sub.pft_weight_column, minlength=sub.column_type.size)
    np.testing.assert_allclose(sums, 1.0)
    gsum = np.bincount(sub.column_gridcell, weights=sub.column_weight)
    np.testing.assert_allclose(gsum, 1.0)
    assert Path(sub.source_variable("pft_column")).name == "pfts1d_column_index"


def test_to_xarray_equals_xarray_open_dataset(any_restart: Path) -> None:
    with elmai.open_restart(any_restart) as r:
        ours = r.to_xarray()
        few = r.to_xarray(["soil3c_vr", "tlai"])
    ref = xr.open_dataset(any_restart, mask_and_scale=False, decode_times=False).load()
    assert set(ours.data_vars) == set(ref.variables)
    for name in ref.variables:
        assert ours[name].dims == ref[name].dims
        np.testing.assert_array_equal(ours[name].values, ref[name].values, err_msg=name)
    assert set(few.data_vars) == {"soil3c_vr", "tlai"}
    assert ours.attrs["title"] == "ELM Restart information"


def test_read_many_and_contains(elmai_restart: Path) -> None:
    with elmai.open_restart(elmai_restart) as r:
        got = r.read_many(N.SPINUP_PFT_TARGETS + N.SPINUP_COLUMN_TARGETS)
        assert set(got) == set(N.SPINUP_PFT_TARGETS + N.SPINUP_COLUMN_TARGETS)
        assert "soil4c_vr" in r and "no_such_thing" not in r
        assert "NETCDF" in repr(r)


def test_closed_file_refuses_reads(elmai_restart: Path) -> None:
    r = elmai.open_restart(elmai_restart)
    r.close()
    with pytest.raises(elmai.errors.InvalidArgumentError, match="closed"):
        r.read("tlai")


def test_real_elm_parameter_file() -> None:
    """The real ELM parameter file (CDF-1, 305 variables) reads exactly as netCDF4-python reads it."""
    path = shared_data("elm", "clm_params_c211124vpft.nc")
    ref = read_all_netcdf4(path)
    with elmai.open_netcdf(path) as r:  # the generic reader's name; open_restart is the same
        assert r.format == "NETCDF3_CLASSIC"
        assert len(r.variables) == len(ref) >= 300
        for name, expected in ref.items():
            got = r.read(name)
            assert got.dtype == expected.dtype and got.shape == expected.shape, name
            np.testing.assert_array_equal(got, expected, err_msg=name)
        leafcn = r.read("leafcn")
        assert leafcn.shape == (r.dims["pft"],) and np.all(leafcn[1:] > 0)
