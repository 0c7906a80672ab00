"""Render the README's and docs' measured figures from the JSON that measured them.

python -m tools.docs_figures [--bench DIR] [--summary FILE] [--check] [--files MD ...]

A figure region in a markdown file is delimited by HTML comments::

    <!-- figures:NAME -->
    ...generated...
    <!-- /figures:NAME -->

NAME ``demo`` is rendered from the demo's ``summary.json``; any other NAME is a benchmark
(``bench-results/NAME.json``, written by ``make bench``), and ``A+B`` renders benchmarks A
and B one after the other. A region whose JSON is absent is left exactly as it is and
reported; text outside the markers is never touched. ``--check`` writes nothing and exits
1 when any region would change (for CI, where the results exist).

Formats, everywhere: seconds to 3 significant figures, ratios to 2 decimals, percentages
to 1 decimal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elmai.markdown import cell, duration, percent, ratio, seconds, sig, table, value  # noqa: F401

REGION = re.compile(
    r"(?P<start><!-- figures:(?P<name>[\w.+-]+) -->)\n(?P<body>.*?)(?P<end><!-- /figures:(?P=name) -->)",
    re.DOTALL,
)
START = re.compile(r"<!-- figures:([\w.+-]+) -->")


# number formats and tables: elmai.markdown (the package's own reports use them too)


# ---------------------------------------------------------------- the demo


def render_demo(s: dict[str, Any]) -> str:
    """The demo's unseen world: the transfer and cost tables, then years and checks."""
    from elmai.apps.transfer.report import transfer_table

    e = s["transfer"]
    trained = s.get("model_trained_on", {})
    years = s["years_to_equilibrium"]

    def years_of(key: str) -> str:
        y = years.get(key)
        return "not reached in the run" if y is None else f"{y:,}"

    rows = [
        ["simulated years per gridcell to CLM5's criterion",
         f"AI route {years_of('ai')}; AI prediction alone {years_of('ai_prediction_only')}; native "
         f"{years_of('native')}; AD + native {years_of('ad')} ({s.get('ad_years', '?')} AD years; native "
         f"and AD on {s.get('reference_sample_cells', '?')} random gridcells)"],
        ["global NEE over the verification cycle",
         f"AI alone {e['nee_pgc_ai_alone']:+.3f} PgC/yr; "
         f"AI + cycle + refine {e['nee_pgc_refined']:+.3f} PgC/yr"],
        ["balance failures (C, N, P every step)", f"{s['balance_failures']:,}"],
        ["static checks of the AI restarts", "ok" if s["checks_ok"] else "FAILED"],
        ["demo wall time", f"{seconds(s['elapsed_s'])} s"],
    ]  # fmt: skip
    worlds = trained.get("worlds") or []
    res = ", ".join(f"{r:g}" for r in trained.get("resolution_deg") or [])
    head = (f"Unseen testbed world at {s['resolution_deg']:g} deg, seed {e['seed']} ({s['gridcells']:,} "
            f"gridcells); the shipped model was trained on {len(worlds)} other worlds at {res} deg "
            f"({trained.get('cells') or 0:,} cells):")  # fmt: skip
    body = transfer_table({"demo world (zero-shot)": e})
    return "\n".join([head, "", body, "", *table(["", "value"], rows)])


def render_transfer(b: dict[str, Any]) -> str:
    """bench-results/transfer.json: one entry per setting."""
    from elmai.apps.transfer.report import transfer_table

    when = b.get("machine", {}).get("date", "?")
    return f"Measured by `make bench` ({when}):\n\n" + transfer_table(b["settings"])


# ---------------------------------------------------------------- benchmarks


def _verdict(f: dict[str, Any]) -> str:
    target = f.get("target") or ""
    met = f.get("met")
    if met is None:
        return target
    return f"{target} {'ok' if met else 'MISSED'}".strip()


def _source(b: dict[str, Any]) -> str:
    m = b.get("machine", {})
    where = ", ".join(x for x in (m.get("date", ""), f"{m['cores']} cores" if m.get("cores") else "") if x)
    return f"`{b['name']}`: {b.get('description', '')}" + (f" ({where})" if where else "")


def _figure_rows(figures: list[dict[str, Any]]) -> list[str]:
    rows = [[f["name"], seconds(f["seconds"]), f["reference"], seconds(f["reference_seconds"]),
             ratio(f["ratio"]), _verdict(f), f.get("note", "")] for f in figures]  # fmt: skip
    return table(["figure", "seconds", "reference", "reference s", "ratio", "target", "note"], rows)


def _context(b: dict[str, Any]) -> list[str]:
    ctx = b.get("context") or {}
    return [f"- {k}: {value(v)}" for k, v in ctx.items()]


def render_benchmark(b: dict[str, Any]) -> str:
    """Any benchmark: its figures table and its context."""
    lines = [_source(b) + ":", ""]
    if b.get("figures"):
        lines += _figure_rows(b["figures"])
    if b.get("context"):
        lines += ["", *_context(b)]
    return "\n".join(lines)


def render_inference(b: dict[str, Any]) -> str:
    """The README's batch table (bare libtorch / Fortran path / Python), then the rest."""
    figs = {f["name"]: f for f in b.get("figures", [])}
    batch = re.compile(r"^Fortran path, batch (\d+)$")
    batches = sorted(int(m.group(1)) for name in figs if (m := batch.match(name)))
    used = set()
    rows = []
    for n in batches:
        fortran = figs[f"Fortran path, batch {n}"]
        used.add(fortran["name"])
        note = f" ({fortran['note']})" if fortran.get("note") else ""
        py = figs.get(f"Python torch, batch {n}")
        if py:
            used.add(py["name"])
        python = duration(py["seconds"]) if py else ""
        rows.append([f"{n:,}", duration(fortran["reference_seconds"]), duration(fortran["seconds"]) + note,
                     ratio(fortran["ratio"]), _verdict(fortran), python])  # fmt: skip
    lines = [_source(b) + ":", ""]
    header = ["batch", "bare libtorch (C++)", "elmai Fortran path", "ratio", "target", "Python torch"]
    lines += table(header, rows)
    rest = [f for name, f in figs.items() if name not in used]
    if rest:
        lines += ["", *_figure_rows(rest)]
    if b.get("context"):
        lines += ["", *_context(b)]
    return "\n".join(lines)


def render_elm_loop(b: dict[str, Any]) -> str:
    """bench-results/elm_loop.json: per site, ELM's own spin-up against the AI route, both
    run by ELM; then the benchmark's figures (build time, cost)."""
    elm, ai = b["elm_route"], b["ai_route"]
    em, alone, refined = elm["metrics"], ai["metrics_ai_alone"], ai["metrics_refined"]

    def at(m: dict[str, Any], key: str, k: int) -> str:
        v = m.get(key)
        return f"{v[k]:+.2f}" if v is not None and k < len(v) else "-"

    rows = []
    for k, site in enumerate(b["sites"]):
        stocks = []
        for n in ("TOTSOMC", "TOTVEGC"):
            a, e = refined["last_year"][n][k], em["last_year"][n][k]
            stocks.append(f"{a / e:.2f}" if e else "-")
        where = f"{site['site']}: lat {site['lat']:g}, lon {site['lon']:g}"
        climate = f"{site['t_ann_c']:.1f} C, {site['precip_mm_yr']:.0f} mm"
        drifts = [at(m, "drift_TOTECOSYSC", k) for m in (em, alone, refined)]
        rows.append(
            [f"{where} ({climate})", *drifts, at(refined, "mean_NEE", k), at(em, "mean_NEE", k), *stocks]
        )
    header = ["site", "ELM spin-up drift", "AI alone drift", "AI + refine drift", "NEE AI + refine",
              "NEE ELM spin-up", "TOTSOMC AI/ELM", "TOTVEGC AI/ELM"]  # fmt: skip
    failures = sum(len(p["problems"]) for p in ai["phases"])
    warnings = sum(len(p.get("warnings", [])) for p in ai["phases"])
    o = b["options"]
    about = (
        f"Drift: TOTECOSYSC, gC/m2/yr, same forcing year one {o['cycle']}-year cycle apart; "
        f"NEE: gC/m2/yr (> 0 a source). ELM spin-up: {o['ad_years']} AD + {o['native_years']} native "
        f"years. ELM from the AI restarts: {failures} balance-check failure(s) or endrun, "
        f"{warnings} balance warning(s)."
    )
    drift = {k: m.get("drift_TOTECOSYSC", []) for k, m in (("elm", em), ("ai", refined))}
    spin_years = o["ad_years"] + o["native_years"]
    ai_years = o["early_years"] + 2 * (o["cycle"] + 1)
    summary = (
        f"After AI + refine ({ai_years} ELM years) the drift is "
        f"{' and '.join(f'{abs(v):.2f}' for v in drift['ai'])} gC/m2/yr; after ELM's own {spin_years}-year "
        f"spin-up {' and '.join(f'{abs(v):.2f}' for v in drift['elm'])} gC/m2/yr."
    )
    lines = [_source(b) + ":", "", about, summary, "", *table(header, rows), "", *_figure_rows(b["figures"])]
    return "\n".join(lines)


def _drift_rows(sites: list[dict[str, Any]]) -> list[list[str]]:
    """Median and p90 of |TOTECOSYSC drift| per route over the held-out sites ELM judged."""
    import numpy as np

    rows = []
    for key, label in (("ai_alone", "AI alone (one cycle + 1 year)"), ("ai_refine", "AI + cycle + refine")):
        d = np.array([abs(x[f"{key}_drift_TOTECOSYSC"]) for x in sites if f"{key}_drift_TOTECOSYSC" in x])
        if d.size:
            rows.append([f"abs(TOTECOSYSC drift), {label}: median / p90 over {d.size} sites (gC/m2/yr)",
                         f"{sig(float(np.median(d)))} / {sig(float(np.percentile(d, 90)))}"])  # fmt: skip
    return rows


def render_elm_ensemble(b: dict[str, Any]) -> str:
    """results/elm_ensemble.json: progress, ELM's cost, the held-out verdicts so far."""
    p, cost, plan = b["progress"], b["elm_cost"], b["plan"]
    pace = cost.get("s_per_site_year")
    left = "-" if p["hours_left"] is None else f"{p['hours_left']:.1f} h"
    rate = b["pass_rate_ai_refine"]
    lines = [
        f"From `results/elm_ensemble.json` (`elmai elm ensemble report`): {p['sites']} sites of the testbed "
        f"world in {plan['groups']} groups, {b['held_out_sites']} held out; required climates "
        + ", ".join(f"{k} {v}" for k, v in b.get("kinds", {}).items())
        + ".",
        "",
        *table(
            ["", "value"],
            [
                ["ELM site-years done / left", f"{p['site_years_done']:,} / {p['site_years_left']:,}"],
                ["ELM wall time per site-year (min / median / max over chunks)",
                 "-" if not pace else f"{sig(pace['min'])} / {sig(pace['median'])} / {sig(pace['max'])} s"],
                ["time left at the median pace", left],
                ["held-out sites verified by ELM (AI + cycle + refine + cycle)", str(b["verified_sites"])],
                ["pass rate, abs(TOTECOSYSC drift) < 1 gC/m2/yr after AI + refine",
                 "not yet measured" if rate is None else percent(rate)],
                *_drift_rows(b.get("sites", [])),
                ["balance failures in ELM runs from elmai files", str(b["balance_failures"])],
                ["failed stages", ", ".join(p["failed"]) or "none"],
            ],
        ),  # fmt: skip
    ]
    return "\n".join(lines)


def render_fuzz(b: dict[str, Any]) -> str:
    """results/fuzz.json: outcomes of the mutated restarts, per operation, and the messages."""
    ops = b["operations"]
    kinds = ["ok", "findings", "error", "traceback", "crash", "hang"]
    rows = [[op, *(f"{ops[op].get(k, 0):,}" for k in kinds)] for op in sorted(ops)]
    top = list(b["error_messages"].items())[:8]
    lines = [
        f"From `results/fuzz.json` (`make fuzz`): {b['files']:,} mutated restarts from {len(b['mutations'])} "
        f"kinds of mutation in {sig(b['seconds'] / 60)} min: **{b['crashes']} crashes, {b['hangs']} hangs, "
        f"{b['tracebacks']} tracebacks, {b['inputs_modified']} inputs modified**.",
        "",
        *table(["operation", *kinds], rows),
        "",
        "The most frequent messages (paths and numbers replaced by FILE and N):",
        "",
        *table(["files", "message"], [[f"{n:,}", f"`{m}`"] for m, n in top]),
    ]
    return "\n".join(lines)


SPECIAL: dict[str, Callable[[dict[str, Any]], str]] = {
    "elm_ensemble": render_elm_ensemble,
    "fuzz": render_fuzz,
    "elm_loop": render_elm_loop,
    "inference": render_inference,
    "transfer": render_transfer,
}


# ---------------------------------------------------------------- regions


@dataclass
class Outcome:
    changed: list[str] = field(default_factory=list)  # "file: region"
    unchanged: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # "file: region (missing path)"


RESULTS = Path("results")  # results that take hours to remake, committed


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def render_region(name: str, bench: Path, summary: Path) -> tuple[str | None, list[Path]]:
    """The region's new body, or None with the JSON files that are missing."""
    if name == "demo":
        s = _load(summary)
        return (None, [summary]) if s is None else (render_demo(s), [])
    parts, missing = [], []
    for part in name.split("+"):
        path = bench / f"{part}.json"
        b = _load(path)
        if b is None and (RESULTS / f"{part}.json").is_file():  # committed results of hours-long runs
            path = RESULTS / f"{part}.json"
            b = _load(path)
            if b is not None and part not in SPECIAL and "figures" not in b:
                b = None  # an app's own summary (e.g. results/hydrology.json), not a bench's figures
        if b is None:
            missing.append(path)
        else:
            parts.append(SPECIAL.get(part, render_benchmark)(b))
    return (None, missing) if missing else ("\n\n".join(parts), [])


def update_text(text: str, bench: Path, summary: Path, label: str, outcome: Outcome) -> str:
    starts = START.findall(text)
    found = [m.group("name") for m in REGION.finditer(text)]
    for name in sorted(set(starts) - set(found)):
        raise ValueError(f"{label}: <!-- figures:{name} --> has no matching <!-- /figures:{name} -->")

    def replace(m: re.Match[str]) -> str:
        name = m.group("name")
        body, missing = render_region(name, bench, summary)
        where = f"{label}: {name}"
        if body is None:
            outcome.absent.append(f"{where} (missing {', '.join(map(str, missing))})")
            return m.group(0)
        new = f"{m.group('start')}\n{body.rstrip()}\n{m.group('end')}"
        (outcome.changed if new != m.group(0) else outcome.unchanged).append(where)
        return new

    return REGION.sub(replace, text)


def default_files(root: Path) -> list[Path]:
    return [p for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))] if p.is_file()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.docs_figures", description=__doc__.splitlines()[0])
    bench = Path(os.environ.get("ELMAI_BENCH_RESULTS", "bench-results"))
    help_bench = "benchmark JSON folder (default: $ELMAI_BENCH_RESULTS or bench-results)"
    p.add_argument("--bench", type=Path, default=bench, help=help_bench)
    p.add_argument(
        "--summary", type=Path, default=Path("demo-output/summary.json"), help="demo's summary.json"
    )
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if any region would change")
    p.add_argument("--files", type=Path, nargs="+", help="markdown files (default: README.md and docs/*.md)")
    args = p.parse_args(argv)
    files = args.files or default_files(Path.cwd())
    outcome = Outcome()
    for path in files:
        text = path.read_text()
        try:
            new = update_text(text, args.bench, args.summary, str(path), outcome)
        except ValueError as e:
            print(f"docs_figures: error: {e}", file=sys.stderr)
            return 2
        if new != text and not args.check:
            path.write_text(new)
    verb = "would change" if args.check else "rewritten"
    for label, items in ((verb, outcome.changed), ("up to date", outcome.unchanged),
                         ("left as they are, JSON absent", outcome.absent)):  # fmt: skip
        if items:
            print(f"figures {label}:\n  " + "\n  ".join(items))
    if not (outcome.changed or outcome.unchanged or outcome.absent):
        print("no figure regions found in " + ", ".join(map(str, files)))
    return 1 if args.check and outcome.changed else 0


if __name__ == "__main__":
    sys.exit(main())
