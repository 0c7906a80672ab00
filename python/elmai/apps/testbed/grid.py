"""The testbed's land grid: a regular lat/lon grid at any resolution, land cells taken
from a real 1 km land mask (global-land-mask, GLOBE), with land fraction, area and
distance to the coast (the continentality the climate needs).

Cells with at least half their area on land are model gridcells, which gives ELM-like
counts: 2 deg 5,423 cells, 1 deg 21,624, 0.5 deg 86,400.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elmai.errors import InvalidArgumentError

EARTH_RADIUS_KM = 6371.22  # ELM's re (shr_const_rearth)


@dataclass
class LandGrid:
    resolution: float  # degrees
    lat: np.ndarray  # (nlat,) cell-centre latitudes, south to north
    lon: np.ndarray  # (nlon,) cell-centre longitudes, 0..360 east (as ELM writes grid1d_lon)
    landfrac: np.ndarray  # (nlat, nlon) land fraction from the 1 km mask
    land: np.ndarray  # (nlat, nlon) bool: the model's gridcells
    jxy: np.ndarray  # (ngrid,) 1-based latitude index of each gridcell
    ixy: np.ndarray  # (ngrid,) 1-based longitude index
    area: np.ndarray  # (ngrid,) km2, whole cell
    coast_km: np.ndarray  # (ngrid,) distance to the nearest ocean cell

    @property
    def ngrid(self) -> int:
        return int(self.ixy.size)

    @property
    def cell_lat(self) -> np.ndarray:
        return self.lat[self.jxy - 1]

    @property
    def cell_lon(self) -> np.ndarray:
        return self.lon[self.ixy - 1]

    @property
    def cell_landfrac(self) -> np.ndarray:
        return self.landfrac[self.jxy - 1, self.ixy - 1]

    def area_map(self) -> np.ndarray:
        """(nlat, nlon) cell areas (km2), ocean included."""
        return np.broadcast_to(cell_areas(self.lat, self.resolution)[:, None], self.land.shape)

    def to_map(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Scatter per-gridcell values (..., ngrid) onto the (..., nlat, nlon) grid."""
        values = np.asarray(values)
        out = np.full(values.shape[:-1] + self.land.shape, fill, dtype=np.result_type(values, np.float64))
        out[..., self.jxy - 1, self.ixy - 1] = values
        return out


def cell_areas(lat: np.ndarray, resolution: float) -> np.ndarray:
    """Area (km2) of a resolution x resolution cell centred at each latitude."""
    half = np.deg2rad(resolution / 2)
    band = np.sin(np.clip(np.deg2rad(lat) + half, -np.pi / 2, np.pi / 2)) - np.sin(
        np.clip(np.deg2rad(lat) - half, -np.pi / 2, np.pi / 2)
    )
    return EARTH_RADIUS_KM**2 * np.deg2rad(resolution) * band


def land_fraction(lat: np.ndarray, lon: np.ndarray, resolution: float, subsamples: int = 4) -> np.ndarray:
    """Fraction of subsamples x subsamples points per cell that the 1 km mask calls land."""
    from global_land_mask import globe

    offsets = ((np.arange(subsamples) + 0.5) / subsamples - 0.5) * resolution
    sub_lat = np.clip((lat[:, None] + offsets[None, :]).ravel(), -89.999, 89.999)
    sub_lon = (lon[:, None] + offsets[None, :]).ravel()
    sub_lon = np.where(sub_lon > 180, sub_lon - 360, sub_lon)  # the mask wants -180..180
    la, lo = np.meshgrid(sub_lat, sub_lon, indexing="ij")
    land = globe.is_land(la, lo)
    return land.reshape(lat.size, subsamples, lon.size, subsamples).mean(axis=(1, 3))


def coast_distance(land: np.ndarray, lat: np.ndarray, resolution: float) -> np.ndarray:
    """Distance (km) from each land cell to the nearest non-land cell, periodic in longitude."""
    from scipy.ndimage import distance_transform_edt

    nlon = land.shape[1]
    wrapped = np.concatenate([land[:, -nlon // 2 :], land, land[:, : nlon // 2]], axis=1)
    cells = distance_transform_edt(wrapped)[:, nlon // 2 : nlon // 2 + nlon]
    # a grid step is `resolution` degrees north-south and shrinks with cos(lat) east-west
    km_per_cell = resolution * 111.2 * np.sqrt((1 + np.cos(np.deg2rad(lat)) ** 2) / 2)
    return cells * km_per_cell[:, None]


def make_grid(resolution: float = 2.0, min_landfrac: float = 0.5, subsamples: int = 4) -> LandGrid:
    """The land grid at `resolution` degrees (divisor of 180)."""
    if resolution <= 0 or abs(180 / resolution - round(180 / resolution)) > 1e-9:
        raise InvalidArgumentError(f"resolution must divide 180 degrees, not {resolution}")
    nlat, nlon = round(180 / resolution), round(360 / resolution)
    lat = -90 + (np.arange(nlat) + 0.5) * resolution
    lon = (np.arange(nlon) + 0.5) * resolution
    frac = land_fraction(lat, lon, resolution, subsamples)
    land = frac >= min_landfrac
    jj, ii = np.nonzero(land)  # row-major: south to north, west to east
    dist = coast_distance(land, lat, resolution)
    return LandGrid(
        resolution=resolution,
        lat=lat,
        lon=lon,
        landfrac=frac,
        land=land,
        jxy=(jj + 1).astype(np.int32),
        ixy=(ii + 1).astype(np.int32),
        area=cell_areas(lat[jj], resolution),
        coast_km=dist[jj, ii],
    )
