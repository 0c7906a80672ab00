"""How well a spin-up worked, as a land modeller reads it.

Per cell: the median and 90th percentile of |log(pred/true)| of each target's column
total (a pooled R2 hides order-of-magnitude errors at single sites). Over the land:
CTSM's stability criteria (tools/contrib/SpinupStability_BGC_v11.ncl): the change of
global TOTECOSYSC, TOTSOMC, TOTVEGC (PgC/yr) and annual GPP (PgC/yr per yr) between the
same forcing year one cycle apart, divided by the cycle length, each below 0.02; the same
for land-mean TLAI (m2/m2/yr); and under 3% of the land with TOTECOSYSC drifting more
than 1 gC/m2/yr (CLM5's area criterion).
"""

from __future__ import annotations

import numpy as np

from elmai.apps.testbed.run import CRITERION_AREA, RunResult
from elmai.data.features import PFT_PARAMETERS, PFT_POOLS, SOIL_VARS
from elmai.io.soil_levels import DZSOI_DECOMP

GLOBAL_THRESHOLD = 0.02  # PgC/yr (TOTECOSYSC, TOTSOMC, TOTVEGC, GPP) and m2/m2/yr (TLAI)
MIN_STOCK = 1.0  # gC/m2: below it a column total is "absent" and its ratio not scored


def column_totals(pft: np.ndarray, soil: np.ndarray, weight: np.ndarray, sla: np.ndarray) -> dict:
    """Per cell (gC/m2 of column, tlai m2/m2): PFT pools weighted by PFT, soil pools over depth."""
    out = {var: (pft[..., j] * weight).sum(axis=1) for j, var in enumerate(PFT_POOLS)}
    out["tlai"] = (pft[..., 0] * sla[None, :] * weight).sum(axis=1)
    dz = np.asarray(DZSOI_DECOMP)[: soil.shape[1]]
    out |= {var: soil[..., j] @ dz for j, var in enumerate(SOIL_VARS)}
    return out


def log_ratio_percentiles(pred: dict, true: dict) -> dict[str, dict[str, float]]:
    """{target: {"p50", "p90", "cells"}} of |log(pred/true)| over cells holding the target."""
    out = {}
    for var, t in true.items():
        floor = 0.01 if var == "tlai" else MIN_STOCK
        held = t > floor
        if held.sum() < 2:
            continue
        r = np.abs(np.log(np.maximum(pred[var][held], floor * 1e-3) / t[held]))
        out[var] = {
            "p50": float(np.percentile(r, 50)),
            "p90": float(np.percentile(r, 90)),
            "cells": int(held.sum()),
        }
    return out


def cell_scores(model, data, cells: np.ndarray) -> dict:
    """R2 per target (elmai.training.evaluate.score) and per-cell log ratios on `cells`."""
    from elmai.training.evaluate import predict, score

    s = score(model, data, cells)
    a = data.subset(cells)
    pft_pred, soil_pred = predict(model, a)
    sla = np.asarray(data.arrays["traits"])[:, PFT_PARAMETERS.index("slatop")]
    pred = column_totals(pft_pred, soil_pred, a["pft_weight"], sla)
    true = column_totals(a["pft_target"], a["soil_target"], a["pft_weight"], sla)
    ratios = log_ratio_percentiles(pred, true)
    return {
        "r2": s["r2"],
        "log_ratio_p50": {k: v["p50"] for k, v in ratios.items()},
        "log_ratio_p90": {k: v["p90"] for k, v in ratios.items()},
        "cells_scored": int(cells.size),
    }


# each criterion's threshold and units, in the order the script reports them
CRITERIA = {
    "TOTECOSYSC": (GLOBAL_THRESHOLD, "PgC/yr"),
    "TOTSOMC": (GLOBAL_THRESHOLD, "PgC/yr"),
    "TOTVEGC": (GLOBAL_THRESHOLD, "PgC/yr"),
    "area_drifting": (CRITERION_AREA, "fraction of land > 1 gC/m2/yr"),
    "GPP": (GLOBAL_THRESHOLD, "PgC/yr per yr"),
    "TLAI": (GLOBAL_THRESHOLD, "m2/m2/yr"),
}


