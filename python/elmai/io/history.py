"""ELM h0 history files (`<case>.elm.h0.YYYY-MM.nc`): the decomposition scalars a case ran with.

ELM's decay rate of every CTC pool is k x T_SCALAR x W_SCALAR x O_SCALAR x depth scalar
(DecompCascadeCNMod). h0 carries the first three per level (`levdcmp`) as monthly means on
`lndgrid` (1-D) or (lat, lon) (histFileMod); their product, averaged over the months of
whole forcing cycles, is the climatological environmental scalar `elmai refine` and the
data set's decay-rate features use. A product of monthly means, not the monthly mean of
the product: the sub-monthly covariance of temperature and moisture is not in h0.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from elmai.errors import ElmaiError, VariableNotFoundError
from elmai.io.elm_names import NLEVDECOMP
from elmai.io.forcing import nearest_on_grid, nearest_points
from elmai.io.restart import open_netcdf

SCALARS = ("T_SCALAR", "W_SCALAR", "O_SCALAR")


def history_files(folder: str | os.PathLike[str], case: str | None = None) -> list[Path]:
    """The h0 files of a case in a folder, in time order (their names sort by date)."""
    return sorted(Path(folder).glob(f"{case or '*'}.elm.h0.*.nc"))


def history_year(path: Path) -> int | None:
    """The year in an h0 file name (`<case>.elm.h0.YYYY-MM.nc`), None if it has none."""
    stem = path.name.rsplit(".elm.h0.", 1)[-1]
    head = stem.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def files_before(folder: str | os.PathLike[str], year: int | None, max_years: int = 20) -> list[Path]:
    """The h0 files of the run that led to a restart dated `year`: those of the last
    `max_years` years before it found in `folder` (all of them if the year is unknown)."""
    files = history_files(folder)
    if year is None:
        return files
    keep = [f for f in files if (y := history_year(f)) is not None and year - max_years <= y < year]
    return keep


def annual_means(files: Sequence[str | os.PathLike[str]], names: Sequence[str]) -> dict[str, np.ndarray]:
    """{name: (years, ...)} annual means of monthly h0 files, 12 per year in the given order
    (spval/missing as NaN); a trailing partial year is left out."""
    import netCDF4

    files = list(files)
    rows: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for y in range(len(files) // 12):
        acc: dict[str, np.ndarray] = {}
        for f in files[12 * y : 12 * (y + 1)]:
            with netCDF4.Dataset(f) as d:
                for n in names:
                    acc[n] = acc.get(n, 0.0) + np.ma.filled(d[n][0].astype(np.float64), np.nan) / 12.0
        for n in names:
            rows[n].append(acc[n])
    return {n: np.array(rows[n]) for n in names}


def _cells_index(f, lat: np.ndarray, lon: np.ndarray, path: Path) -> tuple:
    """Index into the file's horizontal dims for each cell (nearest point), as the forcing
    readers match cells."""
    if "lat" not in f or "lon" not in f:
        raise VariableNotFoundError(f"history '{path}' lacks lat/lon")
    flat, flon = f.read("lat").astype(np.float64), f.read("lon").astype(np.float64)
    if "lndgrid" in f.dims:  # 1-D: lat/lon per gridcell
        return (nearest_points(flat, flon, lat, lon),)
    return nearest_on_grid(flat, flon, lat, lon)


def decomposition_scalars(
    files: Sequence[str | os.PathLike[str]], lat: np.ndarray, lon: np.ndarray
) -> np.ndarray:
    """(ncell, NLEVDECOMP) mean over `files` (monthly h0) of T_SCALAR x W_SCALAR x O_SCALAR
    at each cell (nearest history point); NaN where ELM wrote spval (a gridcell without an
    active soil column). O_SCALAR counts as 1 where a file lacks it (ELM writes it only
    with anoxia on). Clear errors name the file and variable."""
    if not files:
        raise ElmaiError("no h0 history files given")
    total = np.zeros((lat.size, NLEVDECOMP))
    months = 0
    where = None
    for path in map(Path, files):
        with open_netcdf(path) as f:
            for name in SCALARS[:2]:
                if name not in f:
                    raise VariableNotFoundError(f"history '{path}' lacks {name} (ELM's decomposition scalar)")
            if where is None:  # every h0 file of a case is on the same grid: match cells once
                where = _cells_index(f, lat, lon, path)
            product = np.ones((lat.size, NLEVDECOMP))
            for name in SCALARS:
                if name not in f:
                    continue
                data = np.asarray(f.read(name), dtype=np.float64)  # (time, levdcmp, lndgrid|lat, lon)
                if data.ndim < 3 or data.shape[1] < NLEVDECOMP:
                    raise ElmaiError(
                        f"history '{path}' {name} has shape {data.shape}; expected (time, levdcmp >= "
                        f"{NLEVDECOMP}, lndgrid) or (time, levdcmp, lat, lon)"
                    )
                values = data.mean(axis=0)[:NLEVDECOMP]  # (level, ...)
                at = values[(slice(None), *where)].T  # (ncell, level)
                bad = ~np.isfinite(at) | (at < 0)
                if bad.any():
                    cell = int(np.argwhere(bad)[0][0])
                    raise ElmaiError(
                        f"history '{path}' {name}: NaN/negative value at cell {cell} "
                        f"(lat {lat[cell]:.2f}, lon {lon[cell]:.2f})"
                    )
                # spval where the gridcell has no active soil column (glacier-only): no scalar
                product *= np.where(at > 1e30, np.nan, at)
        total += product
        months += 1
    return total / months
