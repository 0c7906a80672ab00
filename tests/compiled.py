"""Build helpers for the tests that compile C and Fortran programs against the installed
core, using the flags `python -m elmai.config` prints (as an ELM build would)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from elmai import config


def compile_program(source: Path, out: Path, extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile a C (.c) or Fortran (.F90) program against libelmai; skip if no compiler.
    `extra_flags` go before the source (e.g. -ffpe-trap=invalid,zero,overflow)."""
    if source.suffix == ".c":
        cc, flags, libs = "cc", config.cflags(), config.libs(fortran=False)
    else:
        cc, flags, libs = "gfortran", config.fflags(), config.libs(fortran=True)
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not installed")
    cmd = [cc, "-O1", "-Wall", *extra_flags, *shlex.split(flags), str(source), "-o", str(out)]
    cmd += shlex.split(libs)
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"compile failed: {' '.join(cmd)}\n{done.stderr}"
    return out


def run_program(exe: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)
