"""The testbed's state as an ELM restart (`<case>.elm.r.YYYY-01-01-00000.nc`), and back.

Layout as ELM writes it: one vegetated landunit and column per gridcell holding all 17
natural PFT slots; pools under ELM's names (PFT pools per m2 of PFT, `*_vr` pools in
gC/m3 on levgrnd with the levels below nlevdecomp zero), column totals, subgrid maps,
`spinup_state`. Mineral N and P go to the top level of `sminn_vr` and `solutionp_vr`, and to the column
states `sminn`, `sminp` (read back first, so a continuation is bit-identical).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from elmai.errors import ShapeError, VariableNotFoundError
from elmai.io import elm_names as N
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.restart import open_restart
from elmai.io.soil_levels import DZSOI_DECOMP
from elmai.testbed.dynamics import SOIL_POOLS, VEG_POOLS, Model, State
from elmai.testbed.grid import LandGrid


def restart_name(case: str, year: int) -> str:
    return f"{case}.elm.r.{year:04d}-01-01-00000.nc"


def _double(long_name: str, units: str) -> dict[str, Any]:
    return {"long_name": long_name, "units": units, "_FillValue": np.float64(N.SPVAL),
            "missing_value": np.float64(N.SPVAL)}  # fmt: skip


def _int(long_name: str) -> dict[str, Any]:
    return {"long_name": long_name, "_FillValue": np.int32(N.ISPVAL), "missing_value": np.int32(N.ISPVAL)}


def write_testbed_restart(
    path: str | os.PathLike[str],
    grid: LandGrid,
    model: Model,
    state: State,
    year: int,
    case: str = "elmai_testbed",
    setup: dict[str, Any] | None = None,
) -> None:
    """Write `state`; an AD model writes spinup_state = 1 and its scalaravg_col, with the
    pools in their accelerated (deflated) state, as ELM does. `setup` (resolution, seed,
    forcing years, ...) goes into global attributes `testbed_*` so that the same world can
    be rebuilt to continue the run (`elmai testbed verify`)."""
    ng, npft = grid.ngrid, N.NATPFT
    g = np.arange(ng)
    pft_g = np.repeat(g, npft)
    pft_type = np.tile(np.arange(npft), ng)
    wtcol = model.wtcol.reshape(-1)  # (ngrid * NATPFT), gridcell-major like ELM
    ones = np.ones(ng)
    i32 = np.int32
    v: dict[str, tuple] = {}
    lon, lat = grid.cell_lon, grid.cell_lat

    def sub(name: str, dim: str, data: np.ndarray, long_name: str, integer: bool = False) -> None:
        attrs = (
            _int(long_name)
            if integer
            else _double(long_name, "degrees" if name.endswith(("lon", "lat")) else "")
        )
        v[name] = ((dim,), data.astype(i32 if integer else np.float64), attrs)

    sub("grid1d_lon", "gridcell", lon, "gridcell longitude")
    sub("grid1d_lat", "gridcell", lat, "gridcell latitude")
    sub("grid1d_ixy", "gridcell", grid.ixy, "2d longitude index of corresponding gridcell", True)
    sub("grid1d_jxy", "gridcell", grid.jxy, "2d latitude index of corresponding gridcell", True)
    for prefix, dim, gi in (("land1d", "landunit", g), ("cols1d", "column", g), ("pfts1d", "pft", pft_g)):
        sub(f"{prefix}_lon", dim, lon[gi], f"{dim} longitude")
        sub(f"{prefix}_lat", dim, lat[gi], f"{dim} latitude")
        sub(f"{prefix}_ixy", dim, grid.ixy[gi], "2d longitude index of corresponding gridcell", True)
        sub(f"{prefix}_jxy", dim, grid.jxy[gi], "2d latitude index of corresponding gridcell", True)
        sub(f"{prefix}_gridcell_index", dim, gi + 1, f"gridcell index of corresponding {dim}", True)
    sub("land1d_wtxy", "landunit", ones, "landunit weight relative to corresponding gridcell")
    sub("land1d_ityplun", "landunit", np.full(ng, N.ISTSOIL), "landunit type", True)
    sub("land1d_active", "landunit", ones, "true => do computations on this landunit", True)
    sub("cols1d_landunit_index", "column", g + 1, "landunit index of corresponding column", True)
    sub("cols1d_wtxy", "column", ones, "column weight relative to corresponding gridcell")
    sub("cols1d_wtlnd", "column", ones, "column weight relative to corresponding landunit")
    sub("cols1d_ityp", "column", np.full(ng, N.ISTSOIL), "column type", True)
    sub("cols1d_ityplun", "column", np.full(ng, N.ISTSOIL), "column landunit type", True)
    sub("cols1d_active", "column", ones, "true => do computations on this column", True)
    sub("pfts1d_landunit_index", "pft", pft_g + 1, "landunit index of corresponding pft", True)
    sub("pfts1d_column_index", "pft", pft_g + 1, "column index of corresponding pft", True)
    sub("pfts1d_wtxy", "pft", wtcol, "pft weight relative to corresponding gridcell")
    sub("pfts1d_wtlnd", "pft", wtcol, "pft weight relative to corresponding landunit")
    sub("pfts1d_wtcol", "pft", wtcol, "pft weight relative to corresponding column")
    sub("pfts1d_itypveg", "pft", pft_type, "pft vegetation type", True)
    sub("pfts1d_itypcol", "pft", np.full(pft_g.size, N.ISTSOIL), "pft column type", True)
    sub("pfts1d_ityplun", "pft", np.full(pft_g.size, N.ISTSOIL), "pft landunit type", True)
    sub("pfts1d_active", "pft", (wtcol > 0).astype(float), "true => do computations on this pft", True)

    for i, pool in enumerate(VEG_POOLS):
        c = state.veg_c[i].reshape(-1)
        for element, ratio in (("c", None), ("n", model.cn[i]), ("p", model.cp[i])):
            data = c if ratio is None else c / np.tile(ratio, ng)
            units = f"g{element.upper()}/m2"
            v[f"{pool}{element}"] = (("pft",), data, _double(f"{pool} {element}", units))
            for suffix in ("_storage", "_xfer"):  # the testbed has no storage pools
                v[f"{pool}{element}{suffix}"] = (
                    ("pft",),
                    np.zeros_like(data),
                    _double(f"{pool} {element}{suffix}", units),
                )
    lai = (state.veg_c[0] * model.params.pft["slatop"][None, :]).reshape(-1)
    v["tlai"] = (("pft",), lai, _double("one-sided leaf area index", "m2/m2"))
    v["tsai"] = (("pft",), np.zeros_like(lai), _double("one-sided stem area index", "m2/m2"))

    def levgrnd(x: np.ndarray) -> np.ndarray:  # (ngrid, NLEVDECOMP) -> (column, levgrnd)
        out = np.zeros((ng, N.NLEVGRND))
        out[:, : N.NLEVDECOMP] = x
        return out

    for k, pool in enumerate(SOIL_POOLS):
        for element, arr in (("c", state.soil_c), ("n", state.soil_n), ("p", state.soil_p)):
            attrs = _double(f"{pool} {element} (vertically resolved)", f"g{element.upper()}/m3")
            v[N.vr_pool(pool, element)] = (("column", "levgrnd"), levgrnd(arr[k]), attrs)
    for name, amount, element in (("sminn", state.sminn, "N"), ("sminp", state.sminp, "P")):
        vr = "sminn_vr" if element == "N" else "solutionp_vr"
        top = np.zeros((ng, N.NLEVDECOMP))
        top[:, 0] = amount / DZSOI_DECOMP[0]  # all mineral nutrient in the top level
        v[vr] = (
            ("column", "levgrnd"),
            levgrnd(top),
            _double(f"mineral {element} (vertically resolved)", f"g{element}/m3"),
        )
        v[name] = (
            ("column",),
            amount,
            _double(f"mineral {element}", f"g{element}/m2"),
        )  # exact for continuation
    stock = model.soil_stock(state.soil_c)  # (8, ngrid)
    totvegc = model.veg_totals(state)[0]
    totals = {
        "totsomc": stock[4:].sum(axis=0),
        "totlitc": stock[:3].sum(axis=0),
        "cwdc": stock[3],
        "totvegc": totvegc,
    }
    totals["totcolc"] = totals["totsomc"] + totals["totlitc"] + totals["cwdc"] + totvegc
    for name, data in totals.items():
        v[name] = (("column",), data, _double(name, "gC/m2"))
    scalaravg = np.ones((ng, N.NLEVGRND))
    scalaravg[:, : N.NLEVDECOMP] = model.scalaravg
    v["scalaravg_col"] = (
        ("column", "levgrnd"),
        scalaravg,
        _double("decomposition scalar average for AD spinup", ""),
    )
    flag = np.int32(1 if model.accelerated else 0)
    v["spinup_state"] = ((), flag, {"long_name": "Spinup state: 0 = normal model mode, 1 = AD spinup"})
    v["timemgr_rst_curr_ymd"] = ((), np.int32(year * 10000 + 101), {"long_name": "current date (YYYYMMDD)"})

    gatts = {
        "title": "ELM Restart information",
        "case_id": case,
        "source": "elmai testbed (ELM structure and parameters)",
        "history": f"written by the elmai testbed at simulated year {year}",
        **{f"ipft_{name}": np.int32(i) for i, name in enumerate(N.NATPFT_NAMES)},
        **{f"ilun_{name}": np.int32(i) for name, i in N.LANDUNIT_TYPES.items()},
        "icol_vegetated_or_bare_soil": np.int32(N.ISTSOIL),
        **{f"testbed_{k}": v for k, v in (setup or {}).items()},
    }
    dims = {
        "gridcell": ng,
        "topounit": ng,
        "landunit": ng,
        "column": ng,
        "pft": ng * npft,
        "levgrnd": N.NLEVGRND,
    }
    write_netcdf(path, v, gatts, format="NETCDF3_64BIT_OFFSET", dims=dims)


def read_setup(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The `testbed_*` global attributes of a testbed restart (also after elmai rewrote it),
    plus the simulated year from timemgr_rst_curr_ymd."""
    with open_restart(path) as r:
        attrs = r.global_attrs
        setup = {k.removeprefix("testbed_"): (v.item() if isinstance(v, np.ndarray) else v)
                 for k, v in attrs.items() if k.startswith("testbed_")}  # fmt: skip
        if not setup:
            raise VariableNotFoundError(
                f"'{path}' was not written by the elmai testbed (no testbed_* attributes)"
            )
        if r.year is not None:
            setup["year"] = r.year
        setup["case"] = attrs.get("case_id", "elmai_testbed")
    return setup


