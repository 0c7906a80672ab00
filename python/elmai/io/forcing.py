"""ELM's atmospheric forcing in its real forms, reduced to the monthly climatology the
spin-up model reads: an array (ngrid, 12, len(FORCING_VARS)) at given gridcells.

Forms (docs/file_formats.md, "Forcing and surface data", has the E3SM source of each fact):

* cpl_bypass (cpl/lnd_import_export.F90): `all_hourly.nc` (site; QBOT may be given as RH)
  or one file per variable `<source>_<VAR>_<years>_zNN.nc` (regional/global zones, with an
  optional `zone_mappings.txt`). Variables are shorts over (gridcell, DTIME) decoded as
  ELM does: value = stored * scale_factor + add_offset. DTIME is in days; the step
  (hourly, 3-hourly, ...) is DTIME[1] - DTIME[0]; years are 365 days (noleap) and step i
  (0-based) lies in day (i // steps_per_day) % 365 of its year, as ELM indexes them.
* datm streams: `clmforc.<source>.Solr|Prec|TPQWL.YYYY-MM.nc`, one calendar month per
  file on (time, lat, lon) with LONGXY/LATIXY(lat, lon). FLDS missing from TPQWL is
  derived per time step as datm does (ea = 0.70 + 5.95e-5 * 0.01 * e * exp(1500/T),
  FLDS = ea * sigma * T^4, e = PSRF * QBOT / (0.622 + 0.378 QBOT)).
* monthly (elmai testbed `*.datm.forcing.nc`): (time, lat, lon), time a whole number of
  years of months; or the climatology `elmai forcing climatology` writes: (time=12,
  gridcell) with LATIXY/LONGXY(gridcell).

Every form streams: one file (one variable of it) is in memory at a time. Monthly means
average every time step of each calendar month; the climatology is the mean over years.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from elmai.errors import (
    ElmaiError,
    ElmaiFileError,
    FileFormatError,
    InvalidValueError,
    ShapeError,
    VariableNotFoundError,
)
from elmai.io.restart import open_netcdf

FORCING_VARS = ("TBOT", "PRECTmms", "FSDS", "FLDS", "QBOT", "PSRF", "WIND")
DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
MONTH_OF_DOY = np.repeat(np.arange(12), DAYS_IN_MONTH)  # (365,) 0-based month of each day
DATM_STREAMS = {"Solr": ("FSDS",), "Prec": ("PRECTmms",), "TPQWL": ("TBOT", "QBOT", "PSRF", "WIND", "FLDS")}
TKFRZ = 273.15  # SHR_CONST_TKFRZ (K)
STEBOL = 5.67e-8  # SHR_CONST_STEBOL (W/m2/K4)
FILL_LIMIT = 1e30  # ELM/datm fill is 1e36; anything this large is a fill value
CPL_BLOCK_VALUES = 2_000_000  # cpl_bypass series are decoded this many values at a time

CPL_FILE = re.compile(
    r"^(?P<src>.+)_(?P<var>TBOT|PRECTmms|FSDS|FLDS|QBOT|RH|PSRF|WIND)_(?P<y0>\d{4})-(?P<y1>\d{4})_z(?P<zone>\d{2})\.nc$"
)  # noqa: E501
DATM_FILE = re.compile(r"^clmforc\.(?P<src>.+)\.(?P<stream>Solr|Prec|TPQWL)\.(?P<y>\d{4})-(?P<m>\d{2})\.nc$")

# saturation vapour pressure polynomials of lnd_import_export.F90 (hPa; x100 -> Pa)
_A = (6.107799961, 4.436518521e-01, 1.428945805e-02, 2.650648471e-04, 3.031240396e-06,
      2.034080948e-08, 6.136820929e-11)  # fmt: skip
_B = (6.109177956, 5.034698970e-01, 1.886013408e-02, 4.176223716e-04, 5.824720280e-06,
      4.838803174e-08, 1.838826904e-10)  # fmt: skip


def _poly(c: tuple, t: np.ndarray) -> np.ndarray:
    out = np.full_like(t, c[6])
    for k in range(5, -1, -1):
        out = c[k] + t * out
    return 100.0 * out


def rh_to_qbot(rh: np.ndarray, tbot: np.ndarray, psrf: np.ndarray) -> np.ndarray:
    """Specific humidity (kg/kg) from relative humidity (%) as ELM converts site RH."""
    tdc = np.clip(tbot - TKFRZ, -50.0, 50.0)
    e = np.where(tbot > TKFRZ, _poly(_A, tdc), _poly(_B, tdc))
    qsat = 0.622 * e / (psrf - 0.378 * e)
    return qsat * rh / 100.0


def derive_flds(tbot: np.ndarray, qbot: np.ndarray, psrf: np.ndarray) -> np.ndarray:
    """Incoming longwave (W/m2) from T, q, p: datm's formula (also ELM's cpl_bypass fallback)."""
    e = psrf * qbot / (0.622 + 0.378 * qbot)
    ea = 0.70 + 5.95e-05 * 0.01 * e * np.exp(1500.0 / tbot)
    return ea * STEBOL * tbot**4


# -- cell matching -------------------------------------------------------------------------
def _lon_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def nearest_points(plat: np.ndarray, plon: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Index of the nearest of the points (plat, plon) to each cell (lon 0-360 or -180-180)."""
    plat, plon = np.asarray(plat, np.float64).ravel(), np.asarray(plon, np.float64).ravel()
    out = np.empty(lat.size, dtype=np.int64)
    step = max(1, 4_000_000 // max(plat.size, 1))
    coslat = np.cos(np.radians(lat))
    for s in range(0, lat.size, step):
        sl = slice(s, s + step)
        d = (plat[None, :] - lat[sl, None]) ** 2 + (
            _lon_diff(plon[None, :], lon[sl, None]) * coslat[sl, None]
        ) ** 2
        out[sl] = d.argmin(axis=1)
    return out


def nearest_on_grid(lat2: np.ndarray, lon2: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> tuple:
    """(j, i) of each cell on a regular (lat, lon) grid given by 2-D or 1-D coordinates."""
    la = lat2[:, 0] if lat2.ndim == 2 else lat2
    lo = lon2[0, :] if lon2.ndim == 2 else lon2
    j = np.abs(la[None, :] - lat[:, None]).argmin(axis=1)
    i = _lon_diff(lo[None, :], lon[:, None]).argmin(axis=1)
    return j, i


# -- accumulation --------------------------------------------------------------------------
@dataclass
class _Monthly:
    """Sums and step counts per (year, month, variable, cell)."""

    ngrid: int
    sums: dict = field(default_factory=dict)  # (year, var) -> (12, ngrid) float64
    counts: dict = field(default_factory=dict)  # (year, var) -> (12,) int
    where: dict = field(default_factory=dict)  # (year, var) -> file name (for messages)

    def add(self, year: int, month: int, var: str, total: np.ndarray, n: int, src: str, idx=None) -> None:
        """Add the time sum `total` of `n` steps (of the cells `idx`, a slice; default all)."""
        key = (year, var)
        if key not in self.sums:
            self.sums[key] = np.zeros((12, self.ngrid))
            self.counts[key] = np.zeros(12, dtype=np.int64)
            self.where[key] = src
        if idx is None:
            self.sums[key][month] += total
            self.counts[key][month] += n
        else:  # a block of cells: the steps count once, with the first block
            self.sums[key][month, idx] += total
            if idx.start == 0:
                self.counts[key][month] += n

    def climatology(self, what: str) -> np.ndarray:
        years = sorted({y for y, _ in self.sums})
        if not years:
            raise ElmaiError(f"forcing '{what}': no data read")
        out = np.zeros((self.ngrid, 12, len(FORCING_VARS)))
        for k, v in enumerate(FORCING_VARS):
            for y in years:
                if (y, v) not in self.sums:
                    raise VariableNotFoundError(f"forcing '{what}': no {v} for year {y}")
                c = self.counts[(y, v)]
                if (c == 0).any():
                    m = int(np.flatnonzero(c == 0)[0]) + 1
                    raise ElmaiError(
                        f"forcing '{what}' ({self.where[(y, v)]}): variable {v} has no data "
                        f"in {y:04d}-{m:02d}"
                    )
                out[:, :, k] += (self.sums[(y, v)] / c[:, None]).T
        return out / len(years)


def _check_values(x: np.ndarray, path: str, var: str, lat: np.ndarray, lon: np.ndarray) -> None:
    """x (..., ngrid) decoded values: no NaN/Inf/fill."""
    bad = ~np.isfinite(x) | (np.abs(x) >= FILL_LIMIT)
    if bad.any():
        idx = np.argwhere(bad)[0]
        g = int(idx[-1])
        raise InvalidValueError(
            f"forcing '{path}' variable {var}: fill/NaN value at gridcell {g} "
            f"(lat {lat[g]:.3f}, lon {lon[g]:.3f}), time index {int(idx[0]) if x.ndim > 1 else 0}"
        )


def _decode(f, name: str, path: str, raw: np.ndarray) -> np.ndarray:
    """Stored values -> physical (float64): ELM's stored * scale_factor + add_offset; stored
    _FillValue/missing_value become NaN (reported by the caller)."""
    return _decode_attrs(f.attrs(name), raw)


def _decode_attrs(attrs: dict, raw: np.ndarray) -> np.ndarray:
    x = raw.astype(np.float64)
    for key in ("_FillValue", "missing_value"):
        if key in attrs and np.size(attrs[key]):
            x[raw == np.asarray(attrs[key]).ravel()[0]] = np.nan
    if "scale_factor" in attrs:
        x *= float(np.asarray(attrs["scale_factor"]).ravel()[0])
    if "add_offset" in attrs:
        x += float(np.asarray(attrs["add_offset"]).ravel()[0])
    return x


def _open(path: str | os.PathLike[str]):
    try:
        return open_netcdf(path)
    except ElmaiError as e:
        raise FileFormatError(f"forcing file '{path}' cannot be read: {e}") from e
    except OSError as e:
        raise ElmaiFileError(f"forcing file '{path}' cannot be read: {e}") from e


def _read(f, name: str, path: str) -> np.ndarray:
    if name not in f:
        raise VariableNotFoundError(f"forcing file '{path}' lacks variable {name}")
    try:
        return f.read(name)
    except ElmaiError as e:
        raise FileFormatError(f"forcing file '{path}' variable {name} cannot be read: {e}") from e


def _progress(items: list, progress: bool | None, desc: str) -> Iterable:
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file", file=sys.stderr)


def _fast_sum(f, name: str, raw: np.ndarray, j: np.ndarray, i: np.ndarray, dense: bool) -> np.ndarray | None:
    """Decoded time sums (ngrid,) of a float (time, lat, lon) variable without decoding every
    step: sum(stored) * scale_factor + n * add_offset. None when the variable is packed in
    integers with a fill value or a selected sum shows NaN/fill: the caller then decodes
    step by step and reports the bad value."""
    attrs = f.attrs(name)
    if raw.dtype.kind != "f" and ("_FillValue" in attrs or "missing_value" in attrs):
        return None
    if dense:
        total = np.add.reduce(raw, axis=0, dtype=np.float64)[j, i]
    else:
        total = np.add.reduce(raw[:, j, i], axis=0, dtype=np.float64)
    if not (np.abs(total) < FILL_LIMIT).all():
        return None
    if "scale_factor" in attrs:
        total *= float(np.asarray(attrs["scale_factor"]).ravel()[0])
    if "add_offset" in attrs:
        total += raw.shape[0] * float(np.asarray(attrs["add_offset"]).ravel()[0])
    return total


# -- cpl_bypass ----------------------------------------------------------------------------
def _steps_per_day(f, path: str) -> int:
    t = _read(f, "DTIME", path).astype(np.float64)
    if t.size < 2:
        raise ShapeError(f"forcing '{path}': DTIME has {t.size} steps, need at least one day")
    spd = 1.0 / (t[1] - t[0])
    if abs(spd - round(spd)) > 1e-6 or round(spd) < 1:
        raise ShapeError(f"forcing '{path}': DTIME step {t[1] - t[0]} days is not a whole fraction of a day")
    return int(round(spd))


def _cpl_raw(f, var: str, path: str, cells: np.ndarray) -> tuple[np.ndarray, dict]:
    """(ncell, ntime) stored values of a cpl_bypass variable at the given file cells, and
    its attributes (decoded later, a block of cells at a time)."""
    raw = _read(f, var, path)
    dims = f.info(var).dims
    if raw.ndim != 2 or "DTIME" not in dims:
        raise ShapeError(f"forcing '{path}' variable {var}: dims {dims}, expected (gridcell, DTIME)")
    if dims[0] == "DTIME":
        raw = raw.T  # (cell, time)
    return np.ascontiguousarray(raw[cells]), f.attrs(var)


def _cpl_reduce(acc: _Monthly, raws: dict, spd: int, year0: int, path: str, lat, lon) -> None:
    """Decode, complete (RH -> QBOT, FLDS) and reduce to monthly sums, in blocks of cells so
    that memory stays near the stored size."""
    ncell, nt = next(iter(raws.values()))[0].shape
    block = max(1, CPL_BLOCK_VALUES // max(nt, 1))
    for c0 in range(0, ncell, block):
        idx = slice(c0, min(ncell, c0 + block))
        series = {v: _decode_attrs(attrs, raw[idx]).T for v, (raw, attrs) in raws.items()}
        _finish_qbot_flds(series, path, lat[idx], lon[idx])
        _cpl_accumulate(acc, series, spd, year0, path, lat[idx], lon[idx], idx)


def _cpl_accumulate(acc: _Monthly, series: dict, spd: int, year0: int, path: str, lat, lon, idx=None) -> None:
    nt = next(iter(series.values())).shape[0]
    per_year = 365 * spd
    if nt % per_year:
        raise ShapeError(
            f"forcing '{path}': {nt} time steps of {24 / spd:g} h are not whole "
            f"365-day years ({nt / per_year:.3f} years)"
        )
    ny = nt // per_year
    bounds = np.concatenate([[0], np.cumsum(DAYS_IN_MONTH) * spd])
    for var, x in series.items():
        _check_values(x, path, var, lat, lon)
        x = x.reshape(ny, per_year, -1)
        for m in range(12):
            tot = x[:, bounds[m] : bounds[m + 1]].sum(axis=1)  # (ny, ncell)
            for y in range(ny):
                acc.add(
                    year0 + y, m, var, tot[y], int(bounds[m + 1] - bounds[m]), os.path.basename(path), idx
                )


def _year0(f, path: str, default: int = 0) -> int:
    if "start_year" in f:
        return int(np.asarray(f.read("start_year")).ravel()[0])
    m = CPL_FILE.match(os.path.basename(path))
    return int(m["y0"]) if m else default


def _cell_coords(f, path: str) -> tuple[np.ndarray, np.ndarray]:
    for la, lo in (("LATIXY", "LONGXY"), ("lat", "lon")):
        if la in f and lo in f:
            return np.asarray(f.read(la), np.float64).ravel(), np.asarray(f.read(lo), np.float64).ravel()
    raise VariableNotFoundError(f"forcing '{path}' has no LATIXY/LONGXY (or lat/lon) coordinates")


def _finish_qbot_flds(series: dict, path: str, lat, lon) -> None:
    """RH -> QBOT (site files) and FLDS from T, q, p where absent or outside (50, 600) W/m2,
    as lnd_import_export.F90 does per time step."""
    if "QBOT" not in series:
        if "RH" not in series:
            raise VariableNotFoundError(f"forcing '{path}' lacks QBOT (and RH)")
        _check_values(series["RH"], path, "RH", lat, lon)
        series["QBOT"] = rh_to_qbot(series.pop("RH"), series["TBOT"], series["PSRF"])
    derived = derive_flds(series["TBOT"], series["QBOT"], series["PSRF"])
    if "FLDS" not in series:
        series["FLDS"] = derived
    else:
        fl = series["FLDS"]
        series["FLDS"] = np.where((fl <= 50.0) | (fl >= 600.0), derived, fl)


def read_all_hourly(path, lat, lon, progress=None) -> np.ndarray:
    """The site form: every variable in one file (DTIME, gridcell)."""
    path = os.fspath(path)
    acc = _Monthly(lat.size)
    with _open(path) as f:
        plat, plon = _cell_coords(f, path)
        cells = nearest_points(plat, plon, lat, lon)
        spd = _steps_per_day(f, path)
        names = [v for v in FORCING_VARS if v in f or v not in ("FLDS", "QBOT")]
        if "QBOT" not in f and "RH" in f:
            names.append("RH")
        raws = {v: _cpl_raw(f, v, path, cells) for v in _progress(names, progress, "all_hourly")}
        _cpl_reduce(acc, raws, spd, _year0(f, path), path, lat, lon)
    return acc.climatology(path)


def _zone_map(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    zm = folder / "zone_mappings.txt"
    if not zm.exists():
        return None
    try:
        a = np.loadtxt(zm, ndmin=2)
    except ValueError as e:
        raise FileFormatError(f"'{zm}' is not 'lon lat zone index' rows: {e}") from e
    return a[:, 1], a[:, 0], a[:, 2].astype(int), a[:, 3].astype(int) - 1  # lat, lon, zone, 0-based index


def read_cpl_bypass_files(folder, lat, lon, progress=None) -> np.ndarray:
    """Regional/global cpl_bypass: one file per variable and zone, `<src>_<VAR>_<y0>-<y1>_zNN.nc`."""
    folder = Path(folder)
    files: dict[tuple[str, int], Path] = {}
    for p in sorted(folder.iterdir()):
        m = CPL_FILE.match(p.name)
        if m:
            files.setdefault((m["var"], int(m["zone"])), p)
    zones = sorted({z for _, z in files})
    names = {v for v, _ in files}
    needed = [
        "TBOT",
        "PSRF",
        "FSDS",
        "PRECTmms",
        "WIND",
        "QBOT" if "QBOT" in names or "RH" not in names else "RH",
    ]
    missing = [v for v in needed if v not in names]
    if missing:
        raise VariableNotFoundError(f"cpl_bypass forcing '{folder}' has no files for {', '.join(missing)}")
    # which zone and which gridcell of its files serves each cell
    zmap = _zone_map(folder)
    if zmap is not None:
        zl, zo, zz, zi = zmap
        k = nearest_points(zl, zo, lat, lon)
        zone_of, index_of = zz[k], zi[k]
    else:
        plats, plons, pz, pi = [], [], [], []
        for z in zones:
            with _open(files[("TBOT", z)]) as f:
                la, lo = _cell_coords(f, str(files[("TBOT", z)]))
            plats.append(la)
            plons.append(lo)
            pz.append(np.full(la.size, z))
            pi.append(np.arange(la.size))
        k = nearest_points(np.concatenate(plats), np.concatenate(plons), lat, lon)
        zone_of, index_of = np.concatenate(pz)[k], np.concatenate(pi)[k]
    out = np.empty((lat.size, 12, len(FORCING_VARS)))
    used = sorted({int(z) for z in zone_of})
    jobs = [(v, z) for z in used for v in [*needed, *(["FLDS"] if "FLDS" in names else [])]]
    series: dict[int, dict[str, tuple]] = {z: {} for z in used}  # stored values until the zone is read
    meta: dict[int, tuple[int, int]] = {}
    done: dict[int, int] = {z: 0 for z in used}
    per_zone = {z: sum(1 for _, zz in jobs if zz == z) for z in used}
    for v, z in _progress(jobs, progress, "cpl_bypass"):
        if (v, z) not in files:
            raise ElmaiFileError(f"cpl_bypass forcing '{folder}': no file for {v} in zone z{z:02d}")
        p = files[(v, z)]
        mine = np.flatnonzero(zone_of == z)
        with _open(p) as f:
            spd = _steps_per_day(f, str(p))
            y0 = _year0(f, str(p))
            if z in meta and meta[z][0] != spd:
                raise ShapeError(
                    f"'{p}': {24 / spd} h steps differ from the other variables of zone z{z:02d}"
                )
            meta[z] = (spd, y0)
            series[z][v] = _cpl_raw(f, v, str(p), index_of[mine])
        done[z] += 1
        if done[z] == per_zone[z]:  # zone complete: reduce it and free its series
            sub = _Monthly(mine.size)
            _cpl_reduce(sub, series.pop(z), meta[z][0], meta[z][1], str(p), lat[mine], lon[mine])
            out[mine] = sub.climatology(str(folder / f"*_z{z:02d}.nc"))
    return out


# -- datm streams --------------------------------------------------------------------------
def read_datm_streams(folder, lat, lon, progress=None) -> np.ndarray:
    """datm: `clmforc.<src>.Solr|Prec|TPQWL.YYYY-MM.nc`, all steps of a file in its month."""
    folder = Path(folder)
    found: dict[tuple[str, int, int], Path] = {}
    for p in sorted(folder.iterdir()):
        m = DATM_FILE.match(p.name)
        if m:
            found[(m["stream"], int(m["y"]), int(m["m"]))] = p
    if not found:
        raise FileFormatError(f"'{folder}' holds no clmforc.<source>.<stream>.YYYY-MM.nc files")
    years = sorted({y for _, y, _ in found})
    example = next(iter(found.values())).name
    for y in years:
        for m in range(1, 13):
            for s in DATM_STREAMS:
                if (s, y, m) not in found:
                    want = re.sub(
                        r"\.(Solr|Prec|TPQWL)\.\d{4}-\d{2}\.nc$", f".{s}.{y:04d}-{m:02d}.nc", example
                    )
                    raise ElmaiFileError(
                        f"datm forcing '{folder}': missing month {y:04d}-{m:02d} of stream {s} ('{want}')"
                    )
    acc = _Monthly(lat.size)
    ji = None
    dense = None
    order = [(s, y, m) for y in years for m in range(1, 13) for s in DATM_STREAMS]
    for s, y, m in _progress(order, progress, "datm"):
        p = found[(s, y, m)]
        path = str(p)
        with _open(p) as f:
            if ji is None:
                if "LATIXY" in f and "LONGXY" in f:
                    ji = nearest_on_grid(f.read("LATIXY"), f.read("LONGXY"), lat, lon)
                elif "lat" in f and "lon" in f:
                    ji = nearest_on_grid(f.read("lat"), f.read("lon"), lat, lon)
                else:
                    raise VariableNotFoundError(f"datm forcing '{path}' has no LATIXY/LONGXY (or lat/lon)")
            j, i = ji
            if dense is None:  # cells cover much of the grid: sum whole fields, then pick
                dense = np.unique(j * 100_003 + i).size * 4 > f.dims.get("lat", 1) * f.dims.get("lon", 1)
            want = [v for v in DATM_STREAMS[s] if not (v == "FLDS" and v not in f)]
            per_step = s == "TPQWL" and "FLDS" not in want  # FLDS derived step by step from T, q, p
            vals = {}
            for v in want:
                raw = _read(f, v, path)
                if raw.ndim != 3:
                    raise ShapeError(
                        f"datm forcing '{path}' variable {v}: shape {raw.shape}, expected (time, lat, lon)"
                    )
                nt = raw.shape[0]
                if nt % DAYS_IN_MONTH[m - 1]:
                    raise ShapeError(
                        f"datm forcing '{path}' variable {v}: {nt} steps are not whole days "
                        f"of {y:04d}-{m:02d}"
                    )
                total = None if per_step else _fast_sum(f, v, raw, j, i, dense)
                if total is None:  # per-step values (or a bad value to locate and report)
                    x = _decode(f, v, path, raw[:, j, i])
                    _check_values(x, path, v, lat, lon)
                    vals[v] = x
                else:
                    acc.add(y, m - 1, v, total, nt, p.name)
                del raw
            if per_step:
                vals["FLDS"] = derive_flds(vals["TBOT"], vals["QBOT"], vals["PSRF"])
            for v, x in vals.items():
                acc.add(y, m - 1, v, x.sum(axis=0), x.shape[0], p.name)
    return acc.climatology(str(folder))


# -- monthly (testbed) and climatology files -----------------------------------------------
def read_monthly(path, lat, lon, progress=None) -> np.ndarray:
    """Monthly means (time, lat, lon) or (time, gridcell): time is whole years of months."""
    path = os.fspath(path)
    with _open(path) as f:
        missing = [v for v in FORCING_VARS if v not in f]
        if missing:
            raise VariableNotFoundError(f"forcing '{path}' lacks {', '.join(missing)}")
        dims = f.info(FORCING_VARS[0]).dims
        if len(dims) == 2:  # climatology form: (time, gridcell)
            plat, plon = _cell_coords(f, path)
            k = nearest_points(plat, plon, lat, lon)

            def pick(a: np.ndarray) -> np.ndarray:
                return a[:, k]
        else:
            if "LATIXY" in f and "LONGXY" in f:
                j, i = nearest_on_grid(f.read("LATIXY"), f.read("LONGXY"), lat, lon)
            else:
                j, i = nearest_on_grid(f.read("lat"), f.read("lon"), lat, lon)

            def pick(a: np.ndarray) -> np.ndarray:
                return a[:, j, i]

        out = np.empty((lat.size, 12, len(FORCING_VARS)))
        for k_, v in enumerate(_progress(list(FORCING_VARS), progress, "monthly")):
            x = _decode(f, v, path, pick(_read(f, v, path)))
            if x.shape[0] % 12 or x.shape[0] == 0:
                raise ShapeError(f"forcing '{path}' variable {v}: {x.shape[0]} months, not whole years")
            _check_values(x, path, v, lat, lon)
            out[:, :, k_] = x.reshape(-1, 12, lat.size).mean(axis=0).T
    return out


# -- dispatcher ----------------------------------------------------------------------------
def detect_form(path: str | os.PathLike[str]) -> tuple[str, Path]:
    """('all_hourly' | 'cpl_bypass' | 'datm' | 'monthly', the path to read)."""
    p = Path(path)
    if not p.exists():
        raise ElmaiFileError(f"forcing '{p}' does not exist")
    if p.is_file():
        if p.name == "all_hourly.nc":
            return "all_hourly", p
        if CPL_FILE.match(p.name):
            return "cpl_bypass", p.parent
        if DATM_FILE.match(p.name):
            return "datm", p.parent
        with _open(p) as f:
            if "DTIME" in f.dims:
                return "all_hourly", p
        return "monthly", p
    names = [q.name for q in p.iterdir()]
    if "all_hourly.nc" in names:
        return "all_hourly", p / "all_hourly.nc"
    if any(CPL_FILE.match(n) for n in names):
        return "cpl_bypass", p
    if any(DATM_FILE.match(n) for n in names):
        return "datm", p
    monthly = sorted(n for n in names if n.endswith((".datm.forcing.nc", ".climatology.nc")))
    if len(monthly) == 1:
        return "monthly", p / monthly[0]
    raise FileFormatError(
        f"'{p}' holds no forcing ELM reads: all_hourly.nc, <src>_<VAR>_<years>_zNN.nc, "
        "clmforc.<src>.Solr|Prec|TPQWL.YYYY-MM.nc or one *.datm.forcing.nc"
    )


READERS = {
    "all_hourly": read_all_hourly,
    "cpl_bypass": read_cpl_bypass_files,
    "datm": read_datm_streams,
    "monthly": read_monthly,
}


def forcing_climatology(
    path: str | os.PathLike[str], lat: np.ndarray, lon: np.ndarray, progress: bool | None = None
) -> np.ndarray:
    """(ngrid, 12, len(FORCING_VARS)) monthly climatology of any forcing form at the cells
    nearest to (lat, lon). `progress`: a tqdm bar over files (None: only on a terminal)."""
    lat = np.asarray(lat, np.float64).ravel()
    lon = np.asarray(lon, np.float64).ravel()
    form, target = detect_form(path)
    return READERS[form](target, lat, lon, progress=progress)


def write_climatology(
    path: str | os.PathLike[str], clim: np.ndarray, lat: np.ndarray, lon: np.ndarray, source: str = ""
) -> None:
    """The climatology form: VAR(time=12, gridcell) float64 with LATIXY/LONGXY(gridcell);
    read back by forcing_climatology like any other form."""
    from elmai.io.netcdf_writer import write_netcdf

    units = {"TBOT": "K", "PRECTmms": "mm/s", "FSDS": "W/m2", "FLDS": "W/m2", "QBOT": "kg/kg", "PSRF": "Pa",
             "WIND": "m/s"}  # fmt: skip
    mid = np.cumsum(DAYS_IN_MONTH) - DAYS_IN_MONTH / 2.0
    variables: dict[str, tuple] = {
        "time": (
            ("time",),
            mid,
            {
                "units": "days since 0001-01-01 00:00:00",
                "calendar": "noleap",
                "long_name": "mid-month of the climatological year",
            },
        ),  # fmt: skip
        "LATIXY": (
            ("gridcell",),
            np.asarray(lat, np.float64),
            {"long_name": "latitude", "units": "degrees_north"},
        ),
        "LONGXY": (
            ("gridcell",),
            np.asarray(lon, np.float64),
            {"long_name": "longitude", "units": "degrees_east"},
        ),
    }
    for k, v in enumerate(FORCING_VARS):
        cm = "time: mean within months time: mean over years"
        variables[v] = (("time", "gridcell"), np.ascontiguousarray(clim[:, :, k].T),
                        {"units": units[v], "cell_methods": cm})  # fmt: skip
    gatts = {"title": "elmai forcing climatology (monthly means over the forcing years)", "source": source}
    write_netcdf(path, variables, gatts, format="NETCDF3_64BIT_OFFSET")
