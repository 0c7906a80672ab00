"""Checks: static restart validation vs reading the file; the dynamic balance check vs
vectorised numpy and vs streaming its bytes once (the memory-bandwidth floor)."""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

import elmai
from benchmarks.bench_restart_io import elmai_read, netcdf4_read
from benchmarks.common import RESULTS, BenchResult, Figure, timeit
from elmai.checks import balance_errors, check_restart
from elmai.io.sample_restart import make_sample_restart


def run(quick: bool = False) -> BenchResult:
    work = RESULTS / "data"
    work.mkdir(parents=True, exist_ok=True)
    # 1 deg global land: ~21k gridcells (all 17 natural PFT slots per vegetated column)
    ngrid, nvars = (300, 200) if quick else (21_000, 400)
    path = work / f"check_{ngrid}_{nvars}.elm.r.0021-01-01-00000.nc"
    if not path.exists():
        make_sample_restart(path, ngridcells=ngrid, n_variables=nvars, seed=3)
    repeat = 2 if quick else 3
    report = check_restart(path)
    assert report.ok, report.table()
    t_check = timeit(lambda: check_restart(path), repeat)
    t_read = timeit(lambda: elmai_read(path, None), repeat)
    t_nc4 = timeit(lambda: netcdf4_read(path, None), repeat)
    t_xr = timeit(lambda: xr.open_dataset(path).load().close(), repeat)

    # a time step that closes except in a few columns, as a real one does
    ncol = 1 << 14 if quick else 1 << 21
    rng = np.random.default_rng(0)
    dt = 1800.0
    begin = rng.uniform(1e3, 2e4, ncol)
    inputs = {"gpp": rng.uniform(0, 1e-4, ncol)}
    outputs = {k: rng.uniform(0, 2e-5, ncol) for k in ("ar", "hr", "fire", "harvest", "leach")}
    end = begin + (inputs["gpp"] - sum(outputs.values())) * dt
    end[rng.choice(ncol, 5, replace=False)] += 1e-3
    arrays = [begin, end, *inputs.values(), *outputs.values()]

    def numpy_check() -> np.ndarray:
        err = (sum(inputs.values()) - sum(outputs.values())) * dt - (end - begin)
        return np.flatnonzero(np.abs(err) > 1e-7)

    def elmai_check() -> None:
        elmai.check_balance(begin, end, inputs, outputs, dt)

    def stream_once() -> None:  # each byte read once, vectorised: the bandwidth floor
        for a in arrays:
            np.add.reduce(a)

    np.testing.assert_allclose(
        balance_errors(begin, end, inputs, outputs, dt),
        (sum(inputs.values()) - sum(outputs.values())) * dt - (end - begin),
        atol=1e-9,
    )
    reps = 3 if quick else 10
    t_np = timeit(numpy_check, reps)
    t_dyn = timeit(lambda: balance_errors(begin, end, inputs, outputs, dt), reps)
    t_dyn_report = timeit(elmai_check, reps)
    t_floor = timeit(stream_once, reps)
    nbytes = sum(a.nbytes for a in arrays)
    size_mb = path.stat().st_size / 1e6
    figures = [
        Figure(
            "static check (all rules)",
            t_check,
            "elmai read of every variable",
            t_read,
            "<= 1.0",
            "the finite rule reads every float variable once",
        ),  # fmt: skip
        Figure("netCDF4-python read of every variable", t_nc4, "static check (all rules)", t_check, ">= 1.0"),
        Figure("xarray open_dataset().load()", t_xr, "static check (all rules)", t_check, ">= 1.0"),
        Figure("numpy balance check", t_np, "elmai balance check", t_dyn_report, ">= 3"),
        Figure(
            "elmai balance errors (all columns)",
            t_dyn,
            "stream the bytes once (numpy reduce)",
            t_floor,
            "<= 2",
        ),
    ]
    context = {
        "restart": f"{path.name}: {size_mb:.0f} MB, {len(elmai.open_restart(path).variables)} variables",
        "balance": f"{ncol} columns, 1 input + 5 output terms, {nbytes / 1e6:.0f} MB of arrays",
    }
    return BenchResult("checks", "restart validation and ELM balance check", figures, context)


if __name__ == "__main__":
    res = run(quick=os.environ.get("ELMAI_BENCH_QUICK") == "1")
    print(res.table())
    res.save()
