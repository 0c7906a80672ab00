"""Markdown tables and number formats shared by the reports elmai writes (the transfer
report, the demo's report) and the repository's figure tool (tools/docs_figures.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = ["sig", "seconds", "ratio", "percent", "duration", "value", "cell", "table"]


def sig(x: float, digits: int = 3) -> str:
    """`digits` significant figures, fixed-point (no exponent), thousands separated."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return str(x)
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    decimals = digits - 1 - exponent
    rounded = round(x, decimals)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) != exponent:  # 9.996 -> 10.0
        decimals -= 1
        rounded = round(x, decimals)
    return f"{rounded:,.{max(decimals, 0)}f}"


def seconds(x: float) -> str:
    return sig(x, 3)


def ratio(x: float) -> str:
    return f"{x:.2f}"


def percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def duration(x: float) -> str:
    """Seconds with a unit that keeps 3 significant figures readable (inference times)."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(x) >= scale:
            return f"{sig(x / scale)} {unit}"
    return f"{sig(x / 1e-9)} ns"


def value(v: Any) -> str:
    """A context value: ints with separators, floats to 4 significant figures, dicts inline."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        text = sig(v, 4)
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(v, dict):
        return ", ".join(f"{k} {value(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(value(x) for x in v)
    return str(v)


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: Iterable[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines
