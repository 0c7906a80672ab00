"""Bad input gets a clear error naming the file and variable, and loses nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import elmai
from elmai import errors
from tests.conftest import read_all_netcdf4


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture()
def work(tmp_path: Path, elmai_restart: Path) -> tuple[Path, Path]:
    src = tmp_path / elmai_restart.name
    shutil.copy(elmai_restart, src)
    out = tmp_path / "out"
    out.mkdir()
    return src, out


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.nc"
    with pytest.raises(errors.ElmaiFileError, match="nope.nc"):
        elmai.open_restart(path)
    with pytest.raises(OSError):  # also an OSError, as Python users expect
        elmai.open_restart(path)


def test_not_a_netcdf_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.nc"
    path.write_text("this is not netcdf\n" * 100)
    with pytest.raises(errors.FileFormatError, match="notes.nc"):
        elmai.open_restart(path)


def test_directory_is_not_a_restart(tmp_path: Path) -> None:
    with pytest.raises(errors.ElmaiFileError, match="not a regular file"):
        elmai.open_restart(tmp_path)


@pytest.mark.parametrize("keep", [0.999, 0.5, 0.02])
def test_truncated_file(elmai_restart: Path, tmp_path: Path, keep: float) -> None:
    data = elmai_restart.read_bytes()
    path = tmp_path / "truncated.nc"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(errors.FileFormatError, match="truncated.nc"):
        with elmai.open_restart(path) as r:  # NETCDF4 may only fail on read
            for name in r.variables:
                r.read(name)


def test_unknown_variable(elmai_restart: Path) -> None:
    with elmai.open_restart(elmai_restart) as r:
        with pytest.raises(errors.VariableNotFoundError, match=r"soil9c_vr.*|.*soil9c_vr") as e:
            r.read("soil9c_vr")
        assert elmai_restart.name in str(e.value)
        with pytest.raises(KeyError):
            r.info("soil9c_vr")


def check_nothing_written(src: Path, before: str, out: Path) -> None:
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    assert listing(out) == set(), f"partial files left behind: {listing(out)}"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_update_with_wrong_shape(work: tuple[Path, Path]) -> None:
    src, out = work
    before = digest(src)
    with pytest.raises(errors.ShapeError, match=r"soil4c_vr.*\(column, levgrnd\)") as e:
        elmai.write_restart(src, out / "x.nc", {"soil4c_vr": np.zeros((3, 15))})
    assert src.name in str(e.value)
    check_nothing_written(src, before, out)


def test_update_with_wrong_dtype(work: tuple[Path, Path]) -> None:
    src, out = work
    before = digest(src)
    shape = read_all_netcdf4(src)["tlai"].shape
    with pytest.raises(errors.DtypeError, match=r"tlai.*float32|tlai.*<f4"):
        elmai.write_restart(src, out / "x.nc", {"tlai": np.zeros(shape, np.float32)})
    with pytest.raises(errors.DtypeError, match="spinup_state"):
        elmai.write_restart(src, out / "x.nc", {"spinup_state": np.float64(1.0)})
    with pytest.raises(errors.DtypeError, match="tlai"):
        elmai.write_restart(src, out / "x.nc", {"tlai": np.array(["a"] * shape[0], dtype=object)})
    check_nothing_written(src, before, out)


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "Inf"), (-np.inf, "Inf")])
def test_update_with_nonfinite_values_names_the_cell(work: tuple[Path, Path], bad: float, word: str) -> None:
    src, out = work
    before = digest(src)
    data = read_all_netcdf4(src)["soil3c_vr"].copy()
    data[7, 4] = bad
    with pytest.raises(errors.InvalidValueError, match=rf"{word}.*soil3c_vr\[column=7, levgrnd=4\]"):
        elmai.write_restart(src, out / "x.nc", {"soil3c_vr": data})
    check_nothing_written(src, before, out)


def test_update_of_unknown_variable(work: tuple[Path, Path]) -> None:
    src, out = work
    before = digest(src)
    with pytest.raises(errors.VariableNotFoundError, match="soil9c_vr"):
        elmai.write_restart(src, out / "x.nc", {"soil9c_vr": np.zeros(3)})
    check_nothing_written(src, before, out)


def test_destination_equal_to_source_is_refused(work: tuple[Path, Path]) -> None:
    src, out = work
    before = digest(src)
    with pytest.raises(errors.InvalidArgumentError, match="in place"):
        elmai.write_restart(src, src, {})
    link = out / "link.nc"
    os.symlink(src, link)
    with pytest.raises(errors.InvalidArgumentError, match="in place"):
        elmai.write_restart(src, link, {})
    link.unlink()
    check_nothing_written(src, before, out)


def test_read_only_destination(work: tuple[Path, Path]) -> None:
    src, out = work
    before = digest(src)
    dst = out / "locked.nc"
    dst.write_text("keep me")
    dst.chmod(0o444)
    with pytest.raises(errors.ElmaiFileError, match="locked.nc.*read-only"):
        elmai.write_restart(src, dst, {})
    assert dst.read_text() == "keep me"
    dst.chmod(0o644)
    dst.unlink()
    with pytest.raises(errors.ElmaiFileError, match="does not exist"):
        elmai.write_restart(src, out / "missing_folder" / "x.nc", {})
    out.chmod(0o555)
    try:
        with pytest.raises(errors.ElmaiFileError, match="read-only"):
            elmai.write_restart(src, out / "x.nc", {})
    finally:
        out.chmod(0o755)
    check_nothing_written(src, before, out)


def test_failed_write_leaves_existing_destination_untouched(work: tuple[Path, Path]) -> None:
    src, out = work
    dst = out / "previous.nc"
    shutil.copy(src, dst)
    before = digest(dst)
    bad = read_all_netcdf4(src)["tlai"].copy()
    bad[0] = np.nan
    with pytest.raises(errors.InvalidValueError):
        elmai.write_restart(src, dst, {"tlai": bad})
    assert digest(dst) == before
    assert listing(out) == {"previous.nc"}
