"""`make demo` runs end to end (small grid, few epochs) and its report is complete."""

from __future__ import annotations

import json
from pathlib import Path

from elmai import demo


def test_demo_runs_and_writes_its_report(tmp_path: Path) -> None:
    args = [
        "--out",
        str(tmp_path),
        "--resolution",
        "10",
        "--years",
        "4",
        "--forcing-years",
        "2",
        "--ranks",
        "2",
        "--epochs",
        "3",
        "--reference-resolution",
        "15",
        "--reference-max-years",
        "60",
        "--ad-years",
        "10",
    ]
    assert demo.main(args) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["checks_ok"] is True and s["balance_failures"] == 0
    assert {"soil4c_vr", "soil3c_vr", "cwdc_vr", "deadstemc", "deadcrootc", "tlai"} <= set(s["r2"])
    assert set(s["years_to_equilibrium"]) == {"ai", "ai_prediction_only", "native", "ad"}
    assert s["years_to_equilibrium"]["native"] is None  # a native spin-up takes far longer than 60 years
    assert len(s["criterion_fraction"]["ai"]) == 2 and s["criterion_window_years"][-1] == 2
    assert len(s["criterion_fraction"]["ai_prediction_only"]) == 2
    assert set(s["newton_change"]) == {"dead wood", "cwd", "soil3", "soil4"}
    assert (tmp_path / "demo_ai_refined.elm.r.0005-01-01-00000.nc").exists()
    assert s["training"]["ranks"] == 2
    for name in s["plots"]:
        assert (tmp_path / name).stat().st_size > 10_000, name
    report = (tmp_path / "report.md").read_text()
    assert "Years to equilibrium" in report and "Newton step" in report
    assert (tmp_path / "report.html").exists()
    assert (tmp_path / "spinup_model.pt").exists() and (tmp_path / "spinup_model.json").exists()
