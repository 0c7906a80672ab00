"""Write a climate (the testbed's, or any (ntime, ngrid) arrays) in ELM's real sub-daily
forcing forms, for tests and benchmarks of elmai.io.forcing:

* cpl_bypass site file `all_hourly.nc` and per-variable zone files
  `<source>_<VAR>_<y0>-<y1>_zNN.nc` + `zone_mappings.txt` (as OLMT writes them for
  cpl/lnd_import_export.F90): shorts over (gridcell, DTIME) packed with
  add_offset = mean, scale_factor = 1.1 x range / 2^15, DTIME in days (noleap);
* datm streams `clmforc.<source>.Solr|Prec|TPQWL.YYYY-MM.nc`, one month per file,
  float32 (time, lat, lon) with LONGXY/LATIXY(lat, lon).

Years are 365 days; step k of a year lies in day k // steps_per_day.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from elmai.io.forcing import DATM_STREAMS, DAYS_IN_MONTH, FORCING_VARS
from elmai.io.netcdf_writer import write_netcdf

UNITS = {
    "TBOT": ("temperature at the lowest atm level (TBOT)", "K"),
    "QBOT": ("specific humidity at the lowest atm level (QBOT)", "kg/kg"),
    "RH": ("relative humidity at the lowest atm level (RH)", "%"),
    "WIND": ("wind at the lowest atm level (WIND)", "m/s"),
    "FSDS": ("incident solar (FSDS)", "W/m2"),
    "FLDS": ("incident longwave (FLDS)", "W/m2"),
    "PSRF": ("pressure at the lowest atm level (PSRF)", "Pa"),
    "PRECTmms": ("precipitation (PRECTmms)", "mm/s"),
}
SPVAL = 1.0e36


def climate_series(climate, steps_per_day: int = 8, nyears: int | None = None) -> dict[str, np.ndarray]:
    """(ntime, ngrid) sub-daily series from a testbed Climate's monthly means: each month's
    value at every step, TBOT with a +-3 K diurnal cycle and FSDS shaped by daylight
    (both keep the monthly mean)."""
    ny = climate.nyears if nyears is None else nyears
    month_of_step = np.repeat(np.repeat(np.arange(12), DAYS_IN_MONTH), steps_per_day)
    hour = (np.arange(365 * steps_per_day) % steps_per_day + 0.5) * 24.0 / steps_per_day
    diurnal = np.cos((hour - 15.0) * np.pi / 12.0)
    day = np.maximum(np.cos((hour - 12.0) * np.pi / 12.0), 0.0)
    day /= day.reshape(365, steps_per_day).mean(axis=1).repeat(steps_per_day)
    out = {}
    for v in FORCING_VARS:
        monthly = np.asarray(getattr(climate, v))[:ny]  # (ny, 12, ngrid)
        x = monthly[:, month_of_step, :]  # (ny, 365*spd, ngrid)
        if v == "TBOT":
            x = x + 3.0 * diurnal[None, :, None]
        elif v == "FSDS":
            x = x * day[None, :, None]
        out[v] = x.reshape(-1, x.shape[-1])
    return out


def pack_short(x: np.ndarray) -> tuple[np.ndarray, np.float32, np.float32]:
    """OLMT's packing: add_offset = mean, scale_factor = max(1.1 x range, 1e-6) / 2^15."""
    ao = np.float32(x.mean())
    sf = np.float32(max((x.max() - x.min()) * 1.1, 1.0e-6) / 2.0**15)
    q = np.rint((x - np.float64(ao)) / np.float64(sf))
    return np.clip(q, -32767, 32767).astype(np.int16), sf, ao


