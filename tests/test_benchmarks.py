"""The benchmark runner works end to end (small inputs; no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_quick_benchmark_writes_ratios(tmp_path: Path) -> None:
    env = {**os.environ, "ELMAI_BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--only", "restart_io", "inference"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "read all: elmai" in done.stdout and "ratio" in done.stdout
    inference = json.loads((tmp_path / "inference.json").read_text())
    assert any(f["name"] == "Fortran path, batch 1" for f in inference["figures"])
    result = json.loads((tmp_path / "restart_io.json").read_text())
    assert result["machine"]["core"]["torch"]
    names = {f["name"] for f in result["figures"]}
    assert {"read all: elmai", "write_restart (6 vars): elmai", "selective read: xarray"} <= names
    for f in result["figures"]:
        assert f["seconds"] > 0 and f["reference_seconds"] > 0
        assert abs(f["ratio"] - f["seconds"] / f["reference_seconds"]) < 1e-12
