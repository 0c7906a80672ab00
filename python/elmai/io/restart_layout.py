"""ELM's restart layout as written by ELM (restUtilMod, initGridCellsMod, subgridWeightsMod):
the grid-independent dimensions, the attributes ELM gives each variable, and the 1-D subgrid
arrays (gridcell, topounit, landunit, column, pft maps, types, weights, active flags). Both
restart synthesisers build on it: the testbed's writer (apps/testbed/restart.py) and the test
and benchmark sample (io/sample_restart.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from elmai.io import elm_names as N
from elmai.io.soil_levels import DZSOI_DECOMP

# Dimensions of ELM's restart that do not depend on the grid (the real file's sizes)
ELM_RESTART_DIMS: dict[str, int] = {
    "levurb": 5, "levlak": 10, "levsno": N.NLEVSNO, "levsno1": N.NLEVSNO + 1,
    "levtot": N.NLEVSNO + N.NLEVGRND,
    "numrad": 2, "levcan": 1, "string_length": 64, "levtrc": 10, "month": 12, "budg_flux": 30,
    "budg_state": 75, "C_budg_flux": 60, "C_budg_state": 85, "N_budg_flux": 95, "N_budg_state": 95,
    "P_budg_flux": 80, "P_budg_state": 105, "ntapes": 1, "max_chars": 256,
}  # fmt: skip
_MEANINGS_1D = "1=nearest neighbor, 2=copy directly, 3=skip"
_MEANINGS_2D = "1=>nearest_neighbor 2=>copy 3=>skip"



def double_attrs(
    long_name: str, units: str = "", flag: int = 1, dims2: bool = False, units_attr: bool = True
) -> dict[str, Any]:
    """ELM's attributes of a double restart variable (restUtilMod ncd_defvar via restartvar)."""
    a: dict[str, Any] = {"long_name": long_name}
    if units_attr:
        a["units"] = units
    a["interpinic_flag"] = np.int32(flag)
    a["interpinic_flag_meanings"] = _MEANINGS_2D if dims2 else _MEANINGS_1D
    if dims2:
        a["switchdim_flag"] = np.int32(1)
        a["switchdim_flag_values"] = np.array([0, 1], dtype=np.int32)
        a["switchdim_flag_is_0"] = "1st and 2nd dims are same as model representation"
        a["switchdim_flag_is_1"] = "1st and 2nd dims are switched from model representation"
    a["_FillValue"] = np.float64(N.SPVAL)
    a["missing_value"] = np.float64(N.SPVAL)
    return a


def int_attrs(long_name: str, units: bool = True, flag: int = 3) -> dict[str, Any]:
    a: dict[str, Any] = {"long_name": long_name}
    if units:
        a["units"] = ""
    a |= {"interpinic_flag": np.int32(flag), "interpinic_flag_meanings": _MEANINGS_1D,
          "_FillValue": np.int32(N.ISPVAL), "missing_value": np.int32(N.ISPVAL)}  # fmt: skip
    return a


@dataclass
class SubgridArrays:
    """ELM's 1-D subgrid arrays (0-based here; written 1-based)."""

    topo_g: np.ndarray
    lun_g: np.ndarray
    lun_t: np.ndarray
    lun_type: np.ndarray
    lun_wtxy: np.ndarray
    lun_wttopo: np.ndarray
    col_l: np.ndarray
    col_type: np.ndarray
    col_wtlnd: np.ndarray
    pft_c: np.ndarray
    pft_type: np.ndarray
    pft_wtcol: np.ndarray
    derived: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = self.derived
        d["col_g"], d["col_t"] = self.lun_g[self.col_l], self.lun_t[self.col_l]
        d["col_ltype"] = self.lun_type[self.col_l]
        d["col_wtxy"] = self.lun_wtxy[self.col_l] * self.col_wtlnd
        d["pft_l"] = self.col_l[self.pft_c]
        d["pft_g"], d["pft_t"] = self.lun_g[d["pft_l"]], self.lun_t[d["pft_l"]]
        d["pft_ctype"], d["pft_ltype"] = self.col_type[self.pft_c], self.lun_type[d["pft_l"]]
        d["pft_wtlnd"] = self.col_wtlnd[self.pft_c] * self.pft_wtcol
        d["pft_wtxy"] = d["col_wtxy"][self.pft_c] * self.pft_wtcol
        d["pft_wttopo"] = self.lun_wttopo[d["pft_l"]] * d["pft_wtlnd"]
        # subgridWeightsMod is_active_l/c/p: a landunit with weight > 0, and the natural one
        # unless its topounit is all glacier; a column with weight > 0 on an active landunit
        # (every urban column of an active urban landunit); a pft with wtcol > 0 on one
        all_ice = np.zeros(self.topo_g.size, bool)
        ice = self.lun_type == N.ISTICE
        all_ice[self.lun_t[ice & (self.lun_wttopo >= 1.0 - 1e-12)]] = True
        lun_active = (self.lun_wttopo > 0) | ((self.lun_type == N.ISTSOIL) & ~all_ice[self.lun_t])
        urban = np.isin(d["col_ltype"], N.URBAN_LANDUNITS)
        col_active = lun_active[self.col_l] & ((self.col_wtlnd > 0) | urban)
        d["lun_active"], d["col_active"] = lun_active, col_active
        d["pft_active"] = col_active[self.pft_c] & (self.pft_wtcol > 0)
        d["natcol"] = (d["col_ltype"] == N.ISTSOIL) & (self.col_type == N.ISTSOIL)
        d["natpft"] = d["natcol"][self.pft_c]
        d["bgccol"] = np.isin(d["col_ltype"], N.BGC_LANDUNITS)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["derived"][name]
        except KeyError:
            raise AttributeError(name) from None


