"""The core's file layer built with AddressSanitizer and UndefinedBehaviorSanitizer and run
on real, ELM-written and damaged restarts (csrc/tests/sanitize_driver.cpp). The model
runner (libtorch, not instrumented) is left out: its C ABI is covered by the Fortran and
C tests of the regular build."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from elmai.io.sample_restart import make_sample_restart
from tests.conftest import shared_data

ROOT = Path(__file__).resolve().parents[1]
# the core's sources without the model runner, the C ABI that wraps it and the build info
# (which reads libtorch's version)
SOURCES = ("balance_check", "classic_layout", "dataset_writer", "file_copy", "netcdf_util",
           "restart_check", "restart_file", "restart_writer", "temp_file")  # fmt: skip
FLAGS = ["-std=c++17", "-g", "-O1", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
         "-fno-sanitize-recover=all"]  # fmt: skip


def _pkg(*args: str) -> list[str]:
    done = subprocess.run(["pkg-config", *args, "netcdf"], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cxx = shutil.which("g++")
    if cxx is None or shutil.which("pkg-config") is None:
        pytest.skip("g++ and pkg-config are needed for the sanitizer build (make setup installs them)")
    out = tmp_path_factory.mktemp("sanitize") / "sanitize_driver"
    sources = [str(ROOT / "csrc" / f"{name}.cpp") for name in SOURCES]
    cmd = [cxx, *FLAGS, f"-I{ROOT / 'csrc' / 'include'}", *_pkg("--cflags"),
           str(ROOT / "csrc" / "tests" / "sanitize_driver.cpp"), *sources, "-o", str(out), *_pkg("--libs"),
           "-lpthread"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def _damaged(src: Path, folder: Path) -> list[Path]:
    """Truncated, header-corrupted and byte-flipped copies of `src`."""
    data = src.read_bytes()
    rng = np.random.default_rng(7)
    files = []
    for name, body in (
        ("truncated_header", data[:200]),
        ("truncated_data", data[: len(data) * 2 // 3]),
        ("huge_ndims", data[:12] + (0x7FFFFFFF).to_bytes(4, "big") + data[16:]),
        ("empty", b""),
    ):
        path = folder / f"{src.stem}_{name}.nc"
        path.write_bytes(body)
        files.append(path)
    for k in range(12):
        flipped = bytearray(data)
        for i in rng.integers(0, min(len(data), 1 << 14), 6):
            flipped[i] ^= 1 << int(rng.integers(0, 8))
        path = folder / f"{src.stem}_flip{k}.nc"
        path.write_bytes(bytes(flipped))
        files.append(path)
    return files


def test_file_layer_is_clean_under_address_and_undefined_behaviour_sanitizers(
    driver: Path, tmp_path: Path
) -> None:
    real = shared_data("elm", "site_fullrun_docker_tr_demo_fini.nc")
    native = shared_data("elm", "elm_written", "s16", "native_year2.elm.r.0003-01-01-00000.nc")
    nc4 = tmp_path / "sample_nc4.nc"
    make_sample_restart(nc4, ngridcells=12, format="NETCDF4", seed=3)
    cdf5 = tmp_path / "sample_cdf5.nc"
    make_sample_restart(cdf5, ngridcells=12, format="NETCDF3_64BIT_DATA", seed=4)
    good = [real, native, nc4, cdf5]
    files = good + _damaged(real, tmp_path) + _damaged(cdf5, tmp_path)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87",
               LSAN_OPTIONS=f"suppressions={ROOT / 'csrc' / 'tests' / 'lsan.supp'}")  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run([str(driver), str(out), *map(str, files)], capture_output=True, text=True,
                          timeout=600, env=env)  # fmt: skip
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    assert "runtime error" not in report and "AddressSanitizer" not in report, report[-6000:]
    lines = done.stdout.splitlines()
    for path in good:  # the good files read, check and write cleanly
        assert f"ok {path}" in lines, report[-3000:]
    errors = [ln for ln in lines if ln.startswith("error ")]
    assert any("huge_ndims" in ln and "malformed or truncated NetCDF header" in ln for ln in errors)
    assert any("truncated_data" in ln and "is truncated" in ln for ln in errors)
    assert lines[-1] == f"files {len(files)}, elmai errors {len(errors)}"
