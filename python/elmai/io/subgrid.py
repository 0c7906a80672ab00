"""ELM's subgrid hierarchy (gridcell -> landunit -> column -> pft) from a restart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

# Subgrid field -> (restart variable, is a 1-based index to convert to 0-based)
_SOURCES: dict[str, tuple[str, bool]] = {
    "gridcell_lon": ("grid1d_lon", False),
    "gridcell_lat": ("grid1d_lat", False),
    "gridcell_ixy": ("grid1d_ixy", False),
    "gridcell_jxy": ("grid1d_jxy", False),
    "landunit_gridcell": ("land1d_gridcell_index", True),
    "landunit_type": ("land1d_ityplun", False),
    "landunit_weight": ("land1d_wtxy", False),
    "column_gridcell": ("cols1d_gridcell_index", True),
    "column_landunit": ("cols1d_landunit_index", True),
    "column_type": ("cols1d_ityp", False),
    "column_landunit_type": ("cols1d_ityplun", False),
    "column_active": ("cols1d_active", False),
    "column_weight": ("cols1d_wtxy", False),
    "column_weight_landunit": ("cols1d_wtlnd", False),
    "pft_gridcell": ("pfts1d_gridcell_index", True),
    "pft_column": ("pfts1d_column_index", True),
    "pft_type": ("pfts1d_itypveg", False),
    "pft_active": ("pfts1d_active", False),
    "pft_weight": ("pfts1d_wtxy", False),
    "pft_weight_column": ("pfts1d_wtcol", False),
}


@dataclass
class Subgrid:
    """1-D subgrid maps of a restart. Index arrays are 0-based (-1 where the file has no
    valid index); weights are fractions of the gridcell (`*_weight`) or of the parent.
    Fields the file lacks are None."""

    gridcell_lon: np.ndarray | None = None
    gridcell_lat: np.ndarray | None = None
    gridcell_ixy: np.ndarray | None = None
    gridcell_jxy: np.ndarray | None = None
    landunit_gridcell: np.ndarray | None = None
    landunit_type: np.ndarray | None = None
    landunit_weight: np.ndarray | None = None
    column_gridcell: np.ndarray | None = None
    column_landunit: np.ndarray | None = None
    column_type: np.ndarray | None = None
    column_landunit_type: np.ndarray | None = None
    column_active: np.ndarray | None = None
    column_weight: np.ndarray | None = None
    column_weight_landunit: np.ndarray | None = None
    pft_gridcell: np.ndarray | None = None
    pft_column: np.ndarray | None = None
    pft_type: np.ndarray | None = None
    pft_active: np.ndarray | None = None
    pft_weight: np.ndarray | None = None
    pft_weight_column: np.ndarray | None = None

    @classmethod
    def from_reader(cls, read: Callable[[str], np.ndarray], available: set[str]) -> Subgrid:
        values = {}
        for field, (var, one_based) in _SOURCES.items():
            if var not in available:
                continue
            data = read(var)
            if one_based:
                data = np.where(data >= 1, data - 1, -1).astype(np.int64)
            values[field] = data
        return cls(**values)

    @staticmethod
    def source_variable(field: str) -> str:
        """Name of the restart variable a field comes from."""
        return _SOURCES[field][0]

    def present(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]
