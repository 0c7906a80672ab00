"""`elmai check` on what real ELM writes: the OLMT Kougarok restart of ../shared/data/elm
(ELM 341537c, CNP, CTC) passes every rule, and faults injected into copies of it are
found at their cell. The independent reference below reads with netCDF4-python and
recomputes the rules with numpy from ELM's vocabulary (elmai.io.elm_names)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.checks import check_restart
from elmai.io import elm_names as N
from elmai.io.elm_params import default_params
from elmai.io.soil_levels import DZSOI_DECOMP
from tests.conftest import rewrite_with_netcdf4, shared_data

FILL = 1e35
REAL = ("elm", "site_fullrun_docker_tr_demo_fini.nc")


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        return (
            {n: np.asarray(v[...]) for n, v in ds.variables.items()},
            {n: v.dimensions for n, v in ds.variables.items()},
        )


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> np.ndarray:
    return np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + 1e-8


def elm_reference_failures(
    path: Path, rtol: float = 1e-6, factor: float = 2.0, mortality: float = N.OLMT_SPINUP_MORTALITY_FACTOR
) -> dict[str, set[tuple[str, int]]]:
    """{rule: {(variable, flat index)}} for non_negative, soil_cn, totals and
    absent_pft_pools, in plain numpy on netCDF4-python's reading (docs/checks.md rules)."""
    v, dims = _read(path)
    params = default_params()
    out: dict[str, set[tuple[str, int]]] = {
        k: set() for k in ("non_negative", "soil_cn", "totals", "absent_pft_pools")
    }
    pft_pools = [n for e in N.ELEMENTS for n in N.pft_pool_names(e)] + ["tlai", "tsai"]
    pools = [N.vr_pool(p, e) for p in N.CTC_POOLS for e in N.ELEMENTS] + pft_pools
    pools += ["totcolc", "totsomc", "totlitc", "totvegc", "cwdc", "totcoln", "totcolp", *N.ELM_TOTALS]
    for name in dict.fromkeys(pools):
        if name in v and name not in N.ELM_SIGNED_POOLS:
            x = v[name].ravel()
            out["non_negative"] |= {(name, int(i)) for i in np.flatnonzero((x < -1e-10) & (np.abs(x) < FILL))}
    for k, cn in enumerate(params.soil_cn):
        c, n = v[f"soil{k + 1}c_vr"], v[f"soil{k + 1}n_vr"]
        use = np.zeros_like(c, bool)
        use[:, : N.NLEVDECOMP] = True
        use &= (c > 1e-8) & (c < FILL)
        with np.errstate(divide="ignore", invalid="ignore"):
            bad = use & ((n <= 0) | (n >= FILL) | (np.abs((c / n) / cn - 1) > rtol))
        out["soil_cn"] |= {(f"soil{k + 1}n_vr", int(i)) for i in np.flatnonzero(bad.ravel())}

    npft = v["pfts1d_itypveg"].size
    col = v["pfts1d_column_index"].astype(int) - 1
    pft_active = v.get("pfts1d_active", np.ones(npft)) != 0
    wt = v["pfts1d_wtcol"]
    deadwood = {f"{d}{e}" for d in N.ELM_DEADWOOD_POOLS for e in N.ELEMENTS}  # not storage/xfer
    for name, (terms, optional) in N.ELM_TOTALS.items():
        if name not in v or any(t not in v for t in terms):
            continue
        level = dims[name][0]
        ncell = v[name].size
        s, stale, valid = np.zeros(ncell), np.zeros(ncell), np.ones(ncell, bool)
        for t in list(terms) + [t for t in optional if t in v]:
            x = v[t].astype(float)
            scale = 1 / mortality if t in deadwood else 1.0
            if dims[t] == ("pft",) and level == "pft":
                add, add_stale, bad = x, x * scale, np.abs(x) >= FILL
            elif dims[t] == ("pft",):
                use = pft_active & (wt != 0)
                add = np.bincount(col[use], weights=(x * wt)[use], minlength=ncell)
                add_stale = np.bincount(col[use], weights=(x * wt * scale)[use], minlength=ncell)
                bad = np.bincount(col[use], weights=(np.abs(x) >= FILL)[use], minlength=ncell) > 0
            elif len(dims[t]) == 2:
                y = x[:, : N.NLEVDECOMP]
                add = add_stale = (y * DZSOI_DECOMP).sum(axis=1)
                bad = (np.abs(y) >= FILL).any(axis=1)
            else:
                add, add_stale, bad = x, x, np.abs(x) >= FILL
            s, stale, valid = s + add, stale + add_stale, valid & ~bad
        total = v[name]
        active = pft_active if level == "pft" else v.get("cols1d_active", np.ones(ncell)) != 0
        # ELM's summaries run over its soil filter (soil and crop columns, their pfts)
        soil_col = np.isin(v["cols1d_ityplun"], N.BGC_LANDUNITS)
        in_filter = soil_col[col] if level == "pft" else soil_col
        ok = ~valid | (np.abs(total) >= FILL) | _close(total, s, rtol) | ~in_filter
        ok |= ~active & ((total == 0) | _close(total, stale, rtol))
        out["totals"] |= {(name, int(i)) for i in np.flatnonzero(~ok)}

    ptype = v["pfts1d_itypveg"].astype(int)
    absent = (wt <= 0) | (ptype == 0)
    seeds = N.seed_carbon(mortality)
    nutrients = N.seed_nutrients()

    def is_seed(pool: str, x: float) -> bool:
        return any(math.isclose(x, s, rel_tol=1e-9, abs_tol=1e-9) for s in seeds.get(pool, ()))

    for name in pft_pools:
        if name not in v:
            continue
        x = v[name]
        for i in np.flatnonzero(absent & (x != 0) & (np.abs(x) < FILL)):
            ok = False
            if ptype[i] > 0 and name in seeds:
                ok = is_seed(name, x[i])
            elif ptype[i] > 0 and name in nutrients:
                cname, param = nutrients[name]
                c = v[cname][i] if cname in v else 0.0
                ok = is_seed(cname, c) and x[i] > 0
                target = params.pft[param][ptype[i]] if param in params.pft else 0.0
                if ok and target > 0:
                    ok = target / factor <= c / x[i] <= target * factor
            if not ok:
                out["absent_pft_pools"].add((name, int(i)))
    return out


