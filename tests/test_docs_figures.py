"""python -m tools.docs_figures: figure regions rendered from JSON, everything else untouched."""

from __future__ import annotations

import json

from tools import docs_figures


def _criterion(value: float | None, threshold: float, met: bool | None) -> dict:
    return {"value": value, "threshold": threshold, "units": "", "met": met}


ENTRY = {
    "target_world": {"name": "demo_1deg_seed101", "resolution": 1.0, "seed": 101, "params_draw": None},
    "resolution_deg": 1.0,
    "seed": 101,
    "cells": 21624,
    "cells_trained_on": 0,
    "r2": {"soil4c_vr": 0.95432, "soil3c_vr": 0.9811, "leafc": 0.99995},
    "log_ratio_p50": {"soil4c_vr": 0.0412, "soil3c_vr": 0.02, "cwdc_vr": 0.05},
    "log_ratio_p90": {"soil4c_vr": 0.1534, "soil3c_vr": 0.08, "cwdc_vr": 0.2},
    "cells_scored": 21624,
    "drifting_fraction_ai_alone": 0.38339,
    "drifting_fraction_refined": 0.0123,
    "ctsm_criteria": {
        "TOTECOSYSC": _criterion(0.01, 0.02, True),
        "GPP": _criterion(0.05, 0.02, False),
        "area_drifting": _criterion(0.0123, 0.03, True),
        "all_met": {"met": False},
    },
    "nee_pgc_ai_alone": 0.5,
    "nee_pgc_refined": -0.1,
    "reference_years": {"sample_cells": 500, "ad_years": 50, "native": 2822, "ad": 1049},
    "gridcell_years": {"ai_route": 1319064, "ai_route_simulation": 1319064, "training_targets": 0,
                       "native": 61022928, "ad": 22683576, "source_training_targets_amortised": 22750000,
                       "native_met": True, "ad_met": True},
}  # fmt: skip

SUMMARY = {
    "transfer": ENTRY,
    "resolution_deg": 1.0,
    "gridcells": 21624,
    "model_trained_on": {"resolution_deg": [2.0], "cells": 21692, "worlds": ["a", "b", "c", "d"]},
    "years_to_equilibrium": {"ai": 60, "ai_prediction_only": None, "native": 2822, "ad": 1049},
    "reference_sample_cells": 500,
    "ad_years": 50,
    "balance_failures": 0,
    "checks_ok": True,
    "elapsed_s": 885.24,
}

BENCH = {
    "name": "restart_io",
    "description": "ELM restart read/write",
    "context": {"variables": 1600, "restart_MB": 166.04},
    "figures": [
        {"name": "read all: elmai", "seconds": 0.0551234, "reference": "floor", "reference_seconds": 0.0634,
         "target": "<= 1.2", "note": "", "ratio": 0.869454, "met": True},
        {"name": "read all: xarray", "seconds": 0.6251, "reference": "elmai", "reference_seconds": 0.0551234,
         "target": ">= 20", "note": "open_dataset().load()", "ratio": 11.3401, "met": False},
    ],
    "machine": {"cores": 2, "date": "2026-11-30 06:19:40"},
}  # fmt: skip

DOC = """# title

Prose before, 123.456 s typed by hand.

<!-- figures:demo -->
old demo table
<!-- /figures:demo -->

Between the regions: 9.99x.

<!-- figures:restart_io -->
old restart table
<!-- /figures:restart_io -->

<!-- figures:inference -->
hand-typed inference table, 12.0 us
<!-- /figures:inference -->

After.
"""


def _setup(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "restart_io.json").write_text(json.dumps(BENCH))
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps(SUMMARY))
    md = tmp_path / "doc.md"
    md.write_text(DOC)
    return md, ["--bench", str(bench), "--summary", str(summary), "--files", str(md)]


def _outside(text: str) -> str:
    return docs_figures.REGION.sub(lambda m: f"<{m.group('name')}>", text)