def _cpl_common(lat: np.ndarray, lon: np.ndarray, ntime: int, spd: int, start_year: int) -> dict:
    lon360 = np.where(lon < 0, lon + 360.0, lon)
    return {
        "DTIME": (
            ("DTIME",),
            (np.arange(ntime) + 1.0) / spd,
            {
                "long_name": "observation time",
                "units": f"days since {start_year:04d}-01-01 00:00:00",
                "calendar": "noleap",
            },
        ),  # fmt: skip
        "LONGXY": (
            ("gridcell",),
            lon360.astype(np.float64),
            {"long_name": "longitude", "units": "degrees E"},
        ),
        "LATIXY": (
            ("gridcell",),
            np.asarray(lat, np.float64),
            {"long_name": "latitude", "units": "degrees N"},
        ),
    }


def _packed_var(name: str, x: np.ndarray) -> tuple:
    """VAR(gridcell, DTIME) short; x is (ntime, ngrid)."""
    q, sf, ao = pack_short(np.asarray(x, np.float64))
    long_name, units = UNITS[name]
    attrs = {"long_name": long_name, "units": units, "mode": "time-dependent", "scale_factor": sf,
             "add_offset": ao}  # fmt: skip
    return ("gridcell", "DTIME"), np.ascontiguousarray(q.T), attrs


