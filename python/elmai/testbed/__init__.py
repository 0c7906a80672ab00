"""The testbed: a reference land biogeochemistry model on ELM's structure and parameters,
writing files in ELM's exact format (issue 3). Built so far: the land grid, the climate
forcing, the surface data (soils, PFT mix) and a monthly C/N/P step whose balances close
(not yet calibrated); spin-up modes, restart output and the CLI come next."""

from elmai.testbed import run
from elmai.testbed.climate import Climate, make_climate
from elmai.testbed.grid import LandGrid, make_grid
from elmai.testbed.surface import Surface, make_surface

__all__ = ["run", "Climate", "LandGrid", "Surface", "make_climate", "make_grid", "make_surface"]
