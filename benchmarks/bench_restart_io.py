"""Restart I/O: elmai vs the floor (bytes into memory, `cp`), netCDF4-python and xarray.

The file is ELM-like with as many variables as real restarts carry (>= 1,500, >= 20k
pfts). All reads run with a warm page cache, so the floor is the memory copy.

elmai returns the values as stored (no _FillValue masking, scale/offset or time
decoding), so the like-for-like xarray figures open the file with decode_cf=False
(netCDF4-python likewise runs with auto mask-and-scale off); xarray's default open,
which decodes CF attributes, is kept as a second figure labelled "CF decoding".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr

import elmai
from benchmarks.common import RESULTS, BenchResult, Figure, timeit
from elmai.io import elm_names as N
from elmai.io.sample_restart import make_sample_restart
from elmai.io.subgrid import _SOURCES

SPINUP_VARS = list(N.SPINUP_PFT_TARGETS + N.SPINUP_COLUMN_TARGETS)
SUBGRID_VARS = [var for var, _ in _SOURCES.values()]
RAW = "open_dataset(decode_cf=False)"
DECODED = "open_dataset() decoding CF (mask_and_scale, times)"


def read_floor(path: Path, buf: np.ndarray) -> None:
    """All the file's bytes into memory: one read into a buffer that is already faulted in
    (a fresh buffer would add ~0.1 s of page faults that readers reusing memory avoid)."""
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while view:
            n = f.readinto(view)
            if not n:
                break
            view = view[n:]


def elmai_read(path: Path, names: list[str] | None) -> None:
    with elmai.open_restart(path) as r:
        for name in names or r.variables:
            r.read(name)


def netcdf4_read(path: Path, names: list[str] | None) -> None:
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        for name in names or list(ds.variables):
            ds.variables[name][...]


def xarray_read(path: Path, names: list[str] | None, decode_cf: bool = False) -> None:
    """decode_cf=False: raw stored values like elmai's (no mask_and_scale, no time decoding)."""
    with xr.open_dataset(path, decode_cf=decode_cf) as ds:
        (ds[names] if names else ds).load()


def run(quick: bool = False) -> BenchResult:
    work = RESULTS / "data"
    work.mkdir(parents=True, exist_ok=True)
    ngridcells, nvars = (120, 300) if quick else (1200, 1600)
    path = work / f"bench_{ngridcells}_{nvars}.elm.r.0021-01-01-00000.nc"
    if not path.exists():
        make_sample_restart(path, ngridcells=ngridcells, n_variables=nvars, seed=7)
    size = path.stat().st_size
    with elmai.open_restart(path) as r:
        dims, nvariables = r.dims, len(r.variables)
        updates = {name: r.read(name) * 1.01 for name in SPINUP_VARS}
    repeat = 3 if quick else 5

    buf = np.ones(size, np.uint8)
    t_floor = timeit(lambda: read_floor(path, buf), repeat)
    t_cat = timeit(lambda: subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True), repeat)
    t_elmai = timeit(lambda: elmai_read(path, None), repeat)
    t_nc4 = timeit(lambda: netcdf4_read(path, None), repeat)
    t_xr = timeit(lambda: xarray_read(path, None), max(2, repeat - 2))
    t_xr_cf = timeit(lambda: xarray_read(path, None, decode_cf=True), max(2, repeat - 2))
    sel = SPINUP_VARS + SUBGRID_VARS
    s_elmai = timeit(lambda: elmai_read(path, sel), repeat)
    s_nc4 = timeit(lambda: netcdf4_read(path, sel), repeat)
    s_xr = timeit(lambda: xarray_read(path, sel), repeat)
    s_xr_cf = timeit(lambda: xarray_read(path, sel, decode_cf=True), repeat)
    # like for like: xarray without CF decoding returns exactly what elmai returns
    with elmai.open_restart(path) as r, xr.open_dataset(path, decode_cf=False) as ds:
        for name in sel:
            assert np.array_equal(r.read(name), ds[name].values, equal_nan=True), name

    dst = work / "bench_out.nc"

    def clear() -> None:
        dst.unlink(missing_ok=True)

    def nc4_update() -> None:
        shutil.copyfile(path, dst)
        with netCDF4.Dataset(dst, "r+") as ds:
            for name, value in updates.items():
                ds.variables[name][...] = value

    w_elmai = timeit(lambda: elmai.write_restart(path, dst, updates), repeat, setup=clear)
    w_cp = timeit(lambda: subprocess.run(["cp", str(path), str(dst)], check=True), repeat, setup=clear)
    w_nc4 = timeit(nc4_update, repeat, setup=clear)
    # the written file is right (a benchmark of a wrong answer is worthless)
    elmai.write_restart(path, dst, updates)
    with elmai.open_restart(dst) as out:
        for name, value in updates.items():
            assert np.array_equal(out.read(name), value), name
    clear()

    figures = [
        Figure("read all: elmai", t_elmai, "floor (bytes into memory)", t_floor, "<= 1.2"),
        Figure(
            "read all: elmai (vs cat)",
            t_elmai,
            "cat > /dev/null",
            t_cat,
            "",
            "cat keeps no bytes: context only",
        ),
        Figure("read all: xarray", t_xr, "elmai", t_elmai, ">= 2.5", f"{RAW}.load(): raw values, like elmai"),
        Figure(
            "read all: xarray (CF decoding)",
            t_xr_cf,
            "elmai",
            t_elmai,
            "",
            f"{DECODED}.load(): not like for like",
        ),
        Figure("read all: netCDF4-python", t_nc4, "elmai", t_elmai, ">= 1.0"),
        Figure("selective read: xarray", s_xr, "elmai", s_elmai, ">= 5", f"{len(sel)} variables, {RAW}"),
        Figure(
            "selective read: xarray (CF decoding)",
            s_xr_cf,
            "elmai",
            s_elmai,
            "",
            f"{len(sel)} variables, {DECODED}: not like for like",
        ),
        Figure("selective read: netCDF4-python", s_nc4, "elmai", s_elmai, ">= 1.0"),
        Figure("write_restart (6 vars): elmai", w_elmai, "cp of the same file", w_cp, "<= 1.5"),
        Figure("copy + netCDF4 r+ update", w_nc4, "elmai write_restart", w_elmai, ">= 1.0"),
    ]
    context = {
        "file": f"{path.name}: {size / 1e6:.0f} MB, {nvariables} variables, "
        + ", ".join(f"{k}={v}" for k, v in dims.items()),
        "timing": f"median of {repeat} after a warm-up, page cache warm",
    }
    return BenchResult("restart_io", "ELM restart read/write", figures, context)


if __name__ == "__main__":
    res = run(quick=os.environ.get("ELMAI_BENCH_QUICK") == "1")
    print(res.table())
    res.save()
