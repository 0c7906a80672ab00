"""The cpl_bypass meteorology of the sites, read by cpl/lnd_import_export.F90 lnd_import
(#ifdef CPL_BYPASS) with metdata_type = 'gswp3' and metdata_bypass = this folder:

* zone_mappings.txt: 'lon lat zone index' per site; ELM takes, for each gridcell, the
  nearest line to the domain's (lonc, latc) and opens that zone's files;
* GSWP3_<VAR>_1901-2014_z01.nc for TBOT PSRF QBOT FSDS PRECTmms WIND FLDS: shorts
  VAR(gridcell, DTIME) with scale_factor and add_offset, DTIME in days. ELM builds these names
  itself ('GSWP3_' // VAR // '_1901-2014_z' // zone), so the years in the name are ELM's,
  not the content's.

Content: ELM's gswp3 spin-up cycle is 1901-1920 (startyear_met, endyear_met_spinup), and for
model years before 1850 it reads only those 20 years (timelen_spinup). Model year y reads
cycle year (y - 1 + 9) mod 20: the cycle is aligned so that year 1850 falls on its start
(mystart = 1901 - 3 x 20 = 1841, offset 1850 - mystart = 9). The testbed's year y uses its
forcing year (y - 1) mod n, so cycle year k holds the testbed's year (k - 9) mod n: ELM and
the testbed then see the same weather in the same model year whenever n divides 20.
Sub-daily values come from the testbed's monthly means as its own cpl_bypass form makes
them (elmai.apps.testbed.forcing_forms.climate_series, 3-hourly), whose diurnal cycles are in
local solar time. ELM's clock is UTC: lnd_import spreads each 3-hour FSDS over the model
steps by the cosine of the solar zenith angle at the gridcell's longitude and gives zero
where the sun is down, so local-time sunshine would mostly be lost away from longitude 0.
Each site's series is therefore shifted to UTC by its longitude (whole 3-hour steps)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from elmai.apps.testbed import forcing_forms as ff

READ_BY = ("components/elm/src/cpl/lnd_import_export.F90:lnd_import",)
METDATA_TYPE = "gswp3"  # metsource 4
SOURCE = "GSWP3"
NAME_YEARS = (1901, 2014)  # in the file names ELM opens for gswp3
START_YEAR_MET = 1901  # lnd_import defaults for gswp3
END_YEAR_MET_SPINUP = 1920
STEPS_PER_DAY = 8


def cycle_years() -> int:
    return END_YEAR_MET_SPINUP - START_YEAR_MET + 1


def model_year_offset() -> int:
    """Cycle year of model year 1 (lnd_import: mystart steps back from startyear_met by the
    cycle length until <= 1850; tindex = (mod(yr-1, cycle) + 1850 - mystart) years)."""
    mystart = START_YEAR_MET
    while mystart > 1850:
        mystart -= cycle_years()
    return 1850 - mystart


def cycle_source_years(testbed_years: int) -> np.ndarray:
    """For each cycle year k, the testbed forcing year it holds."""
    k = np.arange(cycle_years())
    return (k - model_year_offset()) % testbed_years


def utc_shift_steps(lon: np.ndarray) -> np.ndarray:
    """Steps by which local solar time leads UTC at each longitude (3-hour steps)."""
    east = (np.asarray(lon, np.float64) + 180.0) % 360.0 - 180.0
    return np.rint(east / 15.0 / (24.0 / STEPS_PER_DAY)).astype(np.int64)


def to_utc(series: dict[str, np.ndarray], lon: np.ndarray) -> dict[str, np.ndarray]:
    """{VAR: (ntime, N)} local-time series as UTC series: utc[t] = local[t + shift]."""
    shift = utc_shift_steps(lon)
    return {name: np.stack([np.roll(x[:, k], -shift[k]) for k in range(x.shape[1])], axis=1)
            for name, x in series.items()}  # fmt: skip


def file_name(var: str, zone: int = 1) -> str:
    return f"{SOURCE}_{var}_{NAME_YEARS[0]:04d}-{NAME_YEARS[1]:04d}_z{zone:02d}.nc"


def write_bypass_forcing(
    folder: str | os.PathLike[str], monthly: dict[str, np.ndarray], lat: np.ndarray, lon: np.ndarray
) -> list[Path]:
    """Write the zone files and zone_mappings.txt of the sites; `monthly` {VAR: (nyears, 12, N)}."""
    folder = Path(folder)
    nyears = next(iter(monthly.values())).shape[0]
    order = cycle_source_years(nyears)
    cycle = SimpleNamespace(**{name: x[order] for name, x in monthly.items()})
    series = to_utc(ff.climate_series(cycle, steps_per_day=STEPS_PER_DAY, nyears=cycle_years()), lon)
    written = ff.write_cpl_bypass_files(
        folder, series, np.asarray(lat), np.asarray(lon), start_year=START_YEAR_MET,
        steps_per_day=STEPS_PER_DAY, source=SOURCE, zones=1,
    )  # fmt: skip
    out = []
    for path in written:  # <source>_<VAR>_1901-1920_z01.nc -> ELM's name
        var = path.name[len(SOURCE) + 1 :].rsplit("_", 2)[0]
        target = folder / file_name(var)
        os.replace(path, target)
        out.append(target)
    return out