def subgrid_variables(
    sg: SubgridArrays, lon: np.ndarray, lat: np.ndarray, ixy: np.ndarray, jxy: np.ndarray
) -> dict[str, tuple]:
    """The restart's subgrid variables (grid1d/topo1d/land1d/cols1d/pfts1d_*) with ELM's names,
    attributes and 1-based indices, from the arrays and the gridcells' coordinates."""
    i32 = np.int32
    v: dict[str, tuple] = {}
    grid_ixy, grid_jxy = ixy, jxy

    def sub(name: str, dim: str, data: np.ndarray, long_name: str, integer: bool = False, units: str = "",
            index: bool = False) -> None:  # fmt: skip
        attrs = int_attrs(long_name, units=not index) if integer else double_attrs(long_name, units, flag=3)
        v[name] = ((dim,), np.asarray(data).astype(i32 if integer else np.float64), attrs)

    sub("grid1d_lon", "gridcell", lon, "gridcell longitude", units="degrees_east")
    sub("grid1d_lat", "gridcell", lat, "gridcell latitude", units="degrees_north")
    sub("grid1d_ixy", "gridcell", grid_ixy, "2d longitude index of corresponding gridcell", True, index=True)
    sub("grid1d_jxy", "gridcell", grid_jxy, "2d latitude index of corresponding gridcell", True, index=True)
    levels = (("topo1d", "topounit", sg.topo_g), ("land1d", "landunit", sg.lun_g),
              ("cols1d", "column", sg.col_g), ("pfts1d", "pft", sg.pft_g))  # fmt: skip
    for prefix, dim, gi in levels:
        sub(f"{prefix}_lon", dim, lon[gi], f"{dim} longitude", units="degrees_east")
        sub(f"{prefix}_lat", dim, lat[gi], f"{dim} latitude", units="degrees_north")
        plain = prefix in ("topo1d", "land1d")  # ELM gives cols1d/pfts1d ixy, jxy a units attribute
        for name, idx in (("ixy", grid_ixy), ("jxy", grid_jxy)):
            axis = "longitude" if name == "ixy" else "latitude"
            long_name = f"2d {axis} index of corresponding gridcell"
            sub(f"{prefix}_{name}", dim, idx[gi], long_name, True, index=plain)
        sub(
            f"{prefix}_gridcell_index",
            dim,
            gi + 1,
            f"gridcell index of corresponding {dim}",
            True,
            index=True,
        )
    sub("land1d_topounit_index", "landunit", sg.lun_t + 1, "topounit index of corresponding landunit", True,
        index=True)  # fmt: skip
    sub("land1d_ityplun", "landunit", sg.lun_type, "landunit type (see global attributes)", True)
    sub(
        "land1d_active",
        "landunit",
        sg.lun_active,
        "landunit active flag (1=active, 0=inactive)",
        True,
        index=True,
    )
    v["land1d_wtxy"] = (
        ("landunit",),
        sg.lun_wtxy.astype(np.float64),
        double_attrs("landunit weight relative to corresponding gridcell", flag=3, units_attr=False),
    )
    sub(
        "cols1d_topounit_index",
        "column",
        sg.col_t + 1,
        "topounit index of corresponding column",
        True,
        index=True,
    )
    sub(
        "cols1d_landunit_index",
        "column",
        sg.col_l + 1,
        "landunit index of corresponding column",
        True,
        index=True,
    )
    sub("cols1d_ityplun", "column", sg.col_ltype, "column landunit type (see global attributes)", True)
    sub("cols1d_ityp", "column", sg.col_type, "column type (see global attributes)", True)
    sub("cols1d_active", "column", sg.col_active, "column active flag (1=active, 0=inactive)", True)
    sub("cols1d_wtxy", "column", sg.col_wtxy, "column weight relative to corresponding gridcell")
    sub("cols1d_wtlnd", "column", sg.col_wtlnd, "column weight relative to corresponding landunit")
    sub("pfts1d_topounit_index", "pft", sg.pft_t + 1, "topounit index of corresponding pft", True, index=True)
    sub("pfts1d_landunit_index", "pft", sg.pft_l + 1, "landunit index of corresponding pft", True, index=True)
    sub("pfts1d_column_index", "pft", sg.pft_c + 1, "column index of corresponding pft", True, index=True)
    sub("pfts1d_itypveg", "pft", sg.pft_type, "pft vegetation type", True)
    sub("pfts1d_itypcol", "pft", sg.pft_ctype, "pft column type (see global attributes)", True)
    sub("pfts1d_ityplun", "pft", sg.pft_ltype, "pft landunit type (see global attributes)", True)
    sub("pfts1d_active", "pft", sg.pft_active, "pft active flag (1=active, 0=inactive)", True)
    sub("pfts1d_wtxy", "pft", sg.pft_wtxy, "pft weight relative to corresponding gridcell")
    sub("pfts1d_wtlnd", "pft", sg.pft_wtlnd, "pft weight relative to corresponding landunit")
    sub("pfts1d_wtcol", "pft", sg.pft_wtcol, "pft weight relative to corresponding column")
    sub("pfts1d_wttopounit", "pft", sg.pft_wttopo, "pft weight relative to corresponding topounit")

    return v


