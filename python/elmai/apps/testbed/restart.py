"""The testbed's state as an ELM restart (`<case>.elm.r.YYYY-01-01-00000.nc`), and back.

Layout as ELM writes it (main/initGridCellsMod.F90, main/subgridMod.F90, the real OLMT
Kougarok restart in ../shared/data/elm): per topounit a natural-vegetation landunit (always
present, even at zero weight) with ONE column holding all natural PFT slots, an optional crop
landunit with one column per crop type, the three urban landunits (types 7-9) with five
columns each (cols1d_ityp 71-75) and one pft each, and lake, wetland and glacier landunits
with one column and one (bare) pft where their weight is > 0. Landunits are ordered by type,
then topounit (one clump, as initGridCells loops). Pools under ELM's names: PFT pools per m2
of PFT, `*_vr` pools in gC/m3 on levgrnd (levels below nlevdecomp zero), pft-level totvegc
and ELM's column totals (ColumnDataType.F90 col_cs/ns/ps_summary); special columns hold
zero pools. The testbed simulates the natural-vegetation column only: every topounit's
natural column carries the same state (the gridcell's), and reading takes the first.
Mineral N sits in the top level of `sminn_vr`/`smin_nh4_vr` and mineral P in
`solutionp_vr`; the column states `sminn`, `sminp` (ELM keeps them, but not in restarts) are
written too so that a continuation reads them back bit-identically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from elmai.apps.testbed.dynamics import SOIL_POOLS, VEG_POOLS, Model, State
from elmai.apps.testbed.grid import LandGrid
from elmai.apps.testbed.surface import CFT_TYPES, NATPFT_WITH_CROP, URBAN_COLUMN_WTLND
from elmai.errors import ShapeError, VariableNotFoundError
from elmai.io import elm_names as N
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.restart import open_restart
from elmai.io.restart_layout import (
    ELM_RESTART_DIMS,
    SubgridArrays,
    column_summaries,
    double_attrs,
    int_attrs,
    subgrid_variables,
)
from elmai.io.soil_levels import DZSOI_DECOMP

# Dims of the diagnostic variables ELM writes NaN into (as in the real file)
NAN_DIAGNOSTIC_DIMS: dict[str, tuple[str, ...]] = {
    "mlaidiff": ("pft",), "btran2": ("pft",), "qflx_snofrz_lyr": ("column", "levsno"), "irrig_rate": ("pft",),
    "TS_TOPO": ("topounit",), "TWS_MONTH_BEGIN": ("gridcell",), "ENDWB_COL": ("column",),
    "tempavg_somhr": ("column",), "tempavg_finrw": ("column",), "C_budg_stateG": ("C_budg_state",),
}  # fmt: skip
# ELM's pft names after the natural ones (pftvarcon, mxpft = 24): ipft_* global attributes
CROP_PFT_NAMES: tuple[str, ...] = (
    "corn", "irrigated_corn", "spring_temperate_cereal", "irrigated_spring_temperate_cereal",
    "winter_temperate_cereal", "irrigated_winter_temperate_cereal", "soybean", "irrigated_soybean",
)  # fmt: skip
# the column totals the testbed's restarts carry (the real file's set)
COLUMN_TOTALS = ("totsomc", "totlitc", "totcolc", "totcoln", "totsomp", "totlitp", "totcolp", "cwdp")
URBAN_COLUMN_NAMES = ("roof", "sunwall", "shadewall", "impervious_road", "pervious_road")
def restart_name(case: str, year: int) -> str:
    return f"{case}.elm.r.{year:04d}-01-01-00000.nc"


@dataclass
class Layout:
    """What the subgrid hierarchy is built from: topounits per gridcell, landunit weights
    relative to the gridcell (the same in every topounit, each topounit 1/ntopo of the
    gridcell), the natural column's PFT weights and, with a crop landunit, its column
    weights (one column per crop type)."""

    landunit_weights: dict[int, np.ndarray]  # type -> (ngrid,) weight relative to the gridcell
    natpft_wtcol: np.ndarray  # (ngrid, NATPFT)
    ntopo: int = 1
    cft_wtlnd: np.ndarray | None = None  # (ngrid, len(CFT_TYPES)) with a crop landunit

    @classmethod
    def natural_only(cls, model: Model) -> Layout:
        """All natural vegetation; the urban landunits present at zero weight (as ELM)."""
        ng = model.wtcol.shape[0]
        w = {N.ISTSOIL: np.ones(ng)} | {t: np.zeros(ng) for t in N.URBAN_LANDUNITS}
        return cls(w, model.wtcol)

    @property
    def ngrid(self) -> int:
        return int(self.natpft_wtcol.shape[0])

    @property
    def n_natpft(self) -> int:
        """Natural PFT slots on the vegetated column: 17, or 15 with a crop landunit."""
        return N.NATPFT if self.cft_wtlnd is None else NATPFT_WITH_CROP


def build_subgrid(layout: Layout) -> SubgridArrays:
    """ELM's order (initGridCellsMod, one clump): landunit type major (natural vegetation,
    crop, urban tbd/hd/md, lake, wetland, glacier), topounit minor; columns and pfts follow
    their landunit."""
    ng, nt = layout.ngrid, layout.ntopo
    topo_g = np.repeat(np.arange(ng), nt)
    tg = topo_g
    lun: dict[str, list] = {k: [] for k in ("g", "t", "type", "wt")}
    col: dict[str, list] = {k: [] for k in ("l", "type", "wtlnd")}
    pft: dict[str, list] = {k: [] for k in ("c", "type", "wtcol")}
    counts = [0, 0]  # landunits, columns so far

    def block(ltype: int, tsel: np.ndarray, ctypes: np.ndarray, wtlnd: np.ndarray, ptypes: np.ndarray,
              wtcol: np.ndarray) -> None:  # fmt: skip
        """Landunits of `ltype` on topounits `tsel`, k columns each (types ctypes (k,), weights
        wtlnd (n, k)), m pfts per column (types ptypes (k, m), weights wtcol (n, k, m))."""
        n, k, m = tsel.size, ctypes.size, ptypes.shape[1]
        if n == 0:
            return
        lids = counts[0] + np.arange(n)
        cids = counts[1] + np.arange(n * k)
        lun["g"].append(tg[tsel]), lun["t"].append(tsel), lun["type"].append(np.full(n, ltype))
        lun["wt"].append(layout.landunit_weights[ltype][tg[tsel]])
        col["l"].append(np.repeat(lids, k)), col["type"].append(np.tile(ctypes, n))
        col["wtlnd"].append(np.broadcast_to(wtlnd, (n, k)).reshape(-1))
        pft["c"].append(np.repeat(cids, m)), pft["type"].append(np.tile(ptypes.reshape(-1), n))
        pft["wtcol"].append(np.broadcast_to(wtcol, (n, k, m)).reshape(-1))
        counts[0] += n
        counts[1] += n * k

    all_t = np.arange(ng * nt)
    npft = layout.n_natpft
    block(N.ISTSOIL, all_t, np.array([N.ISTSOIL]), np.ones((1, 1)), np.arange(npft)[None, :],
          layout.natpft_wtcol[tg][:, None, :npft])  # fmt: skip
    if layout.cft_wtlnd is not None:
        cft = np.array(CFT_TYPES)
        block(N.ISTCROP, all_t, N.ISTCROP * 100 + cft, layout.cft_wtlnd[tg], cft[:, None],
              np.ones((1, cft.size, 1)))  # fmt: skip
    urban_cols = np.array(N.URBAN_COLUMN_TYPES)
    for ltype in N.URBAN_LANDUNITS:  # urban_valid everywhere: present at zero weight too
        block(ltype, all_t, urban_cols, np.array(URBAN_COLUMN_WTLND[ltype])[None, :],
              np.zeros((urban_cols.size, 1), int), np.ones((1, urban_cols.size, 1)))  # fmt: skip
    for ltype in (N.ISTDLAK, N.ISTWET, N.ISTICE):  # one column, one bare pft, where weight > 0
        w = layout.landunit_weights.get(ltype)
        tsel = all_t[w[tg] > 0] if w is not None else all_t[:0]
        block(ltype, tsel, np.array([ltype]), np.ones((1, 1)), np.zeros((1, 1), int), np.ones((1, 1, 1)))
    cat = np.concatenate
    lun_wt = cat(lun["wt"])
    return SubgridArrays(
        topo_g=topo_g, lun_g=cat(lun["g"]), lun_t=cat(lun["t"]), lun_type=cat(lun["type"]),
        lun_wtxy=lun_wt / nt, lun_wttopo=lun_wt, col_l=cat(col["l"]), col_type=cat(col["type"]),
        col_wtlnd=cat(col["wtlnd"]).astype(np.float64), pft_c=cat(pft["c"]), pft_type=cat(pft["type"]),
        pft_wtcol=cat(pft["wtcol"]).astype(np.float64),
    )  # fmt: skip


def cold_start_seeds(model: Model, pft_type: np.ndarray, zero_weight: np.ndarray) -> dict[str, np.ndarray]:
    """ELM's cold-start seed carbon (gC/m2) on the zero-weight natural pfts, which stay
    inactive and keep it (VegetationDataType.F90 veg_cs_init): leafc 1 on evergreen types,
    leafc_storage 1 on the others, deadstemc 0.1 on woody types; none on bare ground. N and
    P seeds follow by the tissue ratios. The testbed's state holds 0 there (the reader drops
    them again), so continuations stay exact."""
    t = np.minimum(pft_type, N.NATPFT - 1)
    on = zero_weight & (pft_type > 0)
    evergreen = model.params.pft["evergreen"][t] == 1
    woody = model.params.pft["woody"][t] >= 1
    return {
        "leafc": np.where(on & evergreen, 1.0, 0.0),
        "leafc_storage": np.where(on & ~evergreen, 1.0, 0.0),
        "deadstemc": np.where(on & woody, 0.1, 0.0),
    }


def write_testbed_restart(
    path: str | os.PathLike[str],
    grid: LandGrid,
    model: Model,
    state: State,
    year: int,
    case: str = "elmai_testbed",
    setup: dict[str, Any] | None = None,
    layout: Layout | None = None,
    surface_dataset: str = "",
) -> None:
    """Write `state`; an AD model writes spinup_state = 1 and its scalaravg_col, with the
    pools in their accelerated (deflated) state, as ELM does. `setup` (resolution, seed,
    forcing years, ...) goes into global attributes `testbed_*` so that the same world can
    be rebuilt to continue the run (`elmai testbed verify`). `layout` (World.layout()) sets
    topounits and landunits; without it every gridcell is all natural vegetation."""
    layout = layout or Layout.natural_only(model)
    sg = build_subgrid(layout)
    ng = grid.ngrid
    v: dict[str, tuple] = {}
    lon, lat = grid.cell_lon, grid.cell_lat
    nat_c, nat_p = sg.natcol, sg.natpft

    v.update(subgrid_variables(sg, lon, lat, grid.ixy, grid.jxy))

    # -- pft pools: the gridcell's natural column on every natural column; zero elsewhere ----
    npft_all = sg.pft_c.size
    pg, ptype = sg.pft_g, np.minimum(sg.pft_type, N.NATPFT - 1)

    def on_pfts(x: np.ndarray) -> np.ndarray:  # (ngrid, NATPFT) -> (pft,)
        return np.where(nat_p, x[pg, ptype], 0.0)

    veg = {e: np.zeros((len(VEG_POOLS), npft_all)) for e in "cnp"}
    seeds = cold_start_seeds(model, sg.pft_type, nat_p & (sg.pft_wtcol == 0))
    for i, pool in enumerate(VEG_POOLS):
        c = on_pfts(state.veg_c[i])
        for suffix in ("", "_storage", "_xfer"):  # the testbed has no storage pools: only seeds
            seed = seeds.get(f"{pool}c{suffix}")
            shown = c if suffix == "" else np.zeros(npft_all)
            if seed is not None:
                shown = np.where(seed > 0, seed, shown)
            for element, ratio in (("c", None), ("n", model.cn[i]), ("p", model.cp[i])):
                data = shown if ratio is None else np.where(nat_p, shown / ratio[ptype], 0.0)
                veg[element][i] += data
                units = f"g{element.upper()}/m2"
                attrs = double_attrs(f"{pool} {element}{suffix}", units)
                v[f"{pool}{element}{suffix}"] = (("pft",), data, attrs)
    zero_p = np.zeros(npft_all)
    # pools and truncation terms the testbed does not have (ELM's names, zero): they enter
    # ELM's totals (totpftc/n/p: ctrunc, npool, retransn, ...), so the totals stay checkable
    for name in ("cpool", "xsmrpool", "gresp_storage", "gresp_xfer", "pft_ctrunc", "npool", "retransn",
                 "pft_ntrunc", "ppool", "retransp", "pft_ptrunc"):  # fmt: skip
        v[name] = (("pft",), zero_p, double_attrs(name, "gC/m2"))
    # VegetationDataType.F90 veg_cs_summary: displayed + storage + xfer + gresp + cpool
    totvegc_p = veg["c"].sum(axis=0)  # displayed + storage + xfer (seeds); gresp_*, cpool are zero
    v["totvegc"] = (("pft",), totvegc_p, double_attrs("total vegetation carbon, excluding cpool", "gC/m2"))
    lai = on_pfts(state.veg_c[0] * model.params.pft["slatop"][None, :])
    v["tlai"] = (("pft",), lai, double_attrs("one-sided leaf area index, no burying by snow", "m2/m2"))
    v["tsai"] = (
        ("pft",),
        np.zeros(npft_all),
        double_attrs("one-sided stem area index, no burying by snow", "m2/m2"),
    )
    for name in N.ELM_NAN_DIAGNOSTICS:  # ELM writes NaN there (the real restart does)
        dims = NAN_DIAGNOSTIC_DIMS[name]
        shape = tuple({"pft": npft_all, "column": sg.col_l.size, "topounit": sg.topo_g.size, "gridcell": ng}
                      .get(d) or ELM_RESTART_DIMS[d] for d in dims)  # fmt: skip
        attrs = (
            {"long_name": name, "units": ""}
            if name == "C_budg_stateG"
            else double_attrs(name, dims2=len(dims) == 2)
        )
        v[name] = (dims, np.full(shape, np.nan), attrs)

    # -- column pools ----------------------------------------------------------------------
    ncol, cg = sg.col_l.size, sg.col_g

    def on_cols(x: np.ndarray) -> np.ndarray:  # (ngrid, ...) -> (column, ...) zero off natural columns
        mask = nat_c.reshape((-1,) + (1,) * (x.ndim - 1))
        return np.where(mask, x[cg], 0.0)

    def levgrnd(x: np.ndarray) -> np.ndarray:  # (ngrid, NLEVDECOMP) -> (column, levgrnd)
        out = np.zeros((ncol, N.NLEVGRND))
        out[:, : N.NLEVDECOMP] = on_cols(x)
        return out

    for k, pool in enumerate(SOIL_POOLS):
        for element, arr in (("c", state.soil_c), ("n", state.soil_n), ("p", state.soil_p)):
            units = f"g{element.upper()}/m3"
            attrs = double_attrs(f"{pool} {element} (vertically resolved)", units, dims2=True)
            v[N.vr_pool(pool, element)] = (("column", "levgrnd"), levgrnd(arr[k]), attrs)
    top_n = np.zeros((ng, N.NLEVDECOMP))
    top_n[:, 0] = state.sminn / DZSOI_DECOMP[0]  # all mineral nutrient in the top level
    top_p = np.zeros((ng, N.NLEVDECOMP))
    top_p[:, 0] = state.sminp / DZSOI_DECOMP[0]
    zero_vr = np.zeros((ncol, N.NLEVGRND))
    minerals = {"sminn_vr": levgrnd(top_n), "smin_nh4_vr": levgrnd(top_n), "smin_no3_vr": zero_vr,
                "solutionp_vr": levgrnd(top_p), "labilep_vr": zero_vr, "secondp_vr": zero_vr,
                "occlp_vr": zero_vr, "primp_vr": zero_vr}  # fmt: skip
    for name, data in minerals.items():
        element = "N" if name.startswith("smin") else "P"
        v[name] = (
            ("column", "levgrnd"),
            data,
            double_attrs(f"{name} (vertically resolved)", f"g{element}/m3", dims2=True),
        )
    for e in "cnp":  # product pools and vertically resolved truncation terms: none in the testbed
        for name in (f"prod1{e}", f"prod10{e}", f"prod100{e}"):
            v[name] = (("column",), np.zeros(ncol), double_attrs(name, f"g{e.upper()}/m2"))
        v[f"col_{e}trunc_vr"] = (
            ("column", "levgrnd"),
            zero_vr,
            double_attrs(f"col_{e}trunc_vr", f"g{e.upper()}/m3", dims2=True),
        )
    # exact continuation
    v["sminn"] = (("column",), on_cols(state.sminn), double_attrs("soil mineral N", "gN/m2"))
    v["sminp"] = (("column",), on_cols(state.sminp), double_attrs("soil mineral P", "gP/m2"))

    # ColumnDataType.F90 col_cs/ns/ps_summary, from what was written (ELM_TOTALS' terms)
    v.update(column_summaries(v, COLUMN_TOTALS, sg))
    scalaravg = np.full((ncol, N.NLEVGRND), N.SPVAL)  # ELM's spval on special columns
    bgc = sg.bgccol
    scalaravg[bgc] = 1.0
    scalaravg[bgc, : N.NLEVDECOMP] = model.scalaravg[cg[bgc]]
    avg_attrs = double_attrs("decomposition scalar average for AD spinup", "1", dims2=True)
    v["scalaravg_col"] = (("column", "levgrnd"), scalaravg, avg_attrs)
    flag = np.int32(1 if model.accelerated else 0)
    v["spinup_state"] = ((), flag, int_attrs("Spinup state of the model that wrote this restart file:  "
                                        "0 = normal model mode, 1 = AD spinup", flag=2))  # fmt: skip
    ymd = int_attrs("current date", flag=3)
    ymd |= {"units": "YYYYMMDD", "_FillValue": np.int32(-999999999)}
    v["timemgr_rst_curr_ymd"] = ((), np.int32(year * 10000 + 101), ymd)

    gatts = {
        "Conventions": "CF-1.7",
        "title": "ELM Restart information",
        "case_id": case,
        "source": "elmai testbed (ELM structure and parameters)",
        "history": f"written by the elmai testbed at simulated year {year}",
        "case_title": "UNSET",
        "surface_dataset": surface_dataset,
        "flanduse_timeseries": "",
        "version": "elmai testbed",
        "revision_id": "elmai testbed restart writer",
        "created_glacier_mec_landunits": "false",
        **{f"ipft_{name}": np.int32(i) for i, name in enumerate(N.NATPFT_NAMES + CROP_PFT_NAMES)},
        "cft_lb": np.int32(CFT_TYPES[0] if layout.cft_wtlnd is not None else N.NATPFT),
        "cft_ub": np.int32(CFT_TYPES[-1] if layout.cft_wtlnd is not None else N.NATPFT - 1),
        "icol_vegetated_or_bare_soil": np.int32(N.ISTSOIL),
        "icol_crop": np.int32(N.ISTCROP),
        "icol_crop_noncompete": "2*100+m, m=cft_lb,cft_ub",
        "icol_landice": np.int32(N.ISTICE),
        "icol_landice_multiple_elevation_classes": "4*100+m, m=1,glcnec",
        "icol_deep_lake": np.int32(N.ISTDLAK),
        "icol_wetland": np.int32(N.ISTWET),
        **{f"icol_urban_{n}": np.int32(t) for n, t in zip(URBAN_COLUMN_NAMES, N.URBAN_COLUMN_TYPES)},  # noqa: B905
        **{f"ilun_{name}": np.int32(i) for name, i in N.LANDUNIT_TYPES.items() if i <= 9},
        **{f"testbed_{k}": v for k, v in (setup or {}).items()},
    }  # fmt: skip
    dims = {
        "gridcell": ng,
        "topounit": sg.topo_g.size,
        "landunit": sg.lun_g.size,
        "column": ncol,
        "pft": npft_all,
        "levgrnd": N.NLEVGRND,
        **ELM_RESTART_DIMS,
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


def setup_or_empty(path: str | os.PathLike[str]) -> dict[str, Any]:
    """read_setup, or {} for a file the testbed did not write (the caller's own options or
    defaults apply then)."""
    try:
        return read_setup(path)
    except VariableNotFoundError:
        return {}


def natural_columns(r: Any, ngrid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Through the subgrid maps (never by position): the natural-vegetation column of each
    gridcell (the first topounit's), and the pfts on those columns with their gridcell.
    Returns (column index per gridcell, pft indices, their gridcells), 0-based."""
    cg = np.asarray(r.read("cols1d_gridcell_index")).astype(np.int64) - 1
    ityp = np.asarray(r.read("cols1d_ityp"))
    ltyp = np.asarray(r.read("cols1d_ityplun")) if "cols1d_ityplun" in r else ityp
    natural = np.nonzero((ityp == N.ISTSOIL) & (ltyp == N.ISTSOIL))[0]
    col_of = np.full(ngrid, -1)
    for c in natural[::-1]:  # the first natural column of each gridcell wins
        col_of[cg[c]] = c
    if (col_of < 0).any():
        raise ShapeError(f"{int((col_of < 0).sum())} gridcells have no natural-vegetation column")
    pc = np.asarray(r.read("pfts1d_column_index")).astype(np.int64) - 1
    owner = np.full(int(r.dims["column"]), -1)
    owner[col_of] = np.arange(ngrid)
    pfts = np.nonzero(owner[pc] >= 0)[0]
    return col_of, pfts, owner[pc[pfts]]


