"""`make demo` runs end to end (small unseen world, the shipped model) and its report is complete."""

from __future__ import annotations

import json
from pathlib import Path

from elmai.apps import demo


def test_demo_runs_and_writes_its_report(tmp_path: Path) -> None:
    args = ["--out", str(tmp_path), "--resolution", "10", "--years", "4", "--forcing-years", "2",
            "--reference-sample", "40", "--reference-max-years", "40"]  # fmt: skip
    assert demo.main(args) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["checks_ok"] is True and s["balance_failures"] == 0
    e = s["transfer"]
    assert {"soil4c_vr", "soil3c_vr", "cwdc_vr", "deadstemc", "deadcrootc", "tlai"} <= set(e["r2"])
    assert e["cells_trained_on"] == 0 and e["cells_scored"] == e["cells"] == s["gridcells"]
    assert set(s["years_to_equilibrium"]) == {"ai", "ai_prediction_only", "native", "ad"}
    assert s["years_to_equilibrium"]["native"] is None  # a native spin-up takes far longer than 40 years
    assert s["model_trained_on"]["resolution_deg"] == [2.0] and len(s["model_trained_on"]["worlds"]) == 4
    assert {"ai_route", "training_targets", "native", "ad"} <= set(e["gridcell_years"])
    for name in s["plots"]:
        assert (tmp_path / name).stat().st_size > 10_000, name
    report = (tmp_path / "report.md").read_text()
    assert "never saw" in report and "AD+native / AI route" in report and "zero-shot" in report
    assert (tmp_path / "report.html").exists()
