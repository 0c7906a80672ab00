"""Forcing: `elmai forcing climatology` of 3-hourly 0.5 deg datm streams (Solr, Prec,
TPQWL per month) vs reading the same bytes once (`cat` to /dev/null), and its peak RSS.

Target (issue): 20 years x 12 months x 3 files of the global 0.5 deg grid within 1.5x the
time to read their bytes, below 2 GB of memory. The default run is the same shape on a
sub-region (0.5 deg, 40 x 80 points) for 2 years; `--full` (or ELMAI_BENCH_FORCING_FULL=1)
writes the full 20-year global set (~300 GB: needs the disk).

python benchmarks/bench_forcing.py [--full] [--years N] [--nlat N --nlon N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, BenchResult, Figure
from elmai.apps.testbed.forcing_forms import write_datm_month

SPD = 8  # 3-hourly
DPM = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
ELMAI = Path(sys.executable).with_name("elmai")


def make_streams(folder: Path, years: int, nlat: int, nlon: int) -> list[Path]:
    """The stream files of `years` years on a 0.5 deg (nlat, nlon) block, one month at a time."""
    glat = -89.75 + 0.5 * np.arange(nlat) + (0.0 if nlat == 360 else 60.0)
    glon = 0.25 + 0.5 * np.arange(nlon)
    marker = folder / f".complete_{years}_{nlat}_{nlon}"
    if marker.exists():
        return sorted(folder.glob("clmforc.*.nc"))
    rng = np.random.default_rng(0)
    base = {"TBOT": 280.0, "PRECTmms": 3e-5, "FSDS": 180.0, "FLDS": 300.0, "QBOT": 0.006, "PSRF": 95000.0,
            "WIND": 4.0}  # fmt: skip
    noise = (1 + 0.05 * rng.standard_normal((31 * SPD, nlat, nlon))).astype(np.float32)
    for y in range(years):
        for m in range(12):
            nt = DPM[m] * SPD
            month = {v: b * noise[np.roll(np.arange(nt), y + m)] for v, b in base.items()}
            write_datm_month(folder, month, glat, glon, 2001 + y, m + 1, SPD)
    marker.touch()
    return sorted(folder.glob("clmforc.*.nc"))


def cat_seconds(files: list[Path]) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(files), 200):
        subprocess.run(["cat", *map(str, files[i : i + 200])], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def run(quick: bool = False, full: bool | None = None, years: int | None = None,
        nlat: int | None = None, nlon: int | None = None) -> BenchResult:  # fmt: skip
    full = os.environ.get("ELMAI_BENCH_FORCING_FULL") == "1" if full is None else full
    if full:
        years, nlat, nlon = years or 20, nlat or 360, nlon or 720
    elif quick:
        years, nlat, nlon = years or 1, nlat or 10, nlon or 20
    else:
        years, nlat, nlon = years or 2, nlat or 40, nlon or 80
    folder = RESULTS / "data" / f"forcing_datm_{years}y_{nlat}x{nlon}"
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    files = make_streams(folder, years, nlat, nlon)
    t_make = time.perf_counter() - t0
    nbytes = sum(p.stat().st_size for p in files)
    # every grid point is a gridcell (the block is all land)
    glat = -89.75 + 0.5 * np.arange(nlat) + (0.0 if nlat == 360 else 60.0)
    glon = 0.25 + 0.5 * np.arange(nlon)
    lon2, lat2 = np.meshgrid(glon, glat)
    step = max(1, lat2.size // 60_000)  # the 0.5 deg land: ~62k cells
    lat, lon = lat2.ravel()[::step], lon2.ravel()[::step]
    out = folder / "climatology.nc"
    cmd = [str(ELMAI), "forcing", "climatology", str(folder), "--out", str(out), "--no-progress",
           "--lat", *(f"{x:.2f}" for x in lat), "--lon", *(f"{x:.2f}" for x in lon)]  # fmt: skip
    t_cat = [cat_seconds(files)]  # warms the page cache; both sides read from it
    t_elmai = []
    for _ in range(1 if full else 2):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        t_elmai.append(time.perf_counter() - t0)
        t_cat.append(cat_seconds(files))
    from elmai.io.forcing import forcing_climatology

    t_inproc = []
    for _ in range(1 if full else 2):
        t0 = time.perf_counter()
        forcing_climatology(folder, lat, lon, progress=False)
        t_inproc.append(time.perf_counter() - t0)
        t_cat.append(cat_seconds(files))
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux (the CLI runs)
    t_cat_best, t_elmai_best = min(t_cat), min(t_elmai)
    t0 = time.perf_counter()
    subprocess.run([str(ELMAI), "--version"], check=True, stdout=subprocess.DEVNULL)
    t_start = time.perf_counter() - t0
    figures = [
        Figure(
            "elmai forcing climatology (CLI, whole process)",
            t_elmai_best,
            "cat of the same files",
            t_cat_best,
            target="<= 1.5",
            note=f"peak RSS {rss_mb:.0f} MB (target < 2048)",
        ),
        Figure(
            "forcing_climatology (in process: read + monthly means)",
            min(t_inproc),
            "cat of the same files",
            t_cat_best,
            target="<= 1.5",
            note="without the CLI's start-up (imports)",
        ),
    ]
    context = {
        "files": f"{len(files)} ({years} y x 12 months x 3 streams, 3-hourly, {nlat} x {nlon} at 0.5 deg)",
        "bytes": f"{nbytes / 1e9:.2f} GB",
        "gridcells": int(lat.size),
        "peak_rss_mb": round(rss_mb, 1),
        "memory_target_met": bool(rss_mb < 2048),
        "read_rate_elmai_GBps": round(nbytes / 1e9 / t_elmai_best, 2),
        "read_rate_cat_GBps": round(nbytes / 1e9 / t_cat_best, 2),
        "generation_s": round(t_make, 1),
        "cli_startup_s": round(t_start, 2),
        "size": "full (issue target)" if full else "reduced: same file shape, sub-region, fewer years",
    }
    return BenchResult("forcing", "elmai forcing climatology of datm streams vs cat", figures, context)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="20 years, global 0.5 deg (the issue's size)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--years", type=int)
    p.add_argument("--nlat", type=int)
    p.add_argument("--nlon", type=int)
    a = p.parse_args()
    r = run(quick=a.quick, full=a.full or None, years=a.years, nlat=a.nlat, nlon=a.nlon)
    print(r.table())
    print(f"   -> {r.save()}")
