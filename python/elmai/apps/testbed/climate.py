"""The testbed's climate forcing: monthly means over a recycled period (ELM spins up by
cycling e.g. 20 years of forcing), as the datm fields ELM reads.

Climatology from latitude, season, continentality (distance to the coast) and an
elevation-like field; inter-annual anomalies are spatially coherent. Units as datm:
TBOT K, PRECTmms mm/s, FSDS and FLDS W/m2, QBOT kg/kg, PSRF Pa, WIND m/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elmai.apps.testbed.fields import smooth_field
from elmai.apps.testbed.grid import LandGrid

SOLAR_CONSTANT = 1361.0  # W/m2
DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
MID_MONTH_DAY = np.cumsum(DAYS_IN_MONTH) - DAYS_IN_MONTH / 2
FORCING_VARIABLES = ("TBOT", "PRECTmms", "FSDS", "FLDS", "QBOT", "PSRF", "WIND")


@dataclass
class Climate:
    """Arrays (nyears, 12, ngrid) per datm variable, plus the static fields behind them."""

    TBOT: np.ndarray
    PRECTmms: np.ndarray
    FSDS: np.ndarray
    FLDS: np.ndarray
    QBOT: np.ndarray
    PSRF: np.ndarray
    WIND: np.ndarray
    elevation_km: np.ndarray  # (ngrid,)
    continentality: np.ndarray  # (ngrid,) 0 at the coast .. 1 deep inland

    @property
    def nyears(self) -> int:
        return self.TBOT.shape[0]

    def month(self, year: int, month: int) -> dict[str, np.ndarray]:
        """Forcing of one month of the recycled period (year wraps around)."""
        y = year % self.nyears
        return {name: getattr(self, name)[y, month] for name in FORCING_VARIABLES}

    def cells(self, idx: np.ndarray | slice) -> Climate:
        """The climate of a subset of gridcells."""
        return Climate(
            *(getattr(self, n)[..., idx] for n in FORCING_VARIABLES),
            self.elevation_km[idx],
            self.continentality[idx],
        )

    def normals(self) -> dict[str, np.ndarray]:
        """Climatological months: {name: (12, ngrid)} means over the forcing period."""
        return {name: getattr(self, name).mean(axis=0) for name in FORCING_VARIABLES}

    def annual_mean_temperature_c(self) -> np.ndarray:
        return self.TBOT.mean(axis=(0, 1)) - 273.15

    def coldest_month_c(self) -> np.ndarray:
        return self.TBOT.mean(axis=0).min(axis=0) - 273.15

    def warmest_month_c(self) -> np.ndarray:
        return self.TBOT.mean(axis=0).max(axis=0) - 273.15

    def annual_precipitation_mm(self) -> np.ndarray:
        seconds = DAYS_IN_MONTH[None, :, None] * 86400.0
        return (self.PRECTmms * seconds).sum(axis=1).mean(axis=0)


def toa_insolation(lat_deg: np.ndarray, day: float) -> np.ndarray:
    """Daily-mean top-of-atmosphere shortwave (W/m2) at day-of-year `day`."""
    phi = np.deg2rad(lat_deg)
    decl = np.deg2rad(23.44) * np.sin(2 * np.pi * (284 + day) / 365)
    cos_h0 = np.clip(-np.tan(phi) * np.tan(decl), -1, 1)
    h0 = np.arccos(cos_h0)
    ecc = 1 + 0.033 * np.cos(2 * np.pi * day / 365)
    return (
        SOLAR_CONSTANT
        / np.pi
        * ecc
        * (h0 * np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.sin(h0))
    )


def saturation_vapour_pressure(t_c: np.ndarray) -> np.ndarray:
    """Pa, over water (Tetens)."""
    return 610.78 * np.exp(17.27 * t_c / (t_c + 237.3))


def make_climate(grid: LandGrid, nyears: int = 20, seed: int = 0, warming: float = 0.0) -> Climate:
    """The world's monthly climate; `warming` (K) shifts every temperature (humidity follows
    at constant relative humidity), a climate the model was not trained on."""
    rng = np.random.default_rng(seed)
    lat, lon = grid.cell_lat, grid.cell_lon
    alat = np.abs(lat)
    s = np.sin(np.deg2rad(alat))
    north = lat >= 0
    cont = np.clip(grid.coast_km / 1500.0, 0, 1)
    bumps, wet, warm = smooth_field(lat, lon, 12.0, rng, n=3)
    elevation = np.clip(0.4 + 0.8 * bumps, 0, None) * (0.3 + 0.9 * cont)  # km, higher inland
    elevation += 2.0 * np.clip((alat - 63) / 10, 0, 1) * (lat < 0)  # the Antarctic plateau

    # -- temperature (deg C): annual mean, seasonal half-range, lapse rate -----------------
    # continental interiors have colder winters, which pull their annual mean down
    t_mean = 28.0 - 30.0 * s**2 - 6.0 * cont * s**2 - 15.0 * np.clip((alat - 60) / 30, 0, 1)
    t_mean += 1.5 * warm - 6.5 * elevation
    t_amp = (1.0 + 26.0 * s**1.5) * (0.3 + 0.7 * cont)
    months = np.arange(12)
    peak = np.where(north, 6.5, 0.5)  # warmest: mid-July north, mid-January south
    phase = np.cos(2 * np.pi * (months[:, None] - peak[None, :]) / 12)
    t_clim = t_mean[None, :] + t_amp[None, :] * phase  # (12, ngrid)

    # -- precipitation (mm/yr and its seasonal shape) ---------------------------------------
    p_ann = 2600 * np.exp(-(((lat - 3) / 11) ** 2)) + 700 * np.exp(-(((alat - 48) / 14) ** 2)) + 300
    p_ann *= 1 - 0.7 * np.exp(-(((alat - 24) / 7) ** 2))  # subtropical highs
    tropical = np.exp(-(((lat - 3) / 15) ** 2))  # rain forests recycle moisture far inland
    p_ann *= (1 - 0.45 * cont * (1 - tropical)) * (1 + 0.25 * np.clip(elevation, 0, 2)) * np.exp(0.25 * wet)
    p_ann *= np.clip((t_mean + 25) / 25, 0.15, 1)  # cold air holds little water
    monsoon = 0.2 + 0.75 * np.exp(-(((alat - 12) / 9) ** 2))
    shape = 1 + monsoon[None, :] * phase
    p_clim = p_ann[None, :] * shape / shape.sum(axis=0, keepdims=True)  # mm per month

    # -- inter-annual variability: spatially coherent anomalies -----------------------------
    t_anom = smooth_field(lat, lon, 20.0, rng, n=nyears) * (0.4 + 0.8 * cont)  # K
    p_anom = np.exp(0.18 * smooth_field(lat, lon, 20.0, rng, n=nyears) - 0.5 * 0.18**2)
    tbot_c = t_clim[None] + t_anom[:, None, :] + 0.3 * rng.standard_normal((nyears, 12, grid.ngrid))
    tbot_c += warming
    p_month = p_clim[None] * p_anom[:, None, :] * rng.lognormal(-0.02, 0.2, (nyears, 12, grid.ngrid))
    prect = p_month / (DAYS_IN_MONTH[None, :, None] * 86400.0)

    # -- radiation, humidity, pressure, wind --------------------------------------------------
    cloud = np.clip(p_month / 200.0, 0.05, 0.95)
    toa = np.stack([toa_insolation(lat, d) for d in MID_MONTH_DAY])  # (12, ngrid)
    fsds = toa[None] * (0.76 - 0.4 * cloud)
    tk = tbot_c + 273.15
    flds = 5.67e-8 * tk**4 * (0.68 + 0.25 * cloud)
    psrf = np.broadcast_to(101325.0 * np.exp(-elevation / 8.0), tk.shape).copy()
    rh = 0.35 + 0.55 * cloud
    qbot = 0.622 * rh * saturation_vapour_pressure(tbot_c) / psrf
    wind = np.broadcast_to(3.0 + 2.5 * (1 - cont), tk.shape) * rng.lognormal(0, 0.1, tk.shape)

    f32 = np.float32
    return Climate(
        TBOT=tk.astype(f32),
        PRECTmms=prect.astype(f32),
        FSDS=fsds.astype(f32),
        FLDS=flds.astype(f32),
        QBOT=qbot.astype(f32),
        PSRF=psrf.astype(f32),
        WIND=wind.astype(f32),
        elevation_km=elevation,
        continentality=cont,
    )
