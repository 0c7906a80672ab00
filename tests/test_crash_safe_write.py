"""A writer killed with SIGKILL in the middle of write_restart leaves the source intact,
no destination or a complete one, and no temporary behind: anonymous O_TMPFILE files
vanish with the process; the named fallback's leftovers go on the next write."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import elmai
from elmai.io.sample_restart import make_sample_restart

VAR = "soil4c_vr"
WRITER = """
import sys, elmai
src, dst = sys.argv[1], sys.argv[2]
with elmai.open_restart(src) as r:
    x = r.read("soil4c_vr")
print("ready", flush=True)
elmai.write_restart(src, dst, {"soil4c_vr": x * 1.01}, history="crash test")
print("written", flush=True)
"""


@pytest.fixture(scope="module")
def big_restart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "big.elm.r.nc"
    # ~250 MB: a write takes ~1 s on this machine, long enough to be killed mid-copy
    make_sample_restart(path, ngridcells=10000, n_variables=250, format="NETCDF3_64BIT_OFFSET")
    return path


def digest(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def temporaries(dst: Path) -> list[str]:
    return sorted(p.name for p in dst.parent.iterdir() if p.name.startswith(f".{dst.name}.elmai-"))


def temp_being_written(pid: int, dst: Path) -> int:
    """Size of the writer's temporary (named or anonymous), -1 while it has none."""
    for name in temporaries(dst):
        try:
            return (dst.parent / name).stat().st_size
        except FileNotFoundError:
            pass
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return -1
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            anonymous = target.endswith("(deleted)") and str(dst.parent) in target
            if target.startswith(str(dst.parent) + "/#") or anonymous:
                return os.stat(f"/proc/{pid}/fd/{fd}").st_size
        except (FileNotFoundError, PermissionError):
            pass
    return -1


@pytest.mark.parametrize("anonymous", [True, False], ids=["o_tmpfile", "named-fallback"])
def test_kill_mid_copy_leaves_nothing_behind(big_restart: Path, tmp_path: Path, anonymous: bool) -> None:
    src_digest = digest(big_restart)
    size = big_restart.stat().st_size
    dst = tmp_path / "out.elm.r.nc"
    env = dict(os.environ)
    if not anonymous:
        env["ELMAI_NO_O_TMPFILE"] = "1"
    else:
        env.pop("ELMAI_NO_O_TMPFILE", None)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(big_restart), str(dst)], env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "ready"
    seen = -1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        seen = temp_being_written(proc.pid, dst)
        if 0 < seen < size:  # the copy is under way
            break
        time.sleep(0.0005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the writer finished before it could be killed"
    assert 0 < seen < size, f"never saw a partial temporary (last size {seen} of {size})"

    assert digest(big_restart) == src_digest, "the source changed"
    if dst.exists():  # only a complete file may carry the real name
        with elmai.open_restart(dst) as r, elmai.open_restart(big_restart) as s:
            np.testing.assert_array_equal(r.read(VAR), s.read(VAR) * 1.01)
    left = temporaries(dst)
    if anonymous:
        assert left == [], f"O_TMPFILE write left {left}"
    else:
        assert len(left) == 1 and f".elmai-{proc.pid}@" in left[0], left  # what the next write must clear

    # the next write of the same destination finishes and clears what the dead one left
    with elmai.open_restart(big_restart) as s:
        x = s.read(VAR)
    if not anonymous:
        os.environ["ELMAI_NO_O_TMPFILE"] = "1"
    try:
        elmai.write_restart(big_restart, dst, {VAR: x * 2.0}, history="after the crash")
    finally:
        os.environ.pop("ELMAI_NO_O_TMPFILE", None)
    assert temporaries(dst) == []
    with elmai.open_restart(dst) as r:
        np.testing.assert_array_equal(r.read(VAR), x * 2.0)


def test_live_writers_temporary_is_kept(big_restart: Path, tmp_path: Path) -> None:
    """Two writers of one destination: the second's clean-up leaves the first's live
    temporary alone (its owner is alive and holds its lock) and both writes finish."""
    dst = tmp_path / "shared.nc"
    env = dict(os.environ, ELMAI_NO_O_TMPFILE="1")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(big_restart), str(dst)], env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not temporaries(dst) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.0005)
        if not temporaries(dst):
            pytest.skip("the writer finished before its temporary could be observed")
        with elmai.open_restart(big_restart) as s:
            x = s.read(VAR)
        os.environ["ELMAI_NO_O_TMPFILE"] = "1"
        try:
            elmai.write_restart(big_restart, dst, {VAR: x * 3.0}, history="second writer")
        finally:
            os.environ.pop("ELMAI_NO_O_TMPFILE", None)
    finally:
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "written" in out
    assert temporaries(dst) == []
    with elmai.open_restart(dst) as r:  # whichever rename came last, the file is complete
        got = r.read(VAR)
        assert np.array_equal(got, x * 3.0) or np.array_equal(got, x * 1.01)