def read_testbed_state(path: str | os.PathLike[str], model: Model) -> State:
    """The testbed State held by a restart (one the testbed or elmai wrote): continue from it."""
    ng = model.wtcol.shape[0]
    with open_restart(path) as r:
        if r.dims.get("pft") != ng * N.NATPFT or r.dims.get("column") != ng:
            raise ShapeError(
                f"'{path}' has {r.dims.get('column')} columns and {r.dims.get('pft')} pfts; this "
                f"testbed grid has {ng} columns and {ng * N.NATPFT} pfts"
            )
        missing = [n for n in (f"{p}c" for p in VEG_POOLS) if n not in r]
        if missing:
            raise VariableNotFoundError(f"'{path}' lacks {', '.join(missing)}")
        veg = np.stack([r.read(f"{p}c").reshape(ng, N.NATPFT) for p in VEG_POOLS])
        soil = {e: np.stack([r.read(N.vr_pool(p, e))[:, : N.NLEVDECOMP] for p in SOIL_POOLS]) for e in "cnp"}

        def mineral(column_name: str, vr_name: str) -> np.ndarray:
            if column_name in r:
                return r.read(column_name)
            return r.read(vr_name)[:, : N.NLEVDECOMP] @ DZSOI_DECOMP

        sminn = mineral("sminn", "sminn_vr")
        sminp = mineral("sminp", "solutionp_vr")
        file_ad = "spinup_state" in r and int(np.asarray(r.read("spinup_state")).reshape(-1)[0]) == 1
        scalaravg = r.read("scalaravg_col")[:, : N.NLEVDECOMP] if "scalaravg_col" in r else model.scalaravg
    state = State(veg, soil["c"].copy(), soil["n"].copy(), soil["p"].copy(), sminn, sminp)
    if file_ad and not model.accelerated:  # ELM leaves AD when a normal run reads an AD restart
        model.exit_ad(state, scalaravg)
    elif model.accelerated and not file_ad:  # and enters it the other way round
        model.enter_ad(state)
    return state