def test_regions_rendered_from_json(tmp_path, capsys):
    md, args = _setup(tmp_path)
    assert docs_figures.main(args) == 0
    text = md.read_text()
    demo = text[text.index("<!-- figures:demo -->") : text.index("<!-- /figures:demo -->")]
    assert "old demo table" not in demo
    assert "0.954 (soil4c_vr)" in demo  # lowest R2 and its target
    assert "0.041 / 0.153" in demo  # p50 / p90 |log ratio| of soil4
    assert "38.3%" in demo and "1.2%" in demo and "2/3 (missed: GPP)" in demo
    assert "1,319,064 (1,319,064 + 0)" in demo and "17.2x" in demo  # AD+native / AI route
    assert "AI route 60; AI prediction alone not reached in the run; native 2,822; AD + native 1,049" in demo
    assert "4 other worlds at 2 deg (21,692 cells)" in demo
    assert "| 885 s |" in demo and "AI + cycle + refine -0.100 PgC/yr" in demo
    io = text[text.index("<!-- figures:restart_io -->") : text.index("<!-- /figures:restart_io -->")]
    assert "| read all: elmai | 0.0551 | floor | 0.0634 | 0.87 | <= 1.2 ok |" in io
    assert "| 11.34 | >= 20 MISSED | open_dataset().load() |" in io
    assert "restart_MB: 166" in io and "variables: 1,600" in io
    # absent JSON: the region keeps its hand text, and is reported
    kept = "<!-- figures:inference -->\nhand-typed inference table, 12.0 us\n<!-- /figures:inference -->"
    assert kept in text
    assert "inference (missing" in capsys.readouterr().out
    # nothing outside the markers moved
    assert _outside(text) == _outside(DOC)
    # a second run changes nothing and --check agrees
    assert docs_figures.main([*args, "--check"]) == 0
    assert md.read_text() == text


def test_check_reports_changes_and_writes_nothing(tmp_path, capsys):
    md, args = _setup(tmp_path)
    assert docs_figures.main([*args, "--check"]) == 1
    assert md.read_text() == DOC
    out = capsys.readouterr().out
    assert "would change" in out and "demo" in out and "restart_io" in out


def test_all_json_absent_leaves_file_untouched(tmp_path):
    md, _ = _setup(tmp_path)
    args = ["--bench", str(tmp_path / "none"), "--summary", str(tmp_path / "none.json"), "--files", str(md)]
    assert docs_figures.main([*args, "--check"]) == 0
    assert docs_figures.main(args) == 0
    assert md.read_text() == DOC


def test_number_formats():
    assert docs_figures.seconds(0.0033321) == "0.00333"
    assert docs_figures.seconds(45.656) == "45.7"
    assert docs_figures.seconds(9.996) == "10.0"
    assert docs_figures.seconds(2822.4) == "2,820"
    assert docs_figures.ratio(16.387) == "16.39"
    assert docs_figures.percent(0.007865) == "0.8%"
    assert docs_figures.duration(12.04e-6) == "12.0 us" and docs_figures.duration(0.0587) == "58.7 ms"


def test_inference_batch_table():
    fig = {"reference": "bare libtorch", "target": "<= 1.05", "note": "", "met": True}
    b = {
        "name": "inference",
        "description": "model forward",
        "figures": [
            {**fig, "name": "Fortran path, batch 1", "seconds": 12.8e-6, "reference_seconds": 12.0e-6,
             "ratio": 12.8 / 12.0, "note": "adds +0.80 us"},
            {**fig, "name": "Python torch, batch 1", "seconds": 21.9e-6, "reference": "elmai Fortran path",
             "reference_seconds": 12.8e-6, "ratio": 1.71, "target": ">= 1.0"},
            {**fig, "name": "Fortran path, 2 threads, batch 1", "seconds": 31e-3,
             "reference_seconds": 59.7e-3, "ratio": 0.52, "target": "", "met": None},
        ],
    }  # fmt: skip
    text = docs_figures.render_inference(b)
    assert "| 1 | 12.0 us | 12.8 us (adds +0.80 us) | 1.07 | <= 1.05 MISSED | 21.9 us |" not in text
    assert "| 1 | 12.0 us | 12.8 us (adds +0.80 us) | 1.07 | <= 1.05 ok | 21.9 us |" in text
    assert "| Fortran path, 2 threads, batch 1 | 0.0310 |" in text
