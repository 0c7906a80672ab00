"""Caravan-format data sets: one NetCDF of daily basin series (dims `basin`, `date`;
`gauge_id` per basin; `date` in days since an epoch) and attribute CSVs keyed by
`gauge_id` (Caravan writes `camels_01022500`; the NetCDF may hold `01022500`).

Every error is one line naming the file, basin, variable and date where they apply."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from elmai.errors import DataNotFoundError, InvalidArgumentError, InvalidValueError, VariableNotFoundError

FORCING = ("total_precipitation_sum", "temperature_2m_mean", "potential_evaporation_sum")
TARGET = "streamflow"
NETCDF = "caravan_camels_us.nc"


def default_folder() -> Path:
    """../shared/data/caravan_camels beside the checkout (or under $ELMAI_DATA)."""
    from elmai.apps.uq.uci import data_dir

    return data_dir() / "caravan_camels"


def _bare(gauge: str) -> str:
    """'camels_01022500' -> '01022500' (Caravan prefixes ids with the source's name)."""
    return gauge.split("_", 1)[1] if "_" in gauge else gauge


def parse_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidArgumentError(f"'{value}' is not a date (YYYY-MM-DD)") from None


@dataclass
class Caravan:
    """Daily series of some basins (arrays basin x date, float32) and their attributes."""

    path: Path
    basins: list[str]
    dates: np.ndarray  # datetime64[D]
    series: dict[str, np.ndarray]
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # name -> per basin
    attribute_files: dict[str, Path] = field(default_factory=dict)

    def index(self, start: str | dt.date, end: str | dt.date) -> slice:
        """Positions of the dates start..end (inclusive); a period outside the data is an error."""
        a, b = np.datetime64(parse_date(start), "D"), np.datetime64(parse_date(end), "D")
        first, last = self.dates[0], self.dates[-1]
        if a > b:
            raise InvalidArgumentError(f"{self.path}: period {a}..{b} ends before it starts")
        if a < first or b > last:
            raise InvalidArgumentError(f"{self.path}: period {a}..{b} is outside the data ({first}..{last})")
        return slice(int((a - first).astype(int)), int((b - first).astype(int)) + 1)

    def basin_index(self, basin: str) -> int:
        try:
            return self.basins.index(_bare(str(basin)))
        except ValueError:
            raise InvalidArgumentError(f"{self.path}: basin '{basin}' is not in the file") from None

    def doy(self) -> np.ndarray:
        """Day of year (1..366) of every date."""
        years = self.dates.astype("datetime64[Y]")
        return (self.dates - years).astype(int) + 1

    def check_forcing(self, variables: list[str], start: int, stop: int) -> None:
        """A NaN in a forcing series between positions start..stop is an error naming it."""
        for v in variables:
            bad = np.argwhere(~np.isfinite(self.series[v][:, start:stop]))
            if bad.size:
                b, t = bad[0]
                raise InvalidValueError(
                    f"{self.path}: NaN in forcing '{v}' of basin {self.basins[b]} on "
                    f"{self.dates[start + t]} ({len(bad)} NaN values in the used dates)"
                )

    def check_target(self, start: int, stop: int, variable: str = TARGET) -> dict[str, int]:
        """Missing target values per basin in start..stop (masked, counted); a basin with
        no value at all is an error."""
        y = self.series[variable][:, start:stop]
        missing = (~np.isfinite(y)).sum(axis=1)
        for b, m in enumerate(missing):
            if m == y.shape[1]:
                raise InvalidValueError(
                    f"{self.path}: '{variable}' of basin {self.basins[b]} is NaN on every day "
                    f"{self.dates[start]}..{self.dates[stop - 1]}"
                )
        return {self.basins[b]: int(m) for b, m in enumerate(missing)}

    def subset(self, basins: list[str]) -> Caravan:
        idx = [self.basin_index(b) for b in basins]
        return Caravan(
            self.path,
            [self.basins[i] for i in idx],
            self.dates,
            {k: v[idx] for k, v in self.series.items()},
            {k: v[idx] for k, v in self.attributes.items()},
            dict(self.attribute_files),
        )


def _read_dates(var, path: Path) -> np.ndarray:
    import netCDF4

    units = getattr(var, "units", "")
    if "since" not in units:
        raise InvalidValueError(f"{path}: variable 'date' has units {units!r}, not 'days since ...'")
    cal = getattr(var, "calendar", "standard")
    first = netCDF4.num2date(var[0], units, cal)
    start = np.datetime64(f"{first.year:04d}-{first.month:02d}-{first.day:02d}", "D")
    scale = {"days": 1.0, "hours": 1 / 24}.get(units.split()[0], None)
    if scale is None:
        raise InvalidValueError(f"{path}: variable 'date' has units {units!r}; days or hours expected")
    vals = np.asarray(var[:], dtype=float) * scale
    return start + np.round(vals - vals[0]).astype("timedelta64[D]")


def read_netcdf(
    path: str | Path,
    basins: list[str] | None = None,
    variables: tuple[str, ...] = (*FORCING, TARGET),
) -> Caravan:
    """The Caravan NetCDF at `path`, only `basins` (all when None) and `variables`."""
    import netCDF4

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Caravan file '{path}' does not exist")
    with netCDF4.Dataset(path) as ds:
        for v in ("gauge_id", "date", *variables):
            if v not in ds.variables:
                raise VariableNotFoundError(f"{path}: no variable '{v}' (has {', '.join(ds.variables)})")
        ids = [_bare(str(g)) for g in ds["gauge_id"][:]]
        dates = _read_dates(ds["date"], path)
        if basins is None:
            idx = list(range(len(ids)))
        else:
            idx = []
            for b in basins:
                if _bare(str(b)) not in ids:
                    raise InvalidArgumentError(f"{path}: basin '{b}' is not in the file ({len(ids)} basins)")
                idx.append(ids.index(_bare(str(b))))
        series = {}
        for v in variables:
            var = ds[v]
            if var.dimensions != ("basin", "date"):
                raise InvalidValueError(
                    f"{path}: variable '{v}' has dims {var.dimensions}, not (basin, date)"
                )
            var.set_auto_mask(False)
            data = np.asarray(var[:], dtype=np.float32)[idx]
            fill = getattr(var, "_FillValue", None)
            if fill is not None and np.isfinite(fill):
                data[data == fill] = np.nan
            series[v] = data
    return Caravan(path, [ids[i] for i in idx], dates, series)


def read_attributes(data: Caravan, files: list[str | Path], names: list[str]) -> dict[str, np.ndarray]:
    """Attributes `names` of the basins of `data`, looked up in the CSVs `files` (first file
    holding each name wins); a missing name or basin row is an error naming both."""
    import pandas as pd

    tables = []
    for f in files:
        f = Path(f)
        if not f.is_file():
            raise DataNotFoundError(f"attribute file '{f}' does not exist")
        t = pd.read_csv(f, dtype={"gauge_id": str})
        if "gauge_id" not in t.columns:
            raise VariableNotFoundError(f"{f}: no 'gauge_id' column")
        t.index = [_bare(g) for g in t["gauge_id"]]
        tables.append((f, t))
    out = {}
    for name in names:
        hit = next(((f, t) for f, t in tables if name in t.columns), None)
        if hit is None:
            raise VariableNotFoundError(
                f"attribute '{name}' is in none of {', '.join(str(f) for f, _ in tables)}"
            )
        f, t = hit
        missing = [b for b in data.basins if b not in t.index]
        if missing:
            raise InvalidArgumentError(
                f"{f}: basin '{missing[0]}' has no row ({len(missing)} basins missing)"
            )
        col = pd.to_numeric(t.loc[data.basins, name], errors="coerce").to_numpy(dtype=np.float32)
        if not np.isfinite(col).all():
            b = data.basins[int(np.argmin(np.isfinite(col)))]
            raise InvalidValueError(f"{f}: attribute '{name}' of basin {b} is not a number")
        out[name] = col
        data.attribute_files[name] = f
    data.attributes.update(out)
    return out


def attribute_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("attributes_*.csv"))


def load(
    netcdf: str | Path | None = None,
    basins: list[str] | None = None,
    attributes: list[str] = (),
    attribute_csvs: list[str | Path] | None = None,
) -> Caravan:
    """Read a Caravan data set: series of `basins` and the named static `attributes`."""
    nc = Path(netcdf) if netcdf else default_folder() / NETCDF
    data = read_netcdf(nc, basins)
    if attributes:
        csvs = attribute_csvs if attribute_csvs else attribute_files(nc.parent)
        read_attributes(data, list(csvs), list(attributes))
    return data


def read_basin_list(path: str | Path) -> list[str]:
    """A basin list file (NeuralHydrology's form: one id a line, # comments)."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"basin list '{p}' does not exist")
    return [ln.split("#")[0].strip() for ln in p.read_text().splitlines() if ln.split("#")[0].strip()]
