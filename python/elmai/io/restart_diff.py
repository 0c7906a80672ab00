"""Compare two restarts variable by variable (what `elmai restart diff` prints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from elmai.io.restart import open_restart


@dataclass
class VariableDiff:
    name: str
    status: str  # "equal", "differs", "only in A", "only in B", "shape", "dtype"
    max_abs: float = 0.0
    max_rel: float = 0.0
    n_diff: int = 0
    where: str = ""  # index of the largest difference


@dataclass
class RestartDiff:
    a: str
    b: str
    rtol: float
    atol: float
    variables: list[VariableDiff] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(v.status == "equal" for v in self.variables)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["equal"] = self.equal
        return d

    def table(self, show_equal: bool = False) -> str:
        rows = [v for v in self.variables if show_equal or v.status != "equal"]
        n_diff = sum(v.status != "equal" for v in self.variables)
        head = f"A: {self.a}\nB: {self.b}\n{len(self.variables)} variables compared, {n_diff} differ"
        if not rows:
            return head
        width = max(len(v.name) for v in rows)
        lines = [
            head,
            f"{'variable':<{width}}  {'status':<9}  {'max_abs':>11}  {'max_rel':>11}  {'n_diff':>8}  at",
        ]
        for v in rows:
            lines.append(
                f"{v.name:<{width}}  {v.status:<9}  {v.max_abs:>11.4g}  {v.max_rel:>11.4g}"
                f"  {v.n_diff:>8}  {v.where}"
            )
        return "\n".join(lines)


def _compare(
    name: str, dims: tuple[str, ...], a: np.ndarray, b: np.ndarray, rtol: float, atol: float
) -> VariableDiff:
    if a.dtype.kind in "SUO" or b.dtype.kind in "SUO":
        same = np.array_equal(a, b)
        return VariableDiff(name, "equal" if same else "differs", n_diff=int(np.sum(a != b)))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    both_nan = np.isnan(a64) & np.isnan(b64)
    absdiff = np.where(both_nan, 0.0, np.abs(a64 - b64))
    scale = np.maximum(np.abs(a64), np.abs(b64))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(absdiff == 0, 0.0, absdiff / scale)
    absdiff = np.nan_to_num(absdiff, nan=np.inf)
    rel = np.nan_to_num(rel, nan=np.inf)
    bad = absdiff > atol + rtol * scale
    n = int(np.count_nonzero(bad))
    where = ""
    if absdiff.size and n:
        idx = np.unravel_index(int(np.argmax(absdiff)), absdiff.shape)
        where = ", ".join(f"{d}={i}" for d, i in zip(dims, idx, strict=True))
    return VariableDiff(
        name,
        "differs" if n else "equal",
        float(absdiff.max(initial=0.0)),
        float(rel.max(initial=0.0)),
        n,
        where,
    )


def diff_restarts(path_a: str, path_b: str, rtol: float = 0.0, atol: float = 0.0) -> RestartDiff:
    out = RestartDiff(path_a, path_b, rtol, atol)
    with open_restart(path_a) as ra, open_restart(path_b) as rb:
        names_a, names_b = set(ra.variables), set(rb.variables)
        for name in ra.variables:
            if name not in names_b:
                out.variables.append(VariableDiff(name, "only in A"))
                continue
            ia, ib = ra.info(name), rb.info(name)
            if ia.shape != ib.shape:
                out.variables.append(VariableDiff(name, "shape", where=f"{ia.shape} vs {ib.shape}"))
                continue
            if ia.dtype != ib.dtype:
                out.variables.append(VariableDiff(name, "dtype", where=f"{ia.dtype} vs {ib.dtype}"))
                continue
            out.variables.append(_compare(name, ia.dims, ra.read(name), rb.read(name), rtol, atol))
        for name in rb.variables:
            if name not in names_a:
                out.variables.append(VariableDiff(name, "only in B"))
    return out
