"""The benchmark runner works end to end (small inputs; no timing is asserted), and every
figure says whether its reference was measured in the run or is a fixed budget."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    figures = {f["name"]: f for f in result["figures"]}
    assert {"read all: elmai", "write_restart (6 vars): elmai", "selective read: xarray"} <= set(figures)
    for f in [*result["figures"], *inference["figures"]]:
        assert f["seconds"] > 0 and f["reference_seconds"] > 0
        # every figure says what its reference is: these two benchmarks time theirs in the run
        assert f["reference_kind"] == "measured", f["name"]
    # xarray is compared like for like (raw values, as elmai returns them); the CF-decoding
    # read is a second figure that says so
    assert "decode_cf=False" in figures["read all: xarray"]["note"]
    assert "decode_cf=False" in figures["selective read: xarray"]["note"]
    for name in ("read all: xarray (CF decoding)", "selective read: xarray (CF decoding)"):
        assert "not like for like" in figures[name]["note"] and not figures[name]["target"]


def test_budget_references_are_labelled() -> None:
    """A fixed budget (an issue's "<= 5 min") is not a same-run measurement: the figure says
    so, in the table and in the JSON."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import BenchResult, Figure

    budget = Figure(
        "native 20 yr at 1 deg", 150.0, "issue budget 300 s", 300.0, "<= 1", reference_kind="budget"
    )
    measured = Figure("read all: elmai", 0.2, "floor (bytes into memory)", 0.1)
    assert measured.reference_kind == "measured"
    rows = BenchResult("b", "budget labels", [budget, measured]).table().splitlines()
    assert re.search(
        r"issue budget 300 s\s+budget\s", next(r for r in rows if r.lstrip().startswith("native"))
    )
    assert "budget" not in next(r for r in rows if r.lstrip().startswith("read all"))
    with pytest.raises(ValueError):
        Figure("x", 1.0, "y", 1.0, reference_kind="guess")  # type: ignore[arg-type]


def test_every_fixed_reference_is_a_labelled_budget() -> None:
    """Audit of benchmarks/bench_*.py: a Figure whose reference is a constant (a BUDGET_*
    name or a number) must carry reference_kind="budget", and only those do."""
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        tree = ast.parse(path.read_text())
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Figure"):
                continue
            ref = call.args[3] if len(call.args) > 3 else None
            ref = ref or next((k.value for k in call.keywords if k.arg == "reference_seconds"), None)
            fixed = isinstance(ref, ast.Constant) or (
                isinstance(ref, ast.Name) and ref.id.startswith("BUDGET")
            )
            kind = next((k.value for k in call.keywords if k.arg == "reference_kind"), None)
            labelled = isinstance(kind, ast.Constant) and kind.value == "budget"
            assert fixed == labelled, (
                f"{path.name}:{call.lineno}: reference fixed={fixed}, labelled budget={labelled}"
            )
