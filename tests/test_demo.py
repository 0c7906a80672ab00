"""`make demo` runs end to end (small grid) and its report is complete."""

from __future__ import annotations

import json
from pathlib import Path

from elmai import demo


def test_demo_runs_and_writes_its_report(tmp_path: Path) -> None:
    args = ["--out", str(tmp_path), "--resolution", "10", "--years", "4", "--forcing-years", "2"]
    assert demo.main(args) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["check_ok"] is True and summary["balance_failures"] == 0
    early, ai = summary["criterion_fraction"]["early"], summary["criterion_fraction"]["ai"]
    assert len(ai) == len(early) >= 2  # one point per year with a whole forcing cycle behind it
    assert ai[-1] < 0.03 < early[-1]  # the AI (oracle) restart is at equilibrium, the early one is not
    for name in summary["plots"]:
        assert (tmp_path / name).stat().st_size > 10_000
    assert "oracle" in (tmp_path / "report.md").read_text()
