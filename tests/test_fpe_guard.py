"""A host running with floating-point traps on (ELM debug builds: -ffpe-trap) survives
model load and forward even when the model raises invalid/overflow/divide-by-zero
internally: elmai masks traps around them and restores the host's environment."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.compiled import compile_program, run_program
from tests.conftest import ROOT

TESTS = ROOT / "fortran_bridge" / "tests"
TRAP_FLAGS = ("-ffpe-trap=invalid,zero,overflow",)


@pytest.fixture(scope="module")
def fpe_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fpe")
    cmd = [sys.executable, str(TESTS / "make_test_models.py"), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out / "fpe_prone.pt"


def fortran_input() -> np.ndarray:
    i = np.arange(1, 5)[:, None]
    j = np.arange(1, 4097)[None, :]
    x = ((i * j) % 7 - 3).astype(np.float32) * 0.5  # Fortran x(4, 4096)
    return np.ascontiguousarray(x.T)  # the model's [4096, 4]


def reference(model: Path) -> np.ndarray:
    with torch.no_grad():
        return torch.jit.load(str(model))(torch.from_numpy(fortran_input())).numpy()


ENABLE_TRAPS = """
import ctypes, numpy as np, sys
libm = ctypes.CDLL("libm.so.6")
FE_INVALID, FE_DIVBYZERO, FE_OVERFLOW = 1, 4, 8
"""


def test_model_really_raises_fp_exceptions(fpe_model: Path) -> None:
    """Control: plain torch in a process with traps on dies of SIGFPE on this model."""
    code = ENABLE_TRAPS + textwrap.dedent(f"""
        import torch
        m = torch.jit.load({str(fpe_model)!r})
        x = torch.tensor([[-1.0, 0.0, 1.0, 0.5]])
        libm.feenableexcept(FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW)
        m(x)
        print("survived")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGFPE, (done.returncode, done.stdout, done.stderr[-2000:])


@pytest.mark.parametrize("threads", ["1", "2"])
def test_fortran_with_traps_gets_ok_and_no_sigfpe(fpe_model: Path, tmp_path: Path, threads: str) -> None:
    exe = compile_program(TESTS / "fpe_traps.F90", tmp_path / "fpe_traps", extra_flags=TRAP_FLAGS)
    done = run_program(exe, str(fpe_model), threads)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-2000:])
    out = dict(line.split(maxsplit=1) for line in done.stdout.splitlines() if " " in line)
    assert out["traps_before"] == "T T T"  # -ffpe-trap took effect
    assert out["load"] == "0" and out["forward"] == "0", done.stdout
    assert out["finite"] == "T"
    assert out["traps_after"] == "T T T"  # the host's traps are back
    want = reference(fpe_model).astype(np.float64).sum()
    np.testing.assert_allclose(float(out["checksum"]), want, rtol=1e-6)


def test_python_host_with_traps(fpe_model: Path) -> None:
    """elmai.Model in a Python process with traps on: results equal torch's, traps kept."""
    ref = reference(fpe_model)
    np.save(Path(fpe_model).with_suffix(".ref.npy"), ref)
    code = ENABLE_TRAPS + textwrap.dedent(f"""
        import elmai
        libm.feenableexcept(FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW)
        m = elmai.Model({str(fpe_model)!r}, threads=2)
        i = np.arange(1, 5)[:, None]; j = np.arange(1, 4097)[None, :]
        x = np.ascontiguousarray((((i * j) % 7 - 3).astype(np.float32) * 0.5).T)
        y = m(x)
        assert np.array_equal(y, np.load({str(Path(fpe_model).with_suffix(".ref.npy"))!r})), "differs"
        print("traps", libm.fegetexcept())
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-2000:])
    assert "traps 13" in done.stdout
