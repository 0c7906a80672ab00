"""Pick the gridcells of an ELM site case from a testbed world: N cells spread over the
world's climates (deterministic), or the land cells nearest to given lat,lon points."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elmai.apps.elm_runner.world import LandCells, TestbedRun, annual_climate, land_cells
from elmai.errors import InputNotFoundError, InvalidArgumentError
from elmai.io.forcing import nearest_points

# --sites picks cells mostly covered by the natural-vegetation landunit: the testbed
# simulates that column only, so those are the cells where ELM and the testbed compare
MIN_PCT_NATVEG = 50.0


@dataclass
class Sites:
    """The selected gridcells: 0-based (j, i) on the testbed grid, their centres, climate."""

    j: np.ndarray
    i: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    t_ann_c: np.ndarray
    precip_mm_yr: np.ndarray

    @property
    def n(self) -> int:
        return int(self.j.size)

    def table(self) -> list[dict[str, float | int]]:
        return [
            {"site": k + 1, "lat": float(self.lat[k]), "lon": float(self.lon[k]),
             "testbed_j": int(self.j[k]), "testbed_i": int(self.i[k]),
             "t_ann_c": round(float(self.t_ann_c[k]), 2),
             "precip_mm_yr": round(float(self.precip_mm_yr[k]), 1)}
            for k in range(self.n)
        ]  # fmt: skip


def spread_over_climates(t_c: np.ndarray, precip: np.ndarray, n: int) -> np.ndarray:
    """Indices of `n` cells spread over (mean temperature, log precipitation), each axis
    standardised: farthest-point sampling from the cell nearest the median climate. Ties go
    to the lowest index, so the choice is deterministic."""
    x = np.column_stack([t_c, np.log1p(np.maximum(precip, 0.0))])
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    first = int(np.argmin(((z - np.median(z, axis=0)) ** 2).sum(axis=1)))
    chosen = [first]
    dist = ((z - z[first]) ** 2).sum(axis=1)
    for _ in range(n - 1):
        k = int(np.argmax(dist))
        chosen.append(k)
        dist = np.minimum(dist, ((z - z[k]) ** 2).sum(axis=1))
    return np.array(chosen, dtype=np.int64)


def _subset(cells: LandCells, idx: np.ndarray, run: TestbedRun) -> Sites:
    j, i = cells.j[idx], cells.i[idx]
    t, p = annual_climate(run, j, i)
    return Sites(j, i, cells.lat[idx], cells.lon[idx], t, p)


def select_sites(run: TestbedRun, n: int) -> Sites:
    """`n` land cells of the world spread over its climates (see spread_over_climates)."""
    if n < 1:
        raise InvalidArgumentError(f"--sites must be at least 1, not {n}")
    cells = land_cells(run)
    ok = np.nonzero(cells.pct_natveg >= MIN_PCT_NATVEG)[0]
    if ok.size < n:
        raise InvalidArgumentError(
            f"--sites {n}: the world in '{run.folder}' has only {ok.size} land cells with at least "
            f"{MIN_PCT_NATVEG:g}% natural vegetation"
        )
    t, p = annual_climate(run, cells.j[ok], cells.i[ok])
    pick = ok[spread_over_climates(t, p, n)]
    return _subset(cells, pick, run)


def read_points(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """lat,lon per line (commas or blanks; '#' starts a comment; lon 0-360 or -180-180)."""
    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(f"--points '{p}' does not exist")
    lat, lon = [], []
    for no, raw in enumerate(p.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].replace(",", " ").split()
        if not line:
            continue
        try:
            la, lo = (float(v) for v in line)
        except ValueError:
            raise InvalidArgumentError(
                f"--points '{p}' line {no}: expected 'lat,lon', got {raw.strip()!r}"
            ) from None
        if not -90.0 <= la <= 90.0 or not -180.0 <= lo <= 360.0:
            raise InvalidArgumentError(f"--points '{p}' line {no}: lat {la}, lon {lo} out of range")
        lat.append(la)
        lon.append(lo)
    if not lat:
        raise InvalidArgumentError(f"--points '{p}' holds no lat,lon line")
    return np.array(lat), np.array(lon)


def select_points(run: TestbedRun, lat: np.ndarray, lon: np.ndarray) -> Sites:
    """The land cell nearest to each point; two points in one cell is an error (ELM would
    run the same gridcell twice)."""
    cells = land_cells(run)
    idx = nearest_points(cells.lat, cells.lon, np.asarray(lat, np.float64), np.asarray(lon, np.float64))
    uniq, counts = np.unique(idx, return_counts=True)
    if np.any(counts > 1):
        k = int(uniq[counts > 1][0])
        both = np.nonzero(idx == k)[0] + 1
        raise InvalidArgumentError(
            f"--points lines {', '.join(map(str, both))} fall into the same testbed gridcell "
            f"(lat {cells.lat[k]:g}, lon {cells.lon[k]:g}); give one point per gridcell"
        )
    return _subset(cells, idx, run)