# ELM's column summaries that a restart carries but that no synthesiser can derive: terms
# ELM does not write to restarts (so `check` cannot check totcoln either)
UNWRITTEN_TERMS = frozenset({"plant_n_buffer", "fan_totn"})


def column_summaries(
    v: dict[str, tuple], names: tuple[str, ...], sg: SubgridArrays, special: np.ndarray | None = None
) -> dict[str, tuple]:
    """ELM's column totals `names` (col_cs/ns/ps_summary) from the pools already in `v`,
    term by term as elm_names.ELM_TOTALS lists them (the table `check` uses): pft terms
    averaged over the column with pfts1d_wtcol (p2c), vertically resolved terms integrated
    over nlevdecomp with dzsoi_decomp, column terms as they are. Optional (crop) terms are
    added where present. `special` columns (e.g. lakes holding fill) get ELM's spval."""
    ncol = sg.col_l.size
    out: dict[str, tuple] = {}
    for name in names:
        terms, optional = N.ELM_TOTALS[name]
        missing = [t for t in terms if t not in v and t not in UNWRITTEN_TERMS]
        if missing:
            raise KeyError(f"{name}: the synthesiser wrote no {', '.join(missing)}")
        total = np.zeros(ncol)
        for term in (*terms, *(t for t in optional if t in v)):
            if term not in v:
                continue
            dims, data = v[term][0], np.asarray(v[term][1], dtype=np.float64)
            if dims == ("pft",):
                total += np.bincount(sg.pft_c, weights=np.where(sg.pft_wtcol > 0, data, 0.0) * sg.pft_wtcol,
                                     minlength=ncol)  # fmt: skip
            elif dims == ("column", "levgrnd"):
                levels = data[:, : N.NLEVDECOMP]
                total += np.where(levels >= N.SPVAL, 0.0, levels) @ DZSOI_DECOMP
            else:
                total += np.where(data >= N.SPVAL, 0.0, data)
        if special is not None:
            total = np.where(special, N.SPVAL, total)
        units = {"c": "gC/m2", "n": "gN/m2", "p": "gP/m2"}[name[-1]]
        out[name] = (("column",), total, double_attrs(name, units))
    return out
