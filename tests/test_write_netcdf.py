"""elmai.write_netcdf creates files that netCDF4-python reads back exactly."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

import elmai
from elmai import errors
from tests.conftest import FORMATS


@pytest.mark.parametrize("fmt", FORMATS + ["NETCDF4_CLASSIC"])
def test_values_types_attributes_and_record_dims(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(0)
    data = {
        "f8": (
            ("time", "x"),
            rng.standard_normal((3, 4)),
            {"units": "gC/m2", "_FillValue": np.float64(1e36)},
        ),
        "f4": (("x",), rng.standard_normal(4).astype(np.float32), {"scale": np.float32(2.5)}),
        "i4": (
            ("x", "y"),
            np.arange(8, dtype=np.int32).reshape(4, 2),
            {"flags": np.array([1, 2, 3], np.int32)},
        ),
        "i2": (("y",), np.array([-3, 7], np.int16), {}),
        "scalar": ((), np.int32(1), {"long_name": "spin-up state"}),
        "text": (("x", "nchar"), np.array([list("ab"), list("cd"), list("ef"), list("gh")], dtype="S1"), {}),
    }
    path = tmp_path / "f.nc"
    elmai.write_netcdf(
        path,
        data,
        {"title": "t", "version": np.int32(3)},
        format=fmt,
        unlimited=["time"],
        dims={"x": 4, "unused": 7},
    )
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        ds.set_auto_chartostring(False)
        assert ds.data_model == fmt
        assert ds.dimensions["time"].isunlimited() and len(ds.dimensions["time"]) == 3
        assert len(ds.dimensions["unused"]) == 7
        assert list(ds.dimensions)[:2] == ["x", "unused"]
        assert ds.getncattr("title") == "t" and ds.getncattr("version") == 3
        for name, (dims, values, attrs) in data.items():
            var = ds.variables[name]
            assert var.dimensions == dims
            np.testing.assert_array_equal(var[...], values)
            assert var.dtype == np.asarray(values).dtype
            for key, value in attrs.items():
                np.testing.assert_array_equal(var.getncattr(key), value)


def test_inconsistent_dimension_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(errors.ShapeError, match="'x' is 3 here but 4"):
        elmai.write_netcdf(tmp_path / "f.nc", {"a": (("x",), np.zeros(4)), "b": (("x",), np.zeros(3))})
    with pytest.raises(errors.ShapeError, match="dims"):
        elmai.write_netcdf(tmp_path / "f.nc", {"a": (("x", "y"), np.zeros(4))})
    with pytest.raises(errors.ShapeError, match="length 0"):
        elmai.write_netcdf(tmp_path / "f.nc", {"a": (("x",), np.zeros(2))}, dims={"empty": 0})
    assert list(tmp_path.iterdir()) == []
