"""`make demo` runs end to end (small grid) and its report is complete."""

from __future__ import annotations

import json
from pathlib import Path

from elmai import demo


def test_demo_runs_and_writes_its_report(tmp_path: Path) -> None:
    assert demo.main(["--out", str(tmp_path), "--gridcells", "60"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["changed_variables"] == sorted(demo.SLOW_POOLS)
    assert set(summary["timings_s"]) >= {"read all: elmai", "write_restart: elmai"}
    assert (tmp_path / "restart_io.png").stat().st_size > 10_000
    assert "foundation only" in (tmp_path / "report.md").read_text()
