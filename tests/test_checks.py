"""Balance checks and restart validation: parity with numpy, faults found at their cell."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest

import elmai
from elmai import errors
from elmai.checks import balance_errors, check_balance, check_restart, check_water_balance
from elmai.io.elm_params import default_params
from elmai.io.sample_restart import make_sample_restart
from tests.compiled import compile_program, run_program
from tests.conftest import FORMATS, ROOT, read_all_netcdf4
from tests.test_checks_real_elm import elm_reference_failures

# ---- dynamic balance check -----------------------------------------------------------


def balanced_step(ncol: int, nin: int, nout: int, seed: int, dt: float = 1800.0):
    rng = np.random.default_rng(seed)
    begin = rng.uniform(1e3, 2e4, ncol)
    inputs = {f"in{k}": rng.uniform(0, 1e-4, ncol) for k in range(nin)}
    outputs = {f"out{k}": rng.uniform(0, 5e-5, ncol) for k in range(nout)}
    end = begin + (sum(inputs.values()) - sum(outputs.values())) * dt
    return begin, end, inputs, outputs, dt


@pytest.mark.parametrize("ncol, nin, nout", [(1, 1, 1), (1000, 1, 3), (5003, 3, 6), (0, 1, 1)])
def test_balance_errors_equal_numpy(ncol: int, nin: int, nout: int) -> None:
    begin, end, inputs, outputs, dt = balanced_step(ncol, nin, nout, seed=ncol)
    end = end + np.random.default_rng(1).normal(0, 1e-6, ncol)
    ref = (sum(inputs.values()) - sum(outputs.values())) * dt - (end - begin)
    got = balance_errors(begin, end, inputs, outputs, dt)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)


def test_balance_failures_name_the_column_and_all_terms() -> None:
    begin, end, inputs, outputs, dt = balanced_step(2000, 1, 3, seed=4)
    end[17] += 3e-6
    end[1640] -= 2e-5
    end[900] += 5e-8  # inside ELM's 1e-7
    col_g = np.arange(2000) // 2
    lat, lon = np.linspace(-60, 80, 1000), np.linspace(0, 359, 1000)
    r = check_balance(
        begin, end, inputs, outputs, dt, column_gridcell=col_g, gridcell_lat=lat, gridcell_lon=lon
    )
    assert not r.ok
    assert [f.column for f in r.failures] == [17, 1640] and not r.warnings
    f = r.failures[1]
    assert f.gridcell == 820 and f.lat == lat[820] and f.lon == lon[820]
    assert f.error == pytest.approx(2e-5, rel=1e-6)
    assert set(f.inputs) == {"in0"} and set(f.outputs) == {"out0", "out1", "out2"}
    assert f.begin == begin[1640] and f.end == end[1640]
    assert r.max_column == 1640 and r.max_abs_error == pytest.approx(2e-5, rel=1e-6)
    assert "column 1640 (gridcell 820" in r.table()
    # a looser tolerance passes the same step
    assert check_balance(begin, end, inputs, outputs, dt, tolerance=1e-4).ok


def test_threads_give_the_same_answer() -> None:
    begin, end, inputs, outputs, dt = balanced_step(1 << 20, 2, 4, seed=9)
    rng = np.random.default_rng(2)
    bad = np.sort(rng.choice(begin.size, 40, replace=False))
    end[bad] += rng.uniform(1e-6, 1e-3, bad.size)
    serial = check_balance(begin, end, inputs, outputs, dt, threads=1)
    for threads in (2, 3, 0):
        r = check_balance(begin, end, inputs, outputs, dt, threads=threads)
        assert [f.column for f in r.failures] == [f.column for f in serial.failures] == bad.tolist()
        assert r.max_column == serial.max_column and r.max_abs_error == serial.max_abs_error
        np.testing.assert_array_equal(
            balance_errors(begin, end, inputs, outputs, dt, threads=threads),
            balance_errors(begin, end, inputs, outputs, dt, threads=1),
        )


def test_water_balance_warns_then_fails() -> None:
    begin, end, inputs, outputs, dt = balanced_step(100, 2, 2, seed=5)
    end[3] += 5e-6  # warn: 1e-7 < err < 1e-4 mm
    end[50] += 1e-3  # fail
    r = check_water_balance(begin, end, inputs, outputs, dt)
    assert [f.column for f in r.warnings] == [3] and [f.column for f in r.failures] == [50]
    assert r.element == "water"


def test_nan_flux_fails() -> None:
    begin, end, inputs, outputs, dt = balanced_step(10, 1, 1, seed=6)
    inputs["in0"][4] = np.nan
    r = check_balance(begin, end, inputs, outputs, dt)
    assert [f.column for f in r.failures] == [4]


def test_balance_check_rejects_bad_arrays() -> None:
    begin, end, inputs, outputs, dt = balanced_step(10, 1, 1, seed=7)
    with pytest.raises(errors.DtypeError, match="input 1 must be a float64"):
        check_balance(begin, end, {"gpp": inputs["in0"].astype(np.float32)}, outputs, dt)
    with pytest.raises(errors.ShapeError, match="output 1 has 9 columns"):
        check_balance(begin, end, inputs, {"er": outputs["out0"][:9]}, dt)
    with pytest.raises(errors.InvalidArgumentError, match="dt"):
        check_balance(begin, end, inputs, outputs, 0.0)


def test_fortran_balance_check(tmp_path: Path) -> None:
    exe = compile_program(ROOT / "fortran_bridge" / "tests" / "balance_check.F90", tmp_path / "balance_check")
    done = run_program(exe)
    assert done.returncode == 0, done.stdout + done.stderr
    out = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}
    assert out["status"] == ["0"] and out["nfail"] == ["2"]
    assert out["failing"] == ["17", "640", "0", "0", "0"]  # 1-based, as Fortran counts
    assert float(out["max_error"][0]) == pytest.approx(2e-5, rel=1e-4)
    assert out["water"] == ["0", "2"]  # both above 1e-7 (warn), none above 1e-4
    assert out["error_shape"][0] == "4" and "same number of columns" in " ".join(out["error_shape"])
    assert out["error_dt"][0] == "7" and "dt" in " ".join(out["error_dt"])


# ---- static restart validation --------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check") / "clean.elm.r.0021-01-01-00000.nc"
    make_sample_restart(path, ngridcells=40, seed=11)
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_clean_restart_passes_every_rule(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "clean.nc"
    make_sample_restart(path, ngridcells=25, format=fmt, record_dim=True, seed=12)
    report = check_restart(path)
    assert report.ok, report.table()
    assert set(report.rules_run) == {
        "finite", "non_negative", "soil_cn", "soil_cp", "plant_cn", "plant_cp",
        "totals", "subgrid_weights", "absent_pft_pools", "spinup_state",
    }  # fmt: skip
    assert not report.rules_skipped
    assert "totvegc (pft)" in report.notes["totals"] and "totcolc (column)" in report.notes["totals"]


def inject(clean: Path, tmp_path: Path, name: str, index: tuple[int, ...] | None, value) -> Path:
    """Copy `clean` and set one value with netCDF4-python (elmai's writer refuses NaN)."""
    path = tmp_path / "faulty.nc"
    shutil.copy(clean, path)
    with netCDF4.Dataset(path, "r+") as ds:
        ds.set_auto_maskandscale(False)
        var = ds.variables[name]
        if index is None:
            var.assignValue(value)
        else:
            data = var[...]
            data[index] = value(data[index]) if callable(value) else value
            var[...] = data
    return path


def first_present_pft(clean: Path, woody: bool = True) -> int:
    v = read_all_netcdf4(clean)
    w = default_params()["woody"][v["pfts1d_itypveg"]] > 0
    ok = (v["pfts1d_wtcol"] > 0) & (v["pfts1d_itypveg"] > 0) & (w if woody else True)
    return int(np.flatnonzero(ok)[0])


def soil_column(clean: Path) -> int:
    v = read_all_netcdf4(clean)
    return int(np.flatnonzero(v["cols1d_ityplun"] == 1)[3])


def assert_names_cell(report, rule: str, variable: str, where: str, gridcell: int | None = None) -> None:
    assert not report.ok
    hits = [f for f in report.failures if f.rule == rule]
    assert hits, report.table()
    assert any(f.variable == variable and f.where == where for f in hits), [
        (f.variable, f.where) for f in hits
    ]
    if gridcell is not None:
        assert any(f.gridcell == gridcell for f in hits)
        hit = next(f for f in hits if f.gridcell == gridcell)
        assert -90 <= hit.lat <= 90


def test_finite(clean: Path, tmp_path: Path) -> None:
    c = soil_column(clean)
    g = int(read_all_netcdf4(clean)["cols1d_gridcell_index"][c]) - 1
    report = check_restart(inject(clean, tmp_path, "soil3c_vr", (c, 2), np.nan))
    assert_names_cell(report, "finite", "soil3c_vr", f"column={c}, levgrnd=2", gridcell=g)
    assert report.counts["finite"] == 1


def test_non_negative(clean: Path, tmp_path: Path) -> None:
    p = first_present_pft(clean)
    report = check_restart(inject(clean, tmp_path, "deadstemc", (p,), -5.0))
    g = int(read_all_netcdf4(clean)["pfts1d_gridcell_index"][p]) - 1
    assert_names_cell(report, "non_negative", "deadstemc", f"pft={p}", gridcell=g)


def test_soil_cn(clean: Path, tmp_path: Path) -> None:
    c = soil_column(clean)
    report = check_restart(inject(clean, tmp_path, "soil2n_vr", (c, 4), lambda x: x * 1.1))
    assert_names_cell(report, "soil_cn", "soil2n_vr", f"column={c}, levgrnd=4")
    assert report.counts["soil_cn"] == 1


def test_soil_cp(clean: Path, tmp_path: Path) -> None:
    """Soil C:P floats in ELM CNP (no bound in the source): within stoichiometry_factor (2)
    of cn_s x np_s_new it is silent, beyond it warns at the cell and the file still passes;
    no P at all where the pool holds carbon warns too."""
    c = soil_column(clean)
    quiet = check_restart(inject(clean, tmp_path, "soil4p_vr", (c, 0), lambda x: x * 0.9))
    assert quiet.ok and not quiet.warnings
    report = check_restart(inject(clean, tmp_path, "soil4p_vr", (c, 0), lambda x: x * 0.3))
    assert report.ok and report.counts["soil_cp"] == 0
    assert report.warning_counts["soil_cp"] == 1
    hit = report.warnings[0]
    assert (hit.rule, hit.variable, hit.where) == ("soil_cp", "soil4p_vr", f"column={c}, levgrnd=0")
    assert hit.expected == pytest.approx(default_params().soil_cp_initial[3])
    assert "warning soil_cp: soil4p_vr" in report.table()
    none = check_restart(inject(clean, tmp_path, "soil4p_vr", (c, 0), 0.0))
    assert none.ok and none.warning_counts["soil_cp"] == 1 and "no p where" in none.warnings[0].message


def test_plant_cn_and_cp(clean: Path, tmp_path: Path) -> None:
    p = first_present_pft(clean)
    report = check_restart(inject(clean, tmp_path, "leafn", (p,), lambda x: x / 3.0))
    assert_names_cell(report, "plant_cn", "leafn", f"pft={p}")
    report = check_restart(inject(clean, tmp_path, "frootp", (p,), lambda x: x * 0.3))
    assert_names_cell(report, "plant_cp", "frootp", f"pft={p}")


def test_totals(clean: Path, tmp_path: Path) -> None:
    c = soil_column(clean)
    report = check_restart(inject(clean, tmp_path, "totsomc", (c,), lambda x: x + 100.0))
    assert_names_cell(report, "totals", "totsomc", f"column={c}")
    assert report.counts["totals"] == 1
    p = first_present_pft(clean)
    report = check_restart(inject(clean, tmp_path, "totvegc", (p,), lambda x: x * 1.01))
    assert_names_cell(report, "totals", "totvegc", f"pft={p}")  # a pft variable, as in ELM
    # xsmrpool is in totcolc (via totpftc) but not in totvegc
    report = check_restart(inject(clean, tmp_path, "xsmrpool", (p,), lambda x: x - 7.0))
    col = int(read_all_netcdf4(clean)["pfts1d_column_index"][p]) - 1
    assert {(f.variable, f.where) for f in report.failures} == {("totcolc", f"column={col}")}
    # an inactive zero-weight pft keeps its stale cold-start total, but not any value
    v = read_all_netcdf4(clean)
    q = int(np.flatnonzero((v["pfts1d_wtcol"] == 0) & (v["pfts1d_itypveg"] > 0) & (v["deadstemc"] > 0))[0])
    assert v["totvegc"][q] != pytest.approx(v["leafc"][q] + v["leafc_storage"][q] + v["deadstemc"][q])
    report = check_restart(inject(clean, tmp_path, "totvegc", (q,), lambda x: x + 0.5))
    assert_names_cell(report, "totals", "totvegc", f"pft={q}")


def test_totvegc_on_column_is_checked_the_old_way(tmp_path: Path) -> None:
    """Old elmai testbed files carry totvegc on 'column': it is compared with the
    pfts1d_wtcol-weighted sum (ELM's p2c) of the same terms."""
    src = tmp_path / "pft.nc"
    make_sample_restart(src, ngridcells=6, seed=3)
    v = read_all_netcdf4(src)
    col = v["pfts1d_column_index"] - 1
    w = np.where(v["pfts1d_active"] > 0, v["pfts1d_wtcol"], 0.0)
    per_col = np.bincount(col, weights=v["totvegc"] * w, minlength=v["cols1d_wtxy"].size)
    dst = tmp_path / "col.nc"
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(dst, "w", format="NETCDF3_64BIT_OFFSET") as b:
        a.set_auto_maskandscale(False)
        for name, dim in a.dimensions.items():
            b.createDimension(name, len(dim))
        for name, var in a.variables.items():
            if name == "totvegc":
                b.createVariable(name, "f8", ("column",))[...] = per_col
            else:
                out = b.createVariable(name, var.dtype, var.dimensions)
                out.set_auto_maskandscale(False)
                out[...] = var[...]
    report = check_restart(dst)
    assert report.ok, report.table()
    assert "totvegc (column)" in report.notes["totals"]
    c = int(col[first_present_pft(src)])
    report = check_restart(inject(dst, tmp_path, "totvegc", (c,), lambda x: x * 1.05))
    assert_names_cell(report, "totals", "totvegc", f"column={c}")


def test_subgrid_weights(clean: Path, tmp_path: Path) -> None:
    v = read_all_netcdf4(clean)
    p = first_present_pft(clean)
    column = int(v["pfts1d_column_index"][p]) - 1
    first_child = int(np.flatnonzero(v["pfts1d_column_index"] - 1 == column)[0])
    report = check_restart(inject(clean, tmp_path, "pfts1d_wtcol", (p,), lambda x: x + 0.01))
    assert_names_cell(report, "subgrid_weights", "pfts1d_wtcol", f"pft={first_child}")
    assert str(column) in next(f.message for f in report.failures if f.rule == "subgrid_weights")


def test_absent_pft_pools(clean: Path, tmp_path: Path) -> None:
    v = read_all_netcdf4(clean)
    absent = (v["pfts1d_wtcol"] == 0) & (v["pfts1d_itypveg"] > 0)
    # the clean file holds ELM's cold-start seeds there, and passes
    assert (v["leafc"][absent] + v["leafc_storage"][absent] == 1.0).all()
    p = int(np.flatnonzero(absent)[0])
    report = check_restart(inject(clean, tmp_path, "leafc", (p,), 5.0))
    assert_names_cell(report, "absent_pft_pools", "leafc", f"pft={p}")
    report = check_restart(inject(clean, tmp_path, "livestemc", (p,), 1.0))  # not a seeded pool
    assert_names_cell(report, "absent_pft_pools", "livestemc", f"pft={p}")
    n = "leafn" if v["leafn"][p] > 0 else "leafn_storage"
    report = check_restart(inject(clean, tmp_path, n, (p,), lambda x: x * 5))  # not seed C / leafcn
    assert_names_cell(report, "absent_pft_pools", n, f"pft={p}")
    bare = int(np.flatnonzero(v["pfts1d_itypveg"] == 0)[0])
    report = check_restart(inject(clean, tmp_path, "leafc", (bare,), 1.0))  # no seeds on bare ground
    assert_names_cell(report, "absent_pft_pools", "leafc", f"pft={bare}")


def test_xsmrpool_may_be_negative(clean: Path) -> None:
    v = read_all_netcdf4(clean)
    assert v["xsmrpool"].min() < 0
    assert check_restart(clean).counts["non_negative"] == 0


def test_spinup_state(clean: Path, tmp_path: Path) -> None:
    """spinup_state is ELM's: 0 or 1. An AD file passes whatever its soil4 share (ELM's
    soil4 seed dominates cold, young soils); its scalaravg_col of 0 (ELM's own before AD
    year 20) warns that it cannot leave AD yet; a negative one fails at its cell."""
    ad = inject(clean, tmp_path, "spinup_state", None, np.int32(1))
    report = check_restart(ad)
    assert report.ok, report.table()
    assert "AD restart (spinup_state 1)" in report.notes["spinup_state"]
    assert "soil4 holds" in report.notes["spinup_state"]
    wrong = check_restart(inject(clean, tmp_path, "spinup_state", None, np.int32(2)))
    assert_names_cell(wrong, "spinup_state", "spinup_state", "")
    # a normal-mode file with little soil4 is a young spin-up, not an error
    young = inject(clean, tmp_path, "soil4c_vr", (slice(None), slice(None)), lambda x: x / 100.0)
    assert check_restart(young).counts["spinup_state"] == 0
    c = soil_column(clean)
    for value, failing in ((0.0, False), (-0.5, True)):
        path = inject(clean, tmp_path, "scalaravg_col", (c, slice(None)), value)
        with netCDF4.Dataset(path, "r+") as ds:
            ds.variables["spinup_state"].assignValue(np.int32(1))
        report = check_restart(path)
        if failing:
            assert_names_cell(report, "spinup_state", "scalaravg_col", f"column={c}, levgrnd=0")
        else:
            assert report.ok and report.warning_counts["spinup_state"] >= 1
            assert "cannot leave AD before year 20" in report.notes["spinup_state"]


def test_parity_with_numpy_reference(clean: Path, tmp_path: Path) -> None:
    """Several faults at once: the C++ checker finds exactly the cells numpy finds."""
    path = tmp_path / "many.nc"
    shutil.copy(clean, path)
    rng = np.random.default_rng(5)
    with netCDF4.Dataset(path, "r+") as ds:
        ds.set_auto_maskandscale(False)
        for name in ("soil1n_vr", "soil3n_vr", "litr2c_vr", "deadcrootc", "totlitc", "leafc"):
            x = ds.variables[name][...]
            flat = x.reshape(-1)
            idx = rng.choice(flat.size, 5, replace=False)
            flat[idx] = np.where(flat[idx] < 1e35, flat[idx] * rng.choice([-1.0, 1.3], 5), flat[idx])
            ds.variables[name][...] = flat.reshape(x.shape)
    ref = elm_reference_failures(path)
    report = check_restart(path, max_per_rule=10_000)
    for rule, cells in ref.items():
        got = {(f.variable, f.index) for f in report.failures if f.rule == rule}
        assert got == cells, rule
        assert report.counts[rule] == len(cells)


def test_rules_without_their_variables_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "params_only.nc"
    elmai.write_netcdf(path, {"x": (("n",), np.arange(3.0))})
    report = check_restart(path)
    assert report.ok and report.rules_run == ["finite"]
    assert "soil_cn" in report.rules_skipped


def test_cli_check(clean: Path, tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "elmai", "check", str(clean)], capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = inject(clean, tmp_path, "soil2n_vr", (soil_column(clean), 1), lambda x: x * 2)
    done = subprocess.run(
        [sys.executable, "-m", "elmai", "check", str(bad), "--json"], capture_output=True, text=True
    )
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["counts"]["soil_cn"] == 1
    loose = subprocess.run(
        [sys.executable, "-m", "elmai", "check", str(bad), "--tolerance", "2"], capture_output=True
    )
    assert loose.returncode == 0


def test_fortran_example_02_finds_the_faulty_column(clean: Path, tmp_path: Path) -> None:
    exe = compile_program(ROOT / "fortran_bridge" / "examples" / "02_check_restart" / "check_restart.F90",
                          tmp_path / "check_restart")  # fmt: skip
    done = run_program(exe, str(clean))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "disagreeing: 0" in done.stdout
    c = soil_column(clean)
    bad = inject(clean, tmp_path, "totsomc", (c,), lambda x: x + 5.0)
    done = run_program(exe, str(bad))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "disagreeing: 1" in done.stdout
    assert f"first disagreeing columns: {c + 1}" in done.stdout  # Fortran counts from 1


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA", "NETCDF4"])
def test_finite_rule_on_variables_no_other_rule_reads(tmp_path: Path, fmt: str) -> None:
    """Classic files scan such variables on their raw big-endian bytes: a NaN or Inf there
    (double, float, record variable) is still found at its cell."""
    path = tmp_path / "f.nc"
    rng = np.random.default_rng(0)
    elmai.write_netcdf(
        path,
        {
            "T_SOISNO": (("column", "levtot"), rng.uniform(250, 300, (30, 20))),
            "h2osoi_f32": (("column",), rng.uniform(0, 1, 30).astype(np.float32)),
            "flux_rec": (("time", "column"), rng.standard_normal((3, 30))),
            "fill_is_fine": (("column",), np.full(30, 1e36)),
        },
        format=fmt,
        unlimited=["time"],
    )
    assert check_restart(path).ok
    with netCDF4.Dataset(path, "r+") as ds:
        ds.set_auto_maskandscale(False)
        t = ds["T_SOISNO"][...]
        t[7, 13] = np.nan
        ds["T_SOISNO"][...] = t
        h = ds["h2osoi_f32"][...]
        h[29] = np.float32(np.inf)
        ds["h2osoi_f32"][...] = h
        f = ds["flux_rec"][...]
        f[2, 4] = -np.inf
        ds["flux_rec"][...] = f
    report = check_restart(path)
    found = {(f.variable, f.where) for f in report.failures if f.rule == "finite"}
    assert found == {
        ("T_SOISNO", "column=7, levtot=13"),
        ("h2osoi_f32", "column=29"),
        ("flux_rec", "time=2, column=4"),
    }
