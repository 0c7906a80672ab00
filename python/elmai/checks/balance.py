"""ELM's per-column balance check (EcosystemBalanceCheckMod), run by the compiled core.

    err = (sum(inputs) - sum(outputs)) * dt - (end - begin)

C, N and P fail above 1e-7 g/m2 (ELM's bgc_balance_check_tolerance); water warns above
1e-7 mm and fails above 1e-4 mm. Every failing column is reported with its gridcell,
lat/lon and all terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from elmai import _core

BGC_TOLERANCE = 1e-7  # g/m2 per step
WATER_WARN, WATER_FAIL = 1e-7, 1e-4  # mm


@dataclass
class BalanceFailure:
    column: int
    error: float
    severity: str  # "fail" or "warn"
    begin: float
    end: float
    inputs: dict[str, float]
    outputs: dict[str, float]
    gridcell: int = -1
    lat: float = float("nan")
    lon: float = float("nan")


@dataclass
class BalanceReport:
    element: str
    dt: float
    tolerance: float
    warn_tolerance: float
    ncol: int
    max_abs_error: float
    max_column: int
    failures: list[BalanceFailure] = field(default_factory=list)
    warnings: list[BalanceFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def table(self, limit: int = 20) -> str:
        head = (
            f"{self.element} balance: {self.ncol} columns, {len(self.failures)} fail (> {self.tolerance:g}), "
            f"{len(self.warnings)} warn; max |err| {self.max_abs_error:.3g} at column {self.max_column}"
        )
        rows = [head]
        for f in (self.failures + self.warnings)[:limit]:
            terms = ", ".join(f"{k}={v:.6g}" for k, v in {**f.inputs, **f.outputs}.items())
            rows.append(
                f"  {f.severity:<4} column {f.column} (gridcell {f.gridcell}, lat {f.lat:.2f}, "
                f"lon {f.lon:.2f}): err={f.error:.3g} begin={f.begin:.6g} end={f.end:.6g} {terms}"
            )
        return "\n".join(rows)


def _arrays(terms: Mapping[str, np.ndarray]) -> tuple[list[str], list[np.ndarray]]:
    return list(terms), [np.asarray(v) for v in terms.values()]


def balance_errors(
    begin: np.ndarray,
    end: np.ndarray,
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    dt: float,
    threads: int = 0,
) -> np.ndarray:
    """err for every column (no thresholds). threads: 0 = one per core for large arrays."""
    return _core.balance_errors(begin, end, _arrays(inputs)[1], _arrays(outputs)[1], dt, threads)


def check_balance(
    begin: np.ndarray,
    end: np.ndarray,
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    dt: float,
    *,
    element: str = "C",
    tolerance: float = BGC_TOLERANCE,
    warn_tolerance: float | None = None,
    column_gridcell: np.ndarray | None = None,
    gridcell_lat: np.ndarray | None = None,
    gridcell_lon: np.ndarray | None = None,
    threads: int = 0,
) -> BalanceReport:
    """Check one time step for every column. Arrays are float64, one value per column;
    fluxes per second, `dt` in seconds, stocks per m2. `column_gridcell` (0-based) and the
    gridcell lat/lon let the report say where a failing column is. threads: 0 = one per
    core for arrays of 2^18+ columns per thread, 1 = serial."""
    in_names, in_arrays = _arrays(inputs)
    out_names, out_arrays = _arrays(outputs)
    warn = tolerance if warn_tolerance is None else warn_tolerance
    cols, errs, fails, max_abs, max_col = _core.check_balance(
        begin, end, in_arrays, out_arrays, dt, tolerance, warn, threads
    )
    report = BalanceReport(
        element, dt, tolerance, warn, int(np.asarray(begin).shape[0]), float(max_abs), int(max_col)
    )
    for c, e, failed in zip(cols.tolist(), errs.tolist(), fails.tolist(), strict=True):
        g = int(column_gridcell[c]) if column_gridcell is not None else -1
        entry = BalanceFailure(
            column=c,
            error=e,
            severity="fail" if failed else "warn",
            begin=float(begin[c]),
            end=float(end[c]),
            inputs={n: float(a[c]) for n, a in zip(in_names, in_arrays, strict=True)},
            outputs={n: float(a[c]) for n, a in zip(out_names, out_arrays, strict=True)},
            gridcell=g,
            lat=float(gridcell_lat[g]) if gridcell_lat is not None and g >= 0 else float("nan"),
            lon=float(gridcell_lon[g]) if gridcell_lon is not None and g >= 0 else float("nan"),
        )
        (report.failures if failed else report.warnings).append(entry)
    return report


def check_water_balance(
    begin: np.ndarray,
    end: np.ndarray,
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    dt: float,
    **where: np.ndarray | None,
) -> BalanceReport:
    """Water (mm): ELM warns above 1e-7 mm and stops above 1e-4 mm (errh2o)."""
    return check_balance(
        begin,
        end,
        inputs,
        outputs,
        dt,
        element="water",
        tolerance=WATER_FAIL,
        warn_tolerance=WATER_WARN,
        **where,
    )