# ---- the real file ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> Path:
    return shared_data(*REAL)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_real_elm_restart_passes_every_rule(real: Path) -> None:
    before = sha256(real)
    report = check_restart(real, max_per_rule=10_000)
    assert sha256(real) == before  # the input is never modified
    assert report.ok, report.table()
    assert not report.failures and not any(report.counts.values())
    assert set(report.rules_run) == {
        "finite", "non_negative", "soil_cn", "soil_cp", "plant_cn", "plant_cp",
        "totals", "subgrid_weights", "absent_pft_pools", "spinup_state",
    }  # fmt: skip
    # the independent reference agrees: nothing fails
    assert not any(elm_reference_failures(real).values())


def test_real_file_holds_what_the_exceptions_are_for(real: Path) -> None:
    """What netCDF4-python sees in the file: NaN only in ELM_NAN_DIAGNOSTICS, seeds on
    zero-weight pfts, negative xsmrpool, floating soil C:P, pft-level totvegc."""
    v, dims = _read(real)
    nan_vars = {n for n, x in v.items() if x.dtype.kind == "f" and np.isnan(x).any()}
    assert nan_vars and nan_vars <= set(N.ELM_NAN_DIAGNOSTICS)
    assert v["xsmrpool"].min() < -50
    zero = (v["pfts1d_wtcol"] == 0) & (v["pfts1d_itypveg"] > 0)
    assert set(np.unique(v["leafc"][zero] + v["leafc_storage"][zero])) == {1.0}
    assert set(np.unique(v["totvegc"][zero])) == {1.0, 1.1}
    assert dims["totvegc"] == ("pft",) and "cwdc" not in v
    cp = v["soil1c_vr"][0, :10] / v["soil1p_vr"][0, :10]
    assert cp.max() - cp.min() > 1e-3  # not a fixed ratio


