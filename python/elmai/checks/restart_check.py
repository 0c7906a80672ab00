"""Static validation of an ELM restart (`elmai check FILE`), run by the compiled core.

Rules: finite, non_negative, soil_cn, soil_cp, plant_cn, plant_cp, column_totals,
subgrid_weights, absent_pft_pools, spinup_state (docs/checks.md describes each).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from elmai import _core
from elmai.io.elm_params import ElmParams, default_params
from elmai.io.soil_levels import DZSOI_DECOMP

PLANT_PARAMETERS = ("leafcn", "frootcn", "livewdcn", "deadwdcn", "leafcp", "frootcp", "livewdcp", "deadwdcp")


@dataclass
class CheckFailure:
    rule: str
    variable: str
    where: str
    index: int
    gridcell: int
    lat: float
    lon: float
    value: float
    expected: float
    message: str


@dataclass
class RestartCheckReport:
    path: str
    failures: list[CheckFailure]
    counts: dict[str, int]
    rules_run: list[str]
    rules_skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d

    def table(self, limit: int = 10) -> str:
        lines = [f"{self.path}: {'OK' if self.ok else 'FAILED'}"]
        for rule in self.rules_run:
            n = self.counts.get(rule, 0)
            lines.append(f"  {'ok  ' if n == 0 else 'FAIL'} {rule:<17} {n:>8} failure(s)")
        for rule, why in self.rules_skipped.items():
            lines.append(f"  skip {rule:<17} ({why})")
        for rule in self.rules_run:
            shown = [f for f in self.failures if f.rule == rule][:limit]
            for f in shown:
                place = f"gridcell {f.gridcell} (lat {f.lat:.2f}, lon {f.lon:.2f})" if f.gridcell >= 0 else ""
                lines.append(
                    f"    {rule}: {f.variable}[{f.where}] = {f.value:.6g} (expected {f.expected:.6g}) "
                    f"{place}: {f.message}"
                )
            more = self.counts.get(rule, 0) - len(shown)
            if shown and more > 0:
                lines.append(f"    {rule}: ... and {more} more")
        return "\n".join(lines)


def check_restart(
    path: str | os.PathLike[str],
    params: ElmParams | None = None,
    *,
    rtol: float = 1e-6,
    negative_tolerance: float = 1e-10,
    weight_tolerance: float = 1e-6,
    stoichiometry_factor: float = 2.0,
    soil_cp: Sequence[float] | None = None,
    max_per_rule: int = 50,
) -> RestartCheckReport:
    """Validate a restart. `params` (default: ELM's, see elmai.io.elm_params) gives the soil
    C:N and the PFT stoichiometry; `soil_cp` the soil C:P (default: each pool's C:P must be
    the same in every cell and level, as fixed ratios are)."""
    p = params or default_params()
    options: dict[str, Any] = {
        "rtol": rtol,
        "negative_tolerance": negative_tolerance,
        "weight_tolerance": weight_tolerance,
        "stoichiometry_factor": stoichiometry_factor,
        "soil_cn": p.soil_cn.tolist(),
        "dzsoi_decomp": DZSOI_DECOMP.tolist(),
        "pft_params": {k: p.pft[k].tolist() for k in PLANT_PARAMETERS if k in p.pft},
        "max_per_rule": max_per_rule,
    }
    if soil_cp is not None:
        options["soil_cp"] = [float(x) for x in soil_cp]
    raw = _core.check_restart(os.fspath(path), options)
    return RestartCheckReport(
        path=raw["path"],
        failures=[CheckFailure(**f) for f in raw["failures"]],
        counts=dict(raw["counts"]),
        rules_run=list(raw["rules_run"]),
        rules_skipped=dict(raw["rules_skipped"]),
    )
