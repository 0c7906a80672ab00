"""The corpus's channels: every variable a channel, with its group (forcing, state or
flux, static), unit and the transform the model sees (log1p for positive heavy-tailed
stocks and fluxes, so a standardised channel is not dominated by a few rich cells)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CHANNELS", "GROUPS", "Channel", "channel_names", "forward_transform", "inverse_transform"]


@dataclass(frozen=True)
class Channel:
    name: str
    group: str  # "forcing", "flux", "state" or "static"
    units: str
    log: bool = False  # model space is log1p(max(x, 0)) before standardising


def _c(name: str, group: str, units: str, log: bool = False) -> Channel:
    return Channel(name, group, units, log)


CHANNELS: tuple[Channel, ...] = (
    _c("TBOT", "forcing", "K"),
    _c("PRECTmms", "forcing", "mm/day", log=True),
    _c("FSDS", "forcing", "W/m2"),
    _c("FLDS", "forcing", "W/m2"),
    _c("QBOT", "forcing", "kg/kg"),
    _c("PSRF", "forcing", "Pa"),
    _c("WIND", "forcing", "m/s"),
    _c("GPP", "flux", "gC/m2/day", log=True),
    _c("AR", "flux", "gC/m2/day", log=True),
    _c("HR", "flux", "gC/m2/day", log=True),
    _c("ER", "flux", "gC/m2/day", log=True),
    _c("NEE", "flux", "gC/m2/day"),
    _c("TLAI", "state", "m2/m2", log=True),
    _c("TOTVEGC", "state", "gC/m2", log=True),
    _c("TOTVEGN", "state", "gN/m2", log=True),
    _c("TOTVEGP", "state", "gP/m2", log=True),
    _c("TOTLITC", "state", "gC/m2", log=True),
    _c("CWDC", "state", "gC/m2", log=True),
    _c("SOIL1C", "state", "gC/m2", log=True),
    _c("SOIL2C", "state", "gC/m2", log=True),
    _c("SOIL3C", "state", "gC/m2", log=True),
    _c("SOIL4C", "state", "gC/m2", log=True),
    _c("TOTSOMN", "state", "gN/m2", log=True),
    _c("TOTSOMP", "state", "gP/m2", log=True),
    _c("SOILC_0_10CM", "state", "gC/m2", log=True),  # soil C by level: top, middle, deep bands
    _c("SOILC_10_60CM", "state", "gC/m2", log=True),
    _c("SOILC_BELOW_60CM", "state", "gC/m2", log=True),
    _c("SMINN", "state", "gN/m2", log=True),
    _c("SMINP", "state", "gP/m2", log=True),
    _c("PCT_SAND", "static", "%"),
    _c("PCT_CLAY", "static", "%"),
    _c("ELEVATION", "static", "km"),
    _c("LANDFRAC", "static", "1"),
    _c("PFT_TREE", "static", "%"),
    _c("PFT_SHRUB", "static", "%"),
    _c("PFT_GRASS", "static", "%"),
    _c("PFT_BARE", "static", "%"),
)
GROUPS: tuple[str, ...] = ("forcing", "flux", "state", "static")
_BY_NAME = {c.name: c for c in CHANNELS}


def channel_names(group: str | None = None) -> list[str]:
    return [c.name for c in CHANNELS if group is None or c.group == group]


def _log_mask(names: list[str]) -> np.ndarray:
    return np.array([_BY_NAME[n].log if n in _BY_NAME else False for n in names])


def forward_transform(x: np.ndarray, names: list[str], axis: int) -> np.ndarray:
    """Raw units -> model space (log1p on the log channels along `axis`)."""
    log = _log_mask(names).reshape([-1 if i == axis % x.ndim else 1 for i in range(x.ndim)])
    scaled = np.where(log, np.maximum(x, 0.0), x)
    with np.errstate(invalid="ignore"):  # both branches are evaluated; only the log one is kept
        return np.where(log, np.log1p(scaled), scaled)


def inverse_transform(z: np.ndarray, names: list[str], axis: int) -> np.ndarray:
    log = _log_mask(names).reshape([-1 if i == axis % z.ndim else 1 for i in range(z.ndim)])
    with np.errstate(over="ignore"):
        return np.where(log, np.expm1(z), z)
