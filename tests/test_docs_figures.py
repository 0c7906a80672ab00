"""python -m elmai.docs_figures: figure regions rendered from JSON, everything else untouched."""

from __future__ import annotations

import json

from elmai import docs_figures

SUMMARY = {
    "r2": {"soil4c_vr": 0.99871, "soil1c_vr": 0.95432, "leafc": 0.99995},
    "nee_pgc": {"ai": [0.1, -0.3], "ai_prediction_only": [0.5, 0.5], "early": [-17.0, -16.0]},
    "criterion_fraction": {
        "ai": [0.9, 0.0123],
        "ai_prediction_only": [0.9, 0.38339],
        "early": [0.9, 0.91587],
    },
    "years_to_equilibrium": {"ai": 40, "ai_prediction_only": None, "native": 2822, "ad": 1049},
    "balance_failures": 0,
    "checks_ok": True,
    "pools_pgc": {"early": {"soil4": 65.17}, "ai": {"soil4": 1345.03}},
    "gridcells": 5423,
    "resolution_deg": 2.0,
    "reference_resolution_deg": 10.0,
    "training": {"ranks": 2, "epochs_run": 240, "engine": "ddp", "split": "random", "train_minutes": 7.6038},
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
    assert "0.9543 (soil1c_vr" in demo  # lowest R2 and its target
    assert "7.60 min" in demo and "2 ranks" in demo
    assert "AI + Newton -0.100 PgC/yr" in demo and "early restart -16.500 PgC/yr" in demo
    assert "AI + Newton step 1.2%" in demo and "AI prediction alone 38.3%" in demo and "91.6%" in demo
    assert "native 2,822 (70.55x" in demo and "AD 1,049 (26.23x" in demo
    assert "AI prediction alone not reached" in demo
    assert "| 885 s |" in demo and "65.2 -> 1,350 PgC" in demo
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