def _judged(values: dict[str, float | None]) -> dict[str, dict]:
    """{criterion: value, threshold, units, met} and all_met; a None value is not judged."""
    out: dict[str, dict] = {}
    for name, (threshold, units) in CRITERIA.items():
        v = values[name]
        met = None if v is None else bool(abs(v) < threshold)
        out[name] = {"value": v, "threshold": threshold, "units": units, "met": met}
    out["all_met"] = {"met": all(v["met"] for v in out.values())}
    return out


def ctsm_criteria(run: RunResult, cycle: int) -> dict[str, dict]:
    """CTSM's criteria over one forcing cycle of a run from a restart: stocks at the run's
    start and after `cycle` years; GPP and TLAI of year 1 and year `cycle` + 1 (the same
    forcing year). A criterion the run is too short to judge has value None."""
    years = run.years
    values: dict[str, float | None] = dict.fromkeys(CRITERIA)
    if len(years) >= cycle and run.start_pgc:
        end = years[cycle - 1]
        for key in ("totecosysc", "totsomc", "totvegc"):
            values[key.upper()] = (getattr(end, f"{key}_pgc") - run.start_pgc[key]) / cycle
        values["area_drifting"] = end.disequilibrium_area
    if len(years) > cycle:
        late = years[cycle]
        values["GPP"] = (late.gpp_pgc - years[0].gpp_pgc) / cycle
        values["TLAI"] = (late.tlai - years[0].tlai) / cycle
    return _judged(values)


def mean_nee(run: RunResult, cycle: int) -> float:
    """Global NEE (PgC/yr, > 0 = source) averaged over the first forcing cycle of `run`."""
    return float(np.mean([y.nee_pgc for y in run.years[:cycle]]))


def ctsm_criteria_from_h0(files: list, cycle: int) -> tuple[dict[str, dict], float]:
    """CTSM's criteria from monthly h0 files the way SpinupStability_BGC_v11.ncl computes
    them: annual means of the first year and of the year one `cycle` later (the same
    forcing year), land area = area x landfrac; returns (criteria, area fraction
    drifting > 1 gC/m2/yr). `files`: at least 12 (cycle + 1) monthly files, in order."""
    import netCDF4

    from elmai.apps.testbed.run import CRITERION_GC_M2_YR
    from elmai.io.history import annual_means

    files = sorted(files)
    if len(files) < 12 * (cycle + 1):
        raise ValueError(
            f"{len(files)} monthly h0 files; CTSM's criteria over {cycle} years need {12 * (cycle + 1)}"
        )
    names = ("TOTECOSYSC", "TOTSOMC", "TOTVEGC", "GPP", "TLAI")

    def annual(months: list) -> dict[str, np.ndarray]:
        return {n: v[0] for n, v in annual_means(months, names).items()}

    with netCDF4.Dataset(files[0]) as d:
        land = (
            np.asarray(d["area"][:], dtype=np.float64) * 1e6 * np.asarray(d["landfrac"][:], dtype=np.float64)
        )
    first, later = annual(files[:12]), annual(files[12 * cycle : 12 * (cycle + 1)])
    held = np.isfinite(first["TOTECOSYSC"]) & np.isfinite(later["TOTECOSYSC"])
    w = np.where(held, land, 0.0)
    values: dict[str, float | None] = {
        n: float(np.nansum((later[n] - first[n]) * w) / 1e15 / cycle)
        for n in ("TOTECOSYSC", "TOTSOMC", "TOTVEGC")
    }
    values["GPP"] = float(np.nansum((later["GPP"] - first["GPP"]) * w) * 365 * 86400 / 1e15 / cycle)
    values["TLAI"] = float(np.nansum((later["TLAI"] - first["TLAI"]) * w) / w.sum() / cycle)
    drift = np.abs(later["TOTECOSYSC"] - first["TOTECOSYSC"]) / cycle
    area = float((w * (drift > CRITERION_GC_M2_YR)).sum() / w.sum())
    values["area_drifting"] = area
    return _judged(values), area