def test_real_file_totals_close(real: Path) -> None:
    """The totals ELM's summaries write close to round-off on the active column and pfts;
    totcoln is not checkable (plant_n_buffer and fan_totn are not written)."""
    report = check_restart(real)
    note = report.notes["totals"]
    for name in ("totvegc (pft)", "totlitc", "totsomc", "totcolc", "totlitp", "totsomp", "cwdp", "totcolp"):
        assert name in note
    assert "totcoln (no plant_n_buffer, fan_totn)" in note
    v, _ = _read(real)
    soil = sum((v[N.vr_pool(p, "c")][0, :10] * DZSOI_DECOMP).sum() for p in N.SOM_POOLS)
    assert soil == pytest.approx(v["totsomc"][0], rel=1e-12)
    active = v["pfts1d_active"] == 1
    vegc = sum(v[t] for t in N.VEGC_TERMS)
    np.testing.assert_allclose(v["totvegc"][active], vegc[active], rtol=1e-12)
    # a tighter relative tolerance still passes: the totals are not stale
    assert check_restart(real, rtol=1e-12).counts["totals"] == 0


def copy_of(real: Path, tmp_path: Path) -> Path:
    """A copy written by netCDF4-python alone (not elmai)."""
    dst = tmp_path / "copy.nc"
    rewrite_with_netcdf4(real, dst, "NETCDF3_64BIT_OFFSET")
    return dst


def set_value(path: Path, name: str, index: tuple[int, ...], value) -> None:
    with netCDF4.Dataset(path, "r+") as ds:
        ds.set_auto_maskandscale(False)
        var = ds.variables[name]
        data = var[...]
        data[index] = value(data[index]) if callable(value) else value
        var[...] = data


FAULTS = [
    # (variable, index, new value, rule, where)
    ("soil3c_vr", (0, 3), -5.0, "non_negative", "column=0, levgrnd=3"),
    ("deadstemc", (2,), np.nan, "finite", "pft=2"),
    ("totvegc", (11,), lambda x: x * 1.01, "totals", "pft=11"),
    ("totvegc", (3,), lambda x: x + 0.5, "totals", "pft=3"),  # inactive pft: neither closes nor stale
    ("totsomc", (0,), lambda x: x + 100.0, "totals", "column=0"),
    ("soil2n_vr", (0, 4), lambda x: x * 1.1, "soil_cn", "column=0, levgrnd=4"),
    ("leafc", (4,), 5.0, "absent_pft_pools", "pft=4"),
    ("frootc", (5,), 1.0, "absent_pft_pools", "pft=5"),
    ("leafn", (1,), lambda x: x * 10, "absent_pft_pools", "pft=1"),
    ("mlaidiff", (2,), np.inf, "finite", "pft=2"),  # NaN is allowed there, Inf is not
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f"{f[0]}-{f[3]}" for f in FAULTS])
def test_faults_injected_into_a_copy_are_found(real: Path, tmp_path: Path, fault) -> None:
    name, index, value, rule, where = fault
    before = sha256(real)
    path = copy_of(real, tmp_path)
    assert check_restart(path).ok  # the netCDF4-python copy is as clean as the original
    set_value(path, name, index, value)
    report = check_restart(path, max_per_rule=10_000)
    hits = [f for f in report.failures if f.rule == rule]
    assert any(f.variable == name and f.where == where for f in hits), report.table()
    hit = next(f for f in hits if f.variable == name and f.where == where)
    assert hit.gridcell == 0 and hit.lat == pytest.approx(65.25) and hit.lon == pytest.approx(195.25)
    # the reference finds the same cells for the rules it recomputes
    ref = elm_reference_failures(path)
    for r, cells in ref.items():
        assert {(f.variable, f.index) for f in report.failures if f.rule == r} == cells, r
    assert sha256(real) == before


def test_nan_in_a_pool_fails_but_not_in_a_diagnostic(real: Path, tmp_path: Path) -> None:
    path = copy_of(real, tmp_path)
    set_value(path, "btran2", (2,), np.nan)  # already NaN-bearing diagnostic
    set_value(path, "ENDWB_COL", (0,), np.nan)
    assert check_restart(path).counts["finite"] == 0
    set_value(path, "cpool", (11,), np.nan)
    report = check_restart(path)
    assert [(f.variable, f.where) for f in report.failures if f.rule == "finite"] == [("cpool", "pft=11")]


def test_dead_wood_seed_needs_the_mortality_factor(real: Path) -> None:
    """deadstemc 1.0 on zero-weight woody pfts is the 0.1 seed times OLMT's
    spinup_mortality_factor 10; with ELM's default factor 1 it is not a seed."""
    report = check_restart(real, spinup_mortality_factor=1.0)
    bad = {f.variable for f in report.failures if f.rule == "absent_pft_pools"}
    assert "deadstemc" in bad