def write_all_hourly(
    path: str | os.PathLike[str],
    series: dict[str, np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
    start_year: int = 1901,
    steps_per_day: int = 24,
) -> None:
    """cpl_bypass site form: every variable of `series` {name: (ntime, ngrid)} in one file."""
    ntime = next(iter(series.values())).shape[0]
    nyears = ntime // (365 * steps_per_day)
    variables = _cpl_common(lat, lon, ntime, steps_per_day, start_year)
    variables["start_year"] = (("scalar",), np.array([start_year], np.int32), {})
    variables["end_year"] = (("scalar",), np.array([start_year + nyears - 1], np.int32), {})
    for name, x in series.items():
        variables[name] = _packed_var(name, x)
    gatts = {"institution": "elmai testbed", "history": "written by elmai.apps.testbed.forcing_forms"}
    write_netcdf(path, variables, gatts, format="NETCDF3_64BIT_OFFSET")


def write_cpl_bypass_files(
    folder: str | os.PathLike[str],
    series: dict[str, np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
    start_year: int = 1901,
    steps_per_day: int = 8,
    source: str = "GSWP3",
    zones: int = 1,
) -> list[Path]:
    """cpl_bypass regional form: `<source>_<VAR>_<y0>-<y1>_zNN.nc` per variable and zone
    (cells split into `zones` contiguous groups) and `zone_mappings.txt` (lon lat zone index)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ntime = next(iter(series.values())).shape[0]
    y1 = start_year + ntime // (365 * steps_per_day) - 1
    groups = np.array_split(np.arange(lat.size), zones)
    written = []
    lines = []
    for z, cells in enumerate(groups, start=1):
        for k, g in enumerate(cells):
            lo = lon[g] + 360.0 if lon[g] < 0 else lon[g]
            lines.append(f"{lo:.5f} {lat[g]:.5f} {z} {k + 1}")
        for name, x in series.items():
            variables = _cpl_common(lat[cells], lon[cells], ntime, steps_per_day, start_year)
            variables[name] = _packed_var(name, x[:, cells])
            p = folder / f"{source}_{name}_{start_year:04d}-{y1:04d}_z{z:02d}.nc"
            write_netcdf(p, variables, {"history": "written by elmai.apps.testbed.forcing_forms"})
            written.append(p)
    (folder / "zone_mappings.txt").write_text("\n".join(lines) + "\n")
    return written


def to_map(
    x: np.ndarray, j: np.ndarray, i: np.ndarray, nlat: int, nlon: int, fill: float = SPVAL
) -> np.ndarray:
    """(ntime, ngrid) values onto a (ntime, nlat, nlon) map at cells (j, i)."""
    out = np.full((x.shape[0], nlat, nlon), fill, dtype=np.float32)
    out[:, j, i] = x
    return out


def write_datm_streams(
    folder: str | os.PathLike[str],
    series: dict[str, np.ndarray],
    grid_lat: np.ndarray,
    grid_lon: np.ndarray,
    start_year: int = 1901,
    steps_per_day: int = 8,
    source: str = "GSWP3.c2011.0.5x0.5",
    with_flds: bool = True,
) -> list[Path]:
    """datm streams: Solr (FSDS), Prec (PRECTmms), TPQWL (TBOT, QBOT, PSRF, WIND[, FLDS]) per
    month; `series` {name: (ntime, nlat, nlon)} (fill with 1e36 where there is no data)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ntime = next(iter(series.values())).shape[0]
    nyears = ntime // (365 * steps_per_day)
    starts = np.concatenate([[0], np.cumsum(DAYS_IN_MONTH)]) * steps_per_day
    written = []
    for y in range(nyears):
        for m in range(12):
            sl = slice(y * 365 * steps_per_day + starts[m], y * 365 * steps_per_day + starts[m + 1])
            month = {name: x[sl] for name, x in series.items()}
            yy = start_year + y
            written += write_datm_month(
                folder, month, grid_lat, grid_lon, yy, m + 1, steps_per_day, source, with_flds
            )
    return written


def write_datm_month(
    folder: str | os.PathLike[str],
    month: dict[str, np.ndarray],
    grid_lat: np.ndarray,
    grid_lon: np.ndarray,
    year: int,
    mon: int,
    steps_per_day: int = 8,
    source: str = "GSWP3.c2011.0.5x0.5",
    with_flds: bool = True,
) -> list[Path]:
    """The three stream files of one month; `month` {name: (nsteps, nlat, nlon)}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lon2, lat2 = np.meshgrid(np.asarray(grid_lon, np.float32), np.asarray(grid_lat, np.float32))
    dlat = float(abs(grid_lat[1] - grid_lat[0])) if grid_lat.size > 1 else 1.0
    dlon = float(abs(grid_lon[1] - grid_lon[0])) if grid_lon.size > 1 else 1.0
    edges = {"EDGEW": grid_lon.min() - dlon / 2, "EDGEE": grid_lon.max() + dlon / 2,
             "EDGES": grid_lat.min() - dlat / 2, "EDGEN": grid_lat.max() + dlat / 2}  # fmt: skip
    nt = next(iter(month.values())).shape[0]
    written = []
    for stream, names in DATM_STREAMS.items():
        variables: dict[str, tuple] = {
            "time": (
                ("time",),
                np.arange(nt) / steps_per_day,
                {
                    "long_name": "observation time",
                    "units": f"days since {year:04d}-{mon:02d}-01 00:00:00",
                    "calendar": "noleap",
                },
            ),  # fmt: skip
            "LONGXY": (
                ("lat", "lon"),
                lon2,
                {"long_name": "longitude", "units": "degrees_east", "mode": "time-invariant"},
            ),  # fmt: skip
            "LATIXY": (
                ("lat", "lon"),
                lat2,
                {"long_name": "latitude", "units": "degrees_north", "mode": "time-invariant"},
            ),  # fmt: skip
        }
        for e, val in edges.items():
            variables[e] = (
                ("scalar",),
                np.array([val], np.float32),
                {"units": "degrees", "mode": "time-invariant"},
            )
        for name in names:
            if name == "FLDS" and not with_flds:
                continue
            long_name, units = UNITS[name]
            attrs = {"long_name": long_name, "units": units, "mode": "time-dependent",
                     "_FillValue": np.float32(SPVAL), "missing_value": np.float32(SPVAL)}  # fmt: skip
            variables[name] = (("time", "lat", "lon"), np.asarray(month[name], np.float32), attrs)
        p = folder / f"clmforc.{source}.{stream}.{year:04d}-{mon:02d}.nc"
        dims = {"scalar": 1, "lon": grid_lon.size, "lat": grid_lat.size, "time": nt}
        gatts = {"case_title": f"elmai testbed {stream} stream"}
        write_netcdf(p, variables, gatts, unlimited=["time"], dims=dims)
        written.append(p)
    return written
