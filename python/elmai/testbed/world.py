"""One testbed world: the grid, its climate and surface from one seed, the parameters,
and the model on them. `elmai testbed run`, the reference spin-ups, the realism tests
and the benchmarks all build it the same way, so a seed names the same world everywhere."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elmai.io.elm_params import ElmParams, default_params
from elmai.testbed.climate import Climate, make_climate
from elmai.testbed.dynamics import Model
from elmai.testbed.grid import LandGrid, make_grid
from elmai.testbed.surface import Surface, make_surface


@dataclass
class World:
    grid: LandGrid
    climate: Climate
    surface: Surface
    params: ElmParams

    @classmethod
    def build(
        cls, resolution: float, forcing_years: int = 20, seed: int = 0, params: ElmParams | None = None
    ) -> World:
        grid = make_grid(resolution)
        climate = make_climate(grid, nyears=forcing_years, seed=seed)
        surface = make_surface(grid, climate, seed=seed + 1)
        return cls(grid, climate, surface, params or default_params())

    def model(self, accelerated: bool = False, supplement_nutrients: bool = True) -> Model:
        return Model(
            self.params,
            self.surface.pft_weights,
            self.surface.pct_sand[0],
            self.climate.annual_mean_temperature_c(),
            accelerated=accelerated,
            supplement_nutrients=supplement_nutrients,
            climate_normals=self.climate.normals(),
        )

    @property
    def area_m2(self) -> np.ndarray:
        """Land area of each gridcell (m2)."""
        return self.grid.area * self.grid.cell_landfrac * 1e6
