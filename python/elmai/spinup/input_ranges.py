"""Is a case inside what the spin-up model was trained on?

A network extrapolates silently: fed a climate, soil or pool size it never saw, it still
returns pools, and they can pass every static check while being wrong. So the trainer
records, for every model input and feature, the smallest and largest value over the
training cells (`training_ranges`, stored in best.pt and copied by `elmai export` into
the sidecar as "input_ranges"), and `elmai spinup` compares each cell's inputs with them
(`check_input_ranges`) before it runs the model:

- outside the trained range: a value below the training minimum or above the maximum.
  Reported (how many cells, where), the spin-up goes on: near the edge a network is
  usually still sound.
- beyond the margin: outside [min - M (max - min), max + M (max - min)] with
  M = INPUT_MARGIN (0.25, a quarter of the trained spread on either side). The spin-up
  is refused unless forced (`--force`, `force=True`).

Ranges are taken in the space the model standardises its inputs in
(elmai.data.normalize): log1p for the pools and decay rates (a pool ten times the
largest trained one is beyond the margin, one 20% above it is not), linear for forcing,
static fields and PFT weights. Each feature is the last axis of its input, pooled over
the others: forcing per variable over the 12 months, PFT pools over the PFTs present in
a cell (weight > 0: absent PFTs carry no pools the model reads), soil pools and decay
rates over the levels. A feature with a single value in training (max = min) has no
margin: any other value is beyond it, since the model never saw it vary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from elmai.data import features as F
from elmai.data.normalize import to_log
from elmai.errors import InvalidValueError, ModelFileError

INPUT_MARGIN = 0.25  # M: beyond [min - M*(max-min), max + M*(max-min)] the spin-up is refused
MAX_EXAMPLES = 5  # example cells a report keeps (and prints)


@dataclass(frozen=True)
class _Group:
    space: str  # "log1p" or "linear", as the model normalises the input
    axis: str  # the dimension whose entries are the features
    features: tuple[str, ...]
    pooled_over: tuple[str, ...]  # the dimensions pooled (besides the training cells)


# keyed by the model's input names (the sidecar's; the data set calls soil_rate decay_rate)
GROUPS: dict[str, _Group] = {
    "forcing": _Group("linear", "forcing_var", F.FORCING_VARS, ("month",)),
    "static": _Group("linear", "static_var", F.STATIC_VARS, ()),
    "pft_weight": _Group("linear", "pft_weight", ("pft_weight",), ("pft",)),
    "pft_early": _Group("log1p", "pft_pool", F.PFT_POOLS, ("present pft",)),
    "soil_early": _Group("log1p", "soil_pool", F.SOIL_VARS, ("level",)),
    "soil_rate": _Group("log1p", "soil_pool", F.SOIL_VARS, ("level",)),
}


class OutsideTrainingError(InvalidValueError):
    """Cells whose inputs are beyond the margin of what the model was trained on."""


def cell_values(name: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """(ncell, entries, features) of input `name` in the model's space; NaN where an entry
    does not count (pools of absent PFTs)."""
    g = GROUPS[name]
    x = np.asarray(inputs[name], dtype=np.float64)
    n = x.shape[0]
    if name == "pft_weight":
        return x.reshape(n, -1, 1)
    if g.space == "log1p":
        x = to_log(x)
    if name == "pft_early":
        present = np.asarray(inputs["pft_weight"]) > 0
        x = np.where(present[..., None], x, np.nan)
    return x.reshape(n, -1, x.shape[-1])


def training_ranges(inputs: dict[str, np.ndarray], split: str | None = None) -> dict:
    """The "input_ranges" record of the training cells `inputs` (model input names):
    per input its space, feature axis and names, and the min and max of every feature
    (None where no training cell has a value, e.g. a pool on no present PFT)."""
    groups = {}
    for name, g in GROUPS.items():
        v = cell_values(name, inputs)
        v = v.reshape(-1, v.shape[-1])
        seen = ~np.isnan(v)
        lo = np.where(seen, v, np.inf).min(axis=0, initial=np.inf)
        hi = np.where(seen, v, -np.inf).max(axis=0, initial=-np.inf)
        groups[name] = {
            "space": g.space,
            "axis": g.axis,
            "pooled_over": ["cell", *g.pooled_over],
            "features": list(g.features),
            "min": [float(a) if np.isfinite(a) else None for a in lo],
            "max": [float(b) if np.isfinite(b) else None for b in hi],
        }
    return {"training_cells": int(np.asarray(inputs["forcing"]).shape[0]), "split": split, "groups": groups}


@dataclass
class OutsideCell:
    """One cell outside the trained range of one feature. Values in physical units (the
    inputs' own); `trained` is the [min, max] of the training cells."""

    lat: float
    lon: float
    feature: str  # "input/feature", e.g. "forcing/TBOT"
    value: float  # the cell's value farthest outside
    trained: tuple[float, float]
    beyond_margin: bool


@dataclass
class RangeReport:
    """What check_input_ranges found; `checked` False when the model has no ranges."""

    checked: bool
    cells: int = 0
    outside: int = 0  # cells with at least one feature outside the trained range
    beyond_margin: int = 0  # cells with at least one feature beyond the margin
    margin: float = INPUT_MARGIN
    per_feature: dict[str, dict[str, int]] = field(default_factory=dict)  # {"forcing/TBOT": {...}}
    examples: list[OutsideCell] = field(default_factory=list)
    lat_range: tuple[float, float] | None = None  # where the cells outside are
    lon_range: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def paragraph(self) -> str:
        """The report `elmai spinup` prints ("" when every cell is inside)."""
        if not self.checked:
            return (
                "warning: the model records no training input ranges (exported by an older elmai): "
                "cannot check that the case is inside them"
            )
        if not self.outside:
            return ""
        worst = sorted(self.per_feature.items(), key=lambda kv: -kv[1]["outside"])
        feats = ", ".join(f"{k} {v['outside']}" for k, v in worst[:6]) + (", ..." if len(worst) > 6 else "")
        return (
            f"warning: {self.outside} of {self.cells} cell(s) have inputs outside the range the model "
            f"was trained on ({feats}), at lat {self.lat_range[0]:.1f}..{self.lat_range[1]:.1f}, "
            f"lon {self.lon_range[0]:.1f}..{self.lon_range[1]:.1f}; "
            f"{self.beyond_margin} of them beyond the margin ({self.margin:g} of the trained spread). "
            "For example: " + "; ".join(_describe(e) for e in self.examples) + "."
        )


def _describe(e: OutsideCell) -> str:
    return (
        f"lat {e.lat:.2f} lon {e.lon:.2f} {e.feature} = {e.value:.4g} "
        f"(trained {e.trained[0]:.4g}..{e.trained[1]:.4g})"
    )


def _physical(v: float, space: str) -> float:
    return float(np.expm1(v)) if space == "log1p" else float(v)


def check_input_ranges(
    ranges: dict | None,
    inputs: dict[str, np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
    margin: float = INPUT_MARGIN,
) -> RangeReport:
    """Compare every cell's inputs (model input names, physical units) with the sidecar's
    "input_ranges". NaN inputs are left to the checks that already reject them."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    if not ranges:
        return RangeReport(checked=False, cells=int(lat.size))
    any_out = np.zeros(lat.size, dtype=bool)
    any_beyond = np.zeros(lat.size, dtype=bool)
    per_feature: dict[str, dict[str, int]] = {}
    found = []  # (beyond margin, relative excess, cell, OutsideCell)
    for name, rec in ranges.get("groups", {}).items():
        if name not in GROUPS or name not in inputs:
            continue
        if list(rec["features"]) != list(GROUPS[name].features) or rec["space"] != GROUPS[name].space:
            raise ModelFileError(
                f"the model's input_ranges for {name} describe {rec['features']} in {rec['space']} "
                f"space; this elmai builds {list(GROUPS[name].features)} in {GROUPS[name].space}"
            )
        v = cell_values(name, inputs)
        seen = ~np.isnan(v)
        cell_lo = np.where(seen, v, np.inf).min(axis=1)  # (ncell, features)
        cell_hi = np.where(seen, v, -np.inf).max(axis=1)
        for j, feat in enumerate(rec["features"]):
            lo, hi = rec["min"][j], rec["max"][j]
            if lo is None or hi is None:
                continue  # never seen in training: nothing to compare with
            pad = margin * (hi - lo)
            below, above = lo - cell_lo[:, j], cell_hi[:, j] - hi
            excess = np.maximum(below, above)  # > 0: outside
            out = excess > 0
            if not out.any():
                continue
            beyond = excess > pad
            key = f"{name}/{feat}"
            per_feature[key] = {"outside": int(out.sum()), "beyond_margin": int(beyond.sum())}
            any_out |= out
            any_beyond |= beyond
            rel = excess / (hi - lo) if hi > lo else np.where(out, np.inf, 0.0)
            for c in np.flatnonzero(out)[np.argsort(-rel[out], kind="stable")][:MAX_EXAMPLES]:
                value = cell_lo[c, j] if below[c] >= above[c] else cell_hi[c, j]
                space = rec["space"]
                example = OutsideCell(
                    float(lat[c]),
                    float(lon[c]),
                    key,
                    _physical(value, space),
                    (_physical(lo, space), _physical(hi, space)),
                    bool(beyond[c]),
                )
                found.append((bool(beyond[c]), float(rel[c]), int(c), example))
    report = RangeReport(
        checked=True,
        cells=int(lat.size),
        outside=int(any_out.sum()),
        beyond_margin=int(any_beyond.sum()),
        margin=margin,
        per_feature=per_feature,
    )
    # the examples a reader needs first: beyond the margin, farthest out, one per cell
    seen_cells: set[int] = set()
    for _, _, c, example in sorted(found, key=lambda f: (not f[0], -f[1])):
        if c not in seen_cells and len(report.examples) < MAX_EXAMPLES:
            seen_cells.add(c)
            report.examples.append(example)
    if any_out.any():
        report.lat_range = (float(lat[any_out].min()), float(lat[any_out].max()))
        report.lon_range = (float(lon[any_out].min()), float(lon[any_out].max()))
    return report


def refuse_beyond_margin(report: RangeReport, restart: str | Path, force: bool = False) -> None:
    """Raise OutsideTrainingError when cells are beyond the margin, unless `force`."""
    if force or not report.beyond_margin:
        return
    e = next(x for x in report.examples if x.beyond_margin)
    raise OutsideTrainingError(
        f"'{restart}': {report.beyond_margin} of {report.cells} cell(s) have inputs beyond the "
        f"margin of what the model was trained on (e.g. {e.feature} at lat {e.lat:.2f}, lon {e.lon:.2f}: "
        f"{e.value:.4g}, trained {e.trained[0]:.4g}..{e.trained[1]:.4g}; margin {report.margin:g} of "
        f"the trained spread): the predicted pools would be an extrapolation. Nothing written; "
        f"--force (force=True) runs anyway"
    )


__all__ = [
    "INPUT_MARGIN",
    "GROUPS",
    "OutsideCell",
    "OutsideTrainingError",
    "RangeReport",
    "cell_values",
    "check_input_ranges",
    "refuse_beyond_margin",
    "training_ranges",
]
