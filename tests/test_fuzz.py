"""A short run of the restart fuzzer (tests/fuzz_restarts.py; `make fuzz` runs 10,000 files)
and the defects it found, each pinned by a test."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import netCDF4
import pytest

from elmai.data import features as F
from elmai.errors import ElmaiError
from tests import fuzz_restarts as FZ
from tests.conftest import shared_data

ROOT = Path(__file__).resolve().parents[1]


def test_mutated_restarts_get_one_line_errors_and_never_crash(tmp_path: Path) -> None:
    summary = FZ.run_fuzz(48, tmp_path / "fuzz", seed=11, timeout=300, progress=False)
    assert summary["files"] == 48
    assert (summary["crashes"], summary["hangs"], summary["tracebacks"], summary["inputs_modified"]) == (
        0, 0, 0, 0
    ), summary["defects"]  # fmt: skip
    ops = summary["operations"]
    assert set(ops) == set(FZ.OPERATIONS)
    # the mutations do reach the rules: files refused with a message and findings reported
    assert ops["check"].get("error", 0) > 0 and ops["check"].get("findings", 0) > 0
    assert summary["error_messages"]
    assert all("\n" not in m for m in summary["error_messages"])


def test_a_header_claiming_more_than_the_file_holds_is_refused_before_netcdf_c_allocates(
    tmp_path: Path,
) -> None:
    """A flipped bit in a count once made netcdf-c allocate gigabytes (the OOM killer ended
    the process): elmai parses the classic header within the file's size first."""
    bad = tmp_path / "huge_count.nc"
    data = bytearray(shared_data("elm", "site_fullrun_docker_tr_demo_fini.nc").read_bytes())
    assert data[:3] == b"CDF" and data[8:12] == b"\x00\x00\x00\x0a"  # the dimension list
    data[12:16] = (0x7FFFFFFF).to_bytes(4, "big")  # ndims
    bad.write_bytes(bytes(data))
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        import elmai
        from elmai.errors import FileFormatError
        try:
            elmai.open_restart({str(bad)!r})
        except FileFormatError as e:
            print(e)
            sys.exit(0)
        sys.exit(1)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "malformed or truncated NetCDF header" in done.stdout and str(bad) in done.stdout


@pytest.mark.parametrize(
    ("variable", "change", "says"),
    [
        ("grid1d_lon", "drop", "grid1d_lon"),
        ("pfts1d_column_index", "past_end", "pfts1d_column_index"),
        ("cols1d_gridcell_index", "past_end", "cols1d_gridcell_index"),
    ],
)
def test_corrupted_subgrid_maps_name_the_variable(
    tmp_path: Path, variable: str, change: str, says: str
) -> None:
    path = tmp_path / "map.nc"
    shutil.copyfile(shared_data("elm", "site_fullrun_docker_tr_demo_fini.nc"), path)
    path.chmod(0o644)
    with netCDF4.Dataset(path, "r+") as ds:
        if change == "drop":
            ds.renameVariable(variable, f"{variable}_gone")
        else:
            v = ds.variables[variable]
            values = v[...]
            values[-1] = 10**6
            v[...] = values
    with pytest.raises(ElmaiError, match=says) as caught:
        F.read_cell_pools(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_spinup_state_that_is_not_a_scalar_fails_check_and_is_refused(tmp_path: Path) -> None:
    import elmai

    path = tmp_path / "state.nc"
    shutil.copyfile(shared_data("elm", "site_fullrun_docker_tr_demo_fini.nc"), path)
    path.chmod(0o644)
    with netCDF4.Dataset(path, "r+") as ds:  # the fuzzer's "reshape": the same name on the pft dimension
        ds.renameVariable("spinup_state", "spinup_state_old")
        ds.createVariable("spinup_state", "i4", ("pft",))[:] = 0
    report = elmai.check_restart(path)
    assert not report.ok and report.counts["spinup_state"] == 1
    assert "must be a scalar" in report.failure_lines(1)[0]
    with pytest.raises(ElmaiError, match="spinup_state must be one number") as caught:
        F.read_cell_pools(path)
    assert str(path) in str(caught.value)


def test_a_netcdf4_file_that_crashes_hdf5_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """A fuzzed NetCDF-4 file (tests/data/damaged_netcdf4.nc.gz, 22 random bytes in an elmai
    sample) on which Debian's HDF5 1.10 double-frees in its link table once libtorch is in
    the process: elmai reads a NetCDF-4 header in a forked child first and reports the
    crash as a one-line error."""
    import gzip

    damaged = tmp_path / "damaged.nc"
    damaged.write_bytes(gzip.decompress((ROOT / "tests" / "data" / "damaged_netcdf4.nc.gz").read_bytes()))
    script = textwrap.dedent(f"""
        from elmai.inference import Model
        from elmai.pretrained import default_model
        Model(default_model())  # libtorch in the process, as in `elmai spinup`
        import elmai
        from elmai.errors import FileFormatError
        for attempt in range(3):
            try:
                elmai.open_restart({str(damaged)!r})
            except FileFormatError as e:
                print("ERROR", e)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("ERROR")]
    assert len(lines) == 3 and all(str(damaged) in ln for ln in lines), done.stdout


def test_a_netcdf4_file_on_which_hdf5_loops_forever_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """A fuzzed NetCDF-4 file (tests/data/looping_netcdf4.nc.gz, 879 zeroed bytes) on which
    HDF5 never returns from opening (netCDF4-python hangs on it too): the header probe gives
    up after ELMAI_OPEN_PROBE_SECONDS (default 20) and says so in one line."""
    import gzip
    import os

    looping = tmp_path / "looping.nc"
    looping.write_bytes(gzip.decompress((ROOT / "tests" / "data" / "looping_netcdf4.nc.gz").read_bytes()))
    script = textwrap.dedent(f"""
        import elmai
        from elmai.errors import FileFormatError
        try:
            elmai.open_restart({str(looping)!r})
        except FileFormatError as e:
            print("ERROR", e)
    """)
    env = dict(os.environ, ELMAI_OPEN_PROBE_SECONDS="2")
    cmd = [sys.executable, "-c", script]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "did not finish reading its header in 2 s" in done.stdout and str(looping) in done.stdout
