"""One testbed world: the grid, its climate and surface from one seed, the parameters,
and the model on them. `elmai testbed run`, the reference spin-ups, the realism tests
and the benchmarks all build it the same way, so a seed names the same world everywhere.

Options of the subgrid layout (they change the files, not the vegetated column's dynamics
unless noted): `topounits` (1 or 2) splits every gridcell into equal topounits that share
its climate, each with its own natural-vegetation column; the testbed runs one column per
gridcell and writes its state to every topounit's natural column (identical columns, the
simplest correct choice: no elevation offset). `crop` adds ELM's crop landunit (no use_crop:
c3_crop and c3_irrigated, one column each) which takes the crop PFTs' share out of the
natural column (that column's mix is renormalised over PFTs 0-14: its dynamics change where
crop PFTs grew); crop columns hold zero pools (the testbed does not simulate crops).
`glacier_cells` makes the coldest ice-sheet gridcells all glacier (no active natural
vegetation: ELM keeps a zero-weight natural landunit there, inactive)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elmai.apps.testbed.climate import Climate, make_climate
from elmai.apps.testbed.dynamics import Model
from elmai.apps.testbed.grid import LandGrid, make_grid
from elmai.apps.testbed.restart import Layout
from elmai.apps.testbed.surface import Surface, make_surface
from elmai.errors import InvalidArgumentError
from elmai.io.elm_names import ISTSOIL
from elmai.io.elm_params import ElmParams, default_params


@dataclass
class World:
    grid: LandGrid
    climate: Climate
    surface: Surface
    params: ElmParams
    topounits: int = 1

    @classmethod
    def build(
        cls,
        resolution: float,
        forcing_years: int = 20,
        seed: int = 0,
        params: ElmParams | None = None,
        topounits: int = 1,
        crop: bool = False,
        glacier_cells: bool = False,
        warming: float = 0.0,
    ) -> World:
        if topounits not in (1, 2):
            raise InvalidArgumentError(f"topounits must be 1 or 2, not {topounits}")
        grid = make_grid(resolution)
        climate = make_climate(grid, nyears=forcing_years, seed=seed, warming=warming)
        surface = make_surface(grid, climate, seed=seed + 1, crop=crop, glacier_cells=glacier_cells)
        return cls(grid, climate, surface, params or default_params(), topounits)

    def model(
        self, accelerated: bool = False, supplement_nutrients: bool = True, cells: np.ndarray | None = None
    ) -> Model:
        """The model on every gridcell, or on `cells` only (gridcells are independent: a
        sample of them spins up as it would inside the whole grid)."""
        climate = self.climate if cells is None else self.climate.cells(cells)
        pick = slice(None) if cells is None else cells
        return Model(
            self.params,
            self.surface.pft_weights[:, pick],
            self.surface.pct_sand[0][pick],
            climate.annual_mean_temperature_c(),
            accelerated=accelerated,
            supplement_nutrients=supplement_nutrients,
            climate_normals=climate.normals(),
        )

    def layout(self) -> Layout:
        """The subgrid layout the restarts are written in."""
        s = self.surface
        cft = None if s.pct_cft is None else (s.pct_cft / 100.0).T.copy()
        return Layout(s.landunit_weights(), s.pft_weights.T.copy(), ntopo=self.topounits, cft_wtlnd=cft)

    @property
    def area_m2(self) -> np.ndarray:
        """Land area of each gridcell (m2)."""
        return self.grid.area * self.grid.cell_landfrac * 1e6

    @property
    def natveg_area_m2(self) -> np.ndarray:
        """Area of each gridcell's natural-vegetation landunit (m2): what the testbed
        simulates, so global sums (GPP, NEE, TOTECOSYSC, the criterion's area) use it."""
        return self.area_m2 * self.surface.landunit_weights()[ISTSOIL]
