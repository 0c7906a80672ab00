"""The testbed: a reference land biogeochemistry model on ELM's structure and parameters,
writing files in ELM's exact format: land grid, climate forcing, surface data, a monthly
C/N/P step whose balances close, native/AD/matrix spin-up, restarts and history, and
`elmai testbed run`/`verify` (docs/testbed.md)."""

from elmai.apps.testbed import run
from elmai.apps.testbed.climate import Climate, make_climate
from elmai.apps.testbed.grid import LandGrid, make_grid
from elmai.apps.testbed.surface import Surface, make_surface
from elmai.apps.testbed.world import World

__all__ = ["run", "Climate", "LandGrid", "Surface", "make_climate", "make_grid", "make_surface", "World"]