def read_testbed_state(path: str | os.PathLike[str], model: Model) -> State:
    """The testbed State held by a restart (one the testbed or elmai wrote): continue from it.
    The natural column of each gridcell and its pft slots are found through the subgrid
    maps (cols1d_*, pfts1d_column_index, pfts1d_itypveg); slots the file lacks (15 and 16
    with a crop landunit) are zero, as the testbed holds them."""
    ng = model.wtcol.shape[0]
    with open_restart(path) as r:
        if r.dims.get("gridcell") != ng:
            raise ShapeError(
                f"'{path}' has {r.dims.get('gridcell')} gridcells ({r.dims.get('column')} columns); this "
                f"testbed grid has {ng} gridcells, one natural-vegetation column each"
            )
        missing = [n for n in (f"{p}c" for p in VEG_POOLS) if n not in r]
        if missing:
            raise VariableNotFoundError(f"'{path}' lacks {', '.join(missing)}")
        col_of, pfts, pft_g = natural_columns(r, ng)
        slot = np.asarray(r.read("pfts1d_itypveg"))[pfts].astype(np.int64)
        if slot.min(initial=0) < 0 or slot.max(initial=0) >= N.NATPFT:
            raise ShapeError(f"'{path}' has natural pfts of type outside 0..{N.NATPFT - 1}")
        veg = np.zeros((len(VEG_POOLS), ng, N.NATPFT))
        for i, p in enumerate(VEG_POOLS):
            veg[i, pft_g, slot] = np.asarray(r.read(f"{p}c"))[pfts]
        veg[:, model.wtcol == 0] = 0.0  # ELM's seed pools on zero-weight pfts: not the testbed's state
        soil = {
            e: np.stack([r.read(N.vr_pool(p, e))[col_of, : N.NLEVDECOMP] for p in SOIL_POOLS]) for e in "cnp"
        }

        def mineral(column_name: str, vr_name: str) -> np.ndarray:
            if column_name in r:
                return np.asarray(r.read(column_name))[col_of]
            return r.read(vr_name)[col_of, : N.NLEVDECOMP] @ DZSOI_DECOMP

        sminn = mineral("sminn", "sminn_vr")
        sminp = mineral("sminp", "solutionp_vr")
        file_ad = "spinup_state" in r and int(np.asarray(r.read("spinup_state")).reshape(-1)[0]) == 1
        scalaravg = (
            r.read("scalaravg_col")[col_of, : N.NLEVDECOMP] if "scalaravg_col" in r else model.scalaravg
        )
    state = State(veg, soil["c"].copy(), soil["n"].copy(), soil["p"].copy(), sminn.copy(), sminp.copy())
    if file_ad and not model.accelerated:  # ELM leaves AD when a normal run reads an AD restart
        model.exit_ad(state, scalaravg)
    elif model.accelerated and not file_ad:  # and enters it the other way round
        model.enter_ad(state)
    return state
