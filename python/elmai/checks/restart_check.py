"""Static validation of an ELM restart (`elmai check FILE`), run by the compiled core.

Rules: finite, non_negative, soil_cn, soil_cp, plant_cn, plant_cp, totals,
subgrid_weights, absent_pft_pools, spinup_state (docs/checks.md describes each, with the
E3SM source of every exception). A rule fails a file only on evidence that ELM would
fail on it too; what ELM runs on but a user should know (soil C:P far from its start, an
AD file that cannot leave AD yet) is a warning. ELM's vocabulary (the NaN diagnostics, the totals and
their terms, the cold-start seeds, the signed pools) comes from elmai.io.elm_names and is
passed to the compiled core as options.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from elmai import _core
from elmai.io import elm_names as N
from elmai.io.elm_params import ElmParams, default_params
from elmai.io.elm_structure import CASCADE, TISSUES
from elmai.io.soil_levels import DZSOI_DECOMP

# the PFT stoichiometry parameters of the tissues (leafcn, ..., deadwdcp), each once
PLANT_PARAMETERS = tuple(dict.fromkeys(TISSUES.param(t, k) for k in ("cn", "cp") for t in TISSUES.names))


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
    notes: dict[str, str] = field(default_factory=dict)  # rule -> what it covered
    # findings ELM runs on (floating soil C:P far from its start, AD scalaravg_col not yet
    # accumulated): reported, never failing the file
    warnings: list[CheckFailure] = field(default_factory=list)
    warning_counts: dict[str, int] = field(default_factory=dict)

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
            w = self.warning_counts.get(rule, 0)
            warned = f", {w} warning(s)" if w else ""
            lines.append(f"  {'ok  ' if n == 0 else 'FAIL'} {rule:<17} {n:>8} failure(s){warned}")
        for rule, why in self.rules_skipped.items():
            lines.append(f"  skip {rule:<17} ({why})")
        for rule, note in self.notes.items():
            if rule not in self.rules_skipped:
                lines.append(f"  note {rule:<17} {note}")
        findings = (("", self.failures, self.counts), ("warning ", self.warnings, self.warning_counts))
        for kind, found, counts in findings:
            for rule in self.rules_run:
                shown = [f for f in found if f.rule == rule][:limit]
                lines += [f"    {kind}{rule}: {describe(f)}" for f in shown]
                more = counts.get(rule, 0) - len(shown)
                if shown and more > 0:
                    lines.append(f"    {kind}{rule}: ... and {more} more")
        return "\n".join(lines)

    def failure_lines(self, limit: int = 10) -> list[str]:
        """One line per failure (the first `limit`), each naming variable, cell and rule."""
        out = [f"{f.rule}: {describe(f)}" for f in self.failures[:limit]]
        more = sum(self.counts.values()) - len(out)
        return out + ([f"... and {more} more failure(s)"] if more > 0 else [])


def describe(f: CheckFailure) -> str:
    """A finding as one line: variable, where, value, expected, gridcell and why."""
    place = f" gridcell {f.gridcell} (lat {f.lat:.2f}, lon {f.lon:.2f})" if f.gridcell >= 0 else ""
    return f"{f.variable}[{f.where}] = {f.value:.6g} (expected {f.expected:.6g}){place}: {f.message}"


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
    spinup_mortality_factor: float = N.OLMT_SPINUP_MORTALITY_FACTOR,
) -> RestartCheckReport:
    """Validate a restart. `params` (default: ELM's, see elmai.io.elm_params) gives the soil
    C:N, the initial soil C:P (cn_s x np_s_new) and the PFT stoichiometry; `soil_cp`
    overrides the initial soil C:P. Soil C:P floats in ELM CNP: outside
    [cp / stoichiometry_factor, cp * stoichiometry_factor] it warns. `spinup_mortality_factor` is the
    one of the run that wrote the file (OLMT: 10): dead-wood seeds on zero-weight pfts may
    be scaled by it (AD exit)."""
    p = params or default_params()
    cp = p.soil_cp_initial if soil_cp is None else soil_cp
    options: dict[str, Any] = {
        "rtol": rtol,
        "negative_tolerance": negative_tolerance,
        "weight_tolerance": weight_tolerance,
        "stoichiometry_factor": stoichiometry_factor,
        "soil_cn": p.soil_cn.tolist(),
        "dzsoi_decomp": DZSOI_DECOMP.tolist(),
        "pft_params": {k: p.pft[k].tolist() for k in PLANT_PARAMETERS if k in p.pft},
        "max_per_rule": max_per_rule,
        "soil_cp": [float(x) for x in cp],
        "nan_allowed": list(N.ELM_NAN_DIAGNOSTICS),
        "signed_pools": list(N.ELM_SIGNED_POOLS),
        "totals": [
            {"name": name, "terms": list(terms), "optional": list(optional)}
            for name, (terms, optional) in N.ELM_TOTALS.items()
        ],
        "seed_carbon": N.seed_carbon(spinup_mortality_factor),
        "seed_nutrients": N.seed_nutrients(),
        "deadwood": [f"{d}{e}" for d in N.ELM_DEADWOOD_POOLS for e in N.ELEMENTS],  # not storage/xfer
        "spinup_mortality_factor": float(spinup_mortality_factor),
        "soil_filter_landunits": list(N.BGC_LANDUNITS),
        # ELM's structure, from the one table (elm_structure)
        "decomp_pools": list(CASCADE.names),
        "soil_pools": list(CASCADE.of_kind("soil")),
        "tissues": list(TISSUES.names),
        "tissue_cn_params": [TISSUES.param(t, "cn") for t in TISSUES.names],
        "tissue_cp_params": [TISSUES.param(t, "cp") for t in TISSUES.names],
    }
    raw = _core.check_restart(os.fspath(path), options)
    return RestartCheckReport(
        path=raw["path"],
        failures=[CheckFailure(**f) for f in raw["failures"]],
        counts=dict(raw["counts"]),
        rules_run=list(raw["rules_run"]),
        rules_skipped=dict(raw["rules_skipped"]),
        notes=dict(raw.get("notes", {})),
        warnings=[CheckFailure(**f) for f in raw.get("warnings", [])],
        warning_counts=dict(raw.get("warning_counts", {})),
    )
