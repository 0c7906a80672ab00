"""Run the elmai command line under mpirun from tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from elmai.ml.distributed import mpirun_command

ELMAI = str(Path(sys.executable).with_name("elmai"))


def mpirun(n: int, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    cmd, env = mpirun_command(n, *args)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc
