"""Shared pieces of the benchmarks: timing, machine facts, result files.

Every figure is a ratio against a reference. Almost all references are measured in the
same run on the same machine, so the numbers mean something on a noisy shared host; a few
are fixed budgets from an issue ("<= 5 min" is a reference of 300 s). A figure says which
(`reference_kind`: "measured" or "budget"); the table prints "budget" next to a budget
reference and the JSON keeps the kind, so a budget is never read as a same-run ratio.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

RESULTS = Path(os.environ.get("ELMAI_BENCH_RESULTS", "bench-results"))

ReferenceKind = Literal["measured", "budget"]
REFERENCE_KINDS: tuple[str, ...] = ("measured", "budget")


def machine_info() -> dict[str, Any]:
    import numpy
    import torch

    import elmai.config

    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "core": elmai.config.build_info(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def timeit(fn: Callable[[], Any], repeat: int = 5, setup: Callable[[], Any] | None = None) -> float:
    """Median wall time of `repeat` calls after one warm-up; `setup` runs untimed before each."""
    times = []
    for i in range(repeat + 1):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if i:
            times.append(dt)
    return statistics.median(times)


@dataclass
class Figure:
    """One measured figure and its reference. ratio = seconds / reference_seconds.

    reference_kind is "measured" when the reference was timed in the same run (the
    default) and "budget" when it is a fixed number (a time allowed by an issue).
    """

    name: str
    seconds: float
    reference: str
    reference_seconds: float
    target: str = ""  # e.g. "<= 1.2"
    note: str = ""
    reference_kind: ReferenceKind = "measured"
    ratio: float = field(init=False)
    met: bool | None = field(init=False)

    def __post_init__(self) -> None:
        if self.reference_kind not in REFERENCE_KINDS:
            raise ValueError(
                f"{self.name}: reference_kind {self.reference_kind!r} is not one of {REFERENCE_KINDS}"
            )
        self.ratio = self.seconds / self.reference_seconds
        self.met = None
        if self.target:
            op, value = self.target.split()
            self.met = self.ratio <= float(value) if op == "<=" else self.ratio >= float(value)


@dataclass
class BenchResult:
    name: str
    description: str
    figures: list[Figure]
    context: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # more top-level keys of the JSON

    def table(self) -> str:
        width = max((len(f.name) for f in self.figures), default=6)
        rwidth = max((len(f.reference) for f in self.figures), default=9)
        lines = [f"== {self.name}: {self.description}"]
        for key, value in self.context.items():
            lines.append(f"   {key}: {value}")
        head = f"   {'figure':<{width}}  {'seconds':>9}  {'reference':<{rwidth}}  {'':<6}  {'ref s':>9}"
        lines.append(f"{head}  {'ratio':>7}  target")
        for f in self.figures:
            verdict = "" if f.met is None else ("  ok" if f.met else "  MISSED")
            kind = "budget" if f.reference_kind == "budget" else ""
            row = f"   {f.name:<{width}}  {f.seconds:>9.3g}  {f.reference:<{rwidth}}  {kind:<6}"
            note = f"  ({f.note})" if f.note else ""
            lines.append(f"{row}  {f.reference_seconds:>9.3g}  {f.ratio:>7.3f}  {f.target}{verdict}{note}")
        return "\n".join(lines)

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        payload = {
            "name": self.name,
            "description": self.description,
            "context": self.context,
            "figures": [asdict(f) for f in self.figures],
            "machine": machine_info(),
            **self.extra,
        }
        path.write_text(json.dumps(payload, indent=2, default=str))
        return path
