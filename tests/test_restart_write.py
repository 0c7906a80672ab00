"""write_restart: replaced variables change, everything else is preserved exactly."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import netCDF4
import numpy as np
import pytest

import elmai
from elmai.io import elm_names as N
from elmai.io.sample_restart import make_sample_restart
from tests.conftest import read_all_netcdf4


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def attrs_of(ds: netCDF4.Dataset, var: str | None = None) -> dict:
    obj = ds if var is None else ds.variables[var]
    return {k: np.atleast_1d(obj.getncattr(k)).tolist() for k in obj.ncattrs()}


@pytest.mark.parametrize("method", ["auto", "define"])
def test_round_trip_preserves_everything_else(any_restart: Path, tmp_path: Path, method: str) -> None:
    before = sha256(any_restart)
    ref = read_all_netcdf4(any_restart)
    updates = {
        "soil4c_vr": np.where(ref["soil4c_vr"] < N.SPVAL, ref["soil4c_vr"] * 3.5, N.SPVAL),
        "deadstemc": ref["deadstemc"] + 1.25,
        "spinup_state": np.int32(1),
        "flux_rec": ref["flux_rec"] * -1,  # a record variable
    }
    dst = tmp_path / "ai.elm.r.0021-01-01-00000.nc"
    elmai.write_restart(any_restart, dst, updates, history="AI spin-up test", method=method)

    assert sha256(any_restart) == before, "the source must never be modified"
    out = read_all_netcdf4(dst)
    assert list(out) == list(ref)
    for name in ref:
        expected = updates.get(name, ref[name])
        assert out[name].dtype == ref[name].dtype, name
        np.testing.assert_array_equal(out[name], expected, err_msg=name)

    with netCDF4.Dataset(any_restart) as a, netCDF4.Dataset(dst) as b:
        assert b.data_model == a.data_model
        assert {n: (len(d), d.isunlimited()) for n, d in b.dimensions.items()} == {
            n: (len(d), d.isunlimited()) for n, d in a.dimensions.items()
        }
        ga, gb = attrs_of(a), attrs_of(b)
        history_a, history_b = ga.pop("history")[0], gb.pop("history")[0]
        assert gb == ga and list(b.ncattrs()) == list(a.ncattrs())
        assert history_b.startswith(history_a + "\n")
        assert history_b.rstrip().endswith("AI spin-up test")
        for name in a.variables:
            assert attrs_of(b, name) == attrs_of(a, name), name
            assert b.variables[name].dimensions == a.variables[name].dimensions


def test_copy_with_no_updates_is_identical_but_history(elmai_restart: Path, tmp_path: Path) -> None:
    dst = tmp_path / "copy.nc"
    elmai.write_restart(elmai_restart, dst, {})
    result = elmai.io.diff_restarts(str(elmai_restart), str(dst))
    assert result.equal
    with elmai.open_restart(dst) as r:
        assert "elmai write_restart" in r.global_attrs["history"].splitlines()[-1]


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_DATA", "NETCDF4"])
@pytest.mark.parametrize("gatts", [{"title": "t"}, {}])
def test_history_is_created_when_absent(tmp_path: Path, fmt: str, gatts: dict) -> None:
    src = tmp_path / "nohist.nc"
    elmai.write_netcdf(src, {"tlai": (("pft",), np.arange(4.0)), "n": ((), np.int32(3))}, gatts, format=fmt)
    dst = tmp_path / "out.nc"
    elmai.write_restart(src, dst, {"tlai": np.ones(4)}, history="first line")
    with netCDF4.Dataset(dst) as ds:
        assert ds.ncattrs() == [*gatts, "history"]
        assert ds.getncattr("history").endswith("first line")
        np.testing.assert_array_equal(ds.variables["tlai"][...], np.ones(4))
        assert ds.variables["n"][...] == 3
        for key, value in gatts.items():
            assert ds.getncattr(key) == value


def test_overwrites_an_existing_destination_and_keeps_mode(elmai_restart: Path, tmp_path: Path) -> None:
    os.chmod(elmai_restart, 0o640)
    dst = tmp_path / "existing.nc"
    dst.write_text("old content")
    elmai.write_restart(elmai_restart, dst, {"tlai": read_all_netcdf4(elmai_restart)["tlai"] * 0})
    assert stat.S_IMODE(dst.stat().st_mode) == 0o640
    with elmai.open_restart(dst) as r:
        assert np.all(r.read("tlai") == 0)


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA"])
def test_source_with_header_padding(tmp_path: Path, fmt: str) -> None:
    """A source whose data does not start right after its header (PIO/PnetCDF files often
    reserve room) lands at other offsets in the copy: the copy must follow both layouts."""
    src = tmp_path / "padded.nc"
    make_sample_restart(src, ngridcells=20, format=fmt, record_dim=True, header_pad=10_000, seed=5)
    ref = read_all_netcdf4(src)
    dst = tmp_path / "out.nc"
    elmai.write_restart(src, dst, {"cwdc_vr": ref["cwdc_vr"] * 0.5}, method="define")
    assert dst.stat().st_size < src.stat().st_size - 9_000  # netcdf-c's copy has no padding
    out = read_all_netcdf4(dst)
    for name in ref:
        expected = ref[name] * 0.5 if name == "cwdc_vr" else ref[name]
        np.testing.assert_array_equal(out[name], expected, err_msg=name)


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_DATA"])
def test_source_with_header_larger_than_first_read(tmp_path: Path, fmt: str) -> None:
    """Headers beyond the 64 KiB first read (1,500+ variables with attributes) parse fully."""
    src = tmp_path / "big_header.nc"
    make_sample_restart(src, ngridcells=8, format=fmt, seed=6)
    with netCDF4.Dataset(src, "a") as ds:
        ds.setncattr("notes", "x" * 150_000)
    ref = read_all_netcdf4(src)
    for method in ("auto", "define"):
        dst = tmp_path / f"out_{method}.nc"
        elmai.write_restart(src, dst, {"tlai": ref["tlai"] + 1}, method=method, history="h" * 9000)
        out = read_all_netcdf4(dst)
        for name in ref:
            expected = ref[name] + 1 if name == "tlai" else ref[name]
            np.testing.assert_array_equal(out[name], expected, err_msg=f"{method}: {name}")


@pytest.mark.parametrize("pad", [0, 100, 5000])
def test_rewritten_header_keeps_page_alignment_and_padding(tmp_path: Path, pad: int) -> None:
    """The fast path moves data by whole pages, and reuses free header space when the new
    history fits in it (no data moves at all then)."""
    src = tmp_path / "src.nc"
    make_sample_restart(src, ngridcells=10, format="NETCDF3_64BIT_OFFSET", header_pad=pad, seed=9)
    dst = tmp_path / "dst.nc"
    elmai.write_restart(src, dst, {}, history="short")
    grow = dst.stat().st_size - src.stat().st_size
    assert grow % 4096 == 0
    if pad >= 1000:
        assert grow == 0
    assert elmai.io.diff_restarts(str(src), str(dst)).equal
