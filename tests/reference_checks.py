"""Plain numpy implementations of some restart rules: the independent reference the
C++ checker is compared with (tests/test_checks.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from elmai.io.soil_levels import DZSOI_DECOMP
from tests.conftest import read_all_netcdf4

FILL = 1e35


def failing_cells(path: Path, soil_cn: np.ndarray, rtol: float = 1e-6) -> dict[str, set[tuple[str, int]]]:
    """{rule: {(variable, flat index)}} for non_negative, soil_cn, column_totals and
    absent_pft_pools."""
    v = read_all_netcdf4(path)
    rules = ("non_negative", "soil_cn", "column_totals", "absent_pft_pools")
    out: dict[str, set[tuple[str, int]]] = {k: set() for k in rules}
    pools = [n for n in v if n.endswith("_vr") and n[:-4] in
             ("litr1", "litr2", "litr3", "cwd", "soil1", "soil2", "soil3", "soil4")]  # fmt: skip
    pft_pools = [n for n in v if n.split("_")[0][:-1] in
                 ("leaf", "froot", "livestem", "deadstem", "livecroot", "deadcroot")]  # fmt: skip
    for name in pools + pft_pools + ["totsomc", "totlitc", "cwdc", "totvegc", "totcolc", "tlai", "tsai"]:
        if name not in v:
            continue
        x = v[name].ravel()
        for i in np.flatnonzero((x < -1e-10) & (np.abs(x) < FILL)):
            out["non_negative"].add((name, int(i)))
    for k in range(4):
        c, n = v[f"soil{k + 1}c_vr"], v[f"soil{k + 1}n_vr"]
        use = np.zeros_like(c, bool)
        use[:, :10] = True
        use &= (c > 1e-8) & (c < FILL)
        with np.errstate(divide="ignore", invalid="ignore"):
            bad = use & ((n <= 0) | (n >= FILL) | (np.abs((c / n) / soil_cn[k] - 1) > rtol))
        for i in np.flatnonzero(bad.ravel()):
            out["soil_cn"].add((f"soil{k + 1}n_vr", int(i)))
    groups = {
        "totsomc": ["soil1", "soil2", "soil3", "soil4"],
        "totlitc": ["litr1", "litr2", "litr3"],
        "cwdc": ["cwd"],
    }
    for total, names in groups.items():
        stack = np.stack([v[f"{p}c_vr"][:, :10] for p in names])
        valid = np.all(np.abs(stack) < FILL, axis=(0, 2)) & (np.abs(v[total]) < FILL)
        s = (stack * DZSOI_DECOMP).sum(axis=(0, 2))
        t = v[total]
        bad = valid & (np.abs(t - s) > rtol * np.maximum(np.abs(t), np.abs(s)) + 1e-8)
        for i in np.flatnonzero(bad):
            out["column_totals"].add((total, int(i)))
    carbon = [n for n in pft_pools if n.split("_")[0].endswith("c")]
    extra = [n for n in ("cpool", "xsmrpool", "gresp_storage", "gresp_xfer") if n in v]
    col = v["pfts1d_column_index"] - 1
    per_pft = sum(v[n] for n in carbon + extra) * v["pfts1d_wtcol"]
    s = np.bincount(col, weights=per_pft, minlength=v["totvegc"].size)
    t = v["totvegc"]
    bad = (np.abs(t) < FILL) & (np.abs(t - s) > rtol * np.maximum(np.abs(t), np.abs(s)) + 1e-8)
    for i in np.flatnonzero(bad):
        out["column_totals"].add(("totvegc", int(i)))
    absent = (v["pfts1d_wtcol"] <= 0) | (v["pfts1d_itypveg"] == 0)
    for name in pft_pools + ["tlai", "tsai"]:
        x = v[name]
        for i in np.flatnonzero(absent & (x != 0) & (np.abs(x) < FILL)):
            out["absent_pft_pools"].add((name, int(i)))
    return out
