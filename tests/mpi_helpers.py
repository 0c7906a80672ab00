"""Run the elmai command line under mpirun from tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ELMAI = str(Path(sys.executable).with_name("elmai"))


def mpirun(n: int, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = os.environ | {
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMP_NUM_THREADS": "1",
    }
    cmd = ["mpirun", "-n", str(n), "--oversubscribe", ELMAI, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc
