"""Generate ELM-format restart files with ELM's names, subgrid layout and fill values.

Used by the tests (every read is checked against netCDF4-python on these files) and
the benchmarks (a restart with as many variables as a real one carries). The pools
have plausible magnitudes and depth profiles but are not a model state: equilibrium
states come from the testbed. The layout follows the real ELM restart of ../shared/data/elm:
zero-weight pfts are inactive and hold ELM's cold-start seeds (leafc or leafc_storage 1,
dead stem 0.1 x spinup_mortality_factor, N and P from the PFT stoichiometry) with the stale
cold-start totvegc; totvegc is a pft variable (displayed + storage + xfer + cpool + gresp,
not xsmrpool, which goes negative); column totals are ELM's summaries (no cwdc).
"""

from __future__ import annotations

import os

import numpy as np

from elmai.io import elm_names as N
from elmai.io.elm_params import default_params
from elmai.io.elm_structure import TISSUES
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.restart_layout import SubgridArrays, column_summaries, double_attrs, subgrid_variables

SOIL_CP: dict[str, float] = dict(
    zip(N.SOM_POOLS, default_params().soil_cp_initial, strict=True)
)


def make_sample_restart(
    path: str | os.PathLike[str],
    ngridcells: int = 48,
    format: str = "NETCDF3_64BIT_OFFSET",
    n_variables: int = 0,
    lake_fraction: float = 0.25,
    record_dim: bool = False,
    spinup_state: int = 0,
    seed: int = 0,
    header_pad: int = 0,
) -> dict[str, int]:
    """Write an ELM-like restart and return its dimension sizes.

    Each gridcell has a vegetated landunit with one column holding all 17 natural PFTs
    (most with zero weight, as in ELM); a `lake_fraction` of gridcells also has a deep-lake
    landunit whose column carries fill values in the soil BGC pools. `n_variables` pads the
    file with further pft/column/gridcell variables up to that total (real restarts carry
    1,500+). `record_dim` adds an unlimited `time` dimension with record variables.
    """
    rng = np.random.default_rng(seed)
    ng = ngridcells
    nlat = max(2, int(np.sqrt(ng / 2)))
    nlon = max(2, -(-ng // nlat))
    ixy = np.arange(ng) % nlon + 1
    jxy = np.arange(ng) // nlon + 1
    lon = (ixy - 0.5) * 360.0 / nlon
    lat = -90.0 + (jxy - 0.5) * 180.0 / nlat

    has_lake = rng.random(ng) < lake_fraction
    # landunits: one vegetated per gridcell, then lakes
    lun_g = np.concatenate([np.arange(ng), np.flatnonzero(has_lake)])
    lun_type = np.concatenate([np.full(ng, N.ISTSOIL), np.full(has_lake.sum(), N.ISTDLAK)]).astype(np.int32)
    nl = lun_g.size
    lake_w = np.where(has_lake, rng.uniform(0.02, 0.3, ng), 0.0)
    lun_w = np.concatenate([1.0 - lake_w, lake_w[has_lake]])
    # one column per landunit
    nc = nl
    col_l, col_type = np.arange(nl), lun_type
    # pfts: 17 on each vegetated column, 1 (bare) on each lake column
    veg_cols = np.flatnonzero(col_type == N.ISTSOIL)
    lake_cols = np.flatnonzero(col_type == N.ISTDLAK)
    pft_c = np.concatenate([np.repeat(veg_cols, N.NATPFT), lake_cols])
    pft_type = np.concatenate([np.tile(np.arange(N.NATPFT), veg_cols.size), np.zeros(lake_cols.size, int)])
    npft = pft_c.size
    wtcol = np.zeros(npft)
    for k in range(veg_cols.size):  # 1-5 PFTs present per vegetated column
        present = rng.choice(N.NATPFT, size=rng.integers(1, 6), replace=False)
        w = rng.dirichlet(np.ones(present.size))
        wtcol[k * N.NATPFT + present] = w
    wtcol[veg_cols.size * N.NATPFT :] = 1.0
    present = wtcol > 0

    dims = {"gridcell": ng, "topounit": ng, "landunit": nl, "column": nc, "pft": npft}
    i32 = np.int32
    v: dict[str, tuple] = {}

    # one topounit per gridcell; ELM's subgrid variables, attributes and active flags
    sg = SubgridArrays(
        topo_g=np.arange(ng), lun_g=lun_g, lun_t=lun_g, lun_type=lun_type, lun_wtxy=lun_w,
        lun_wttopo=lun_w, col_l=col_l, col_type=col_type, col_wtlnd=np.ones(nc), pft_c=pft_c,
        pft_type=pft_type, pft_wtcol=wtcol,
    )  # fmt: skip
    dims["topounit"] = ng
    v.update(subgrid_variables(sg, lon, lat, ixy, jxy))

    # PFT pools: zero where the PFT is absent or bare; no wood on grasses; plant C:N and
    # C:P from the ELM parameters (leafcn, frootcn, livewdcn, deadwdcn and the cp analogues).
    params = default_params()
    vegetated = present & (pft_type > 0)
    woody = params["woody"][pft_type] > 0
    base = {"leaf": 150, "froot": 200, "livestem": 300, "deadstem": 6000, "livecroot": 90, "deadcroot": 1800}
    pft_carbon: dict[str, np.ndarray] = {}
    # ELM's cold-start seeds on zero-weight (inactive) vegetated pfts (veg_cs%InitCold), the
    # dead stem after the AD exit multiplied by spinup_mortality_factor (veg_cs_restart)
    seeded = (~present) & (pft_type > 0) & np.isin(pft_c, veg_cols)
    evergreen = params["evergreen"][pft_type] > 0
    mortality = N.OLMT_SPINUP_MORTALITY_FACTOR
    seed = {
        "leafc": np.where(seeded & evergreen, 1.0, 0.0),
        "leafc_storage": np.where(seeded & ~evergreen, 1.0, 0.0),
        "deadstemc": np.where(seeded & woody, 0.1 * mortality, 0.0),
    }
    for pool in N.PFT_TISSUES:
        has_pool = vegetated & (woody | (not TISSUES.tissues[TISSUES.index(pool)].woody))
        for suffix, f in (("", 1.0), ("_storage", 0.2), ("_xfer", 0.01)):
            c = np.where(has_pool, base[pool] * f * rng.lognormal(0, 0.5, npft), 0.0)
            c = c + seed.get(f"{pool}c{suffix}", 0.0)
            pft_carbon[f"{pool}c{suffix}"] = c
            cn = params[TISSUES.param(pool, "cn")][pft_type]
            cp = params[TISSUES.param(pool, "cp")][pft_type]
            for element, ratio in (("c", None), ("n", cn), ("p", cp)):
                data = c if ratio is None else np.divide(c, ratio, out=np.zeros(npft), where=c > 0)
                units = f"g{element.upper()}/m2"
                v[f"{pool}{element}{suffix}"] = (
                    ("pft",),
                    data,
                    double_attrs(f"{pool} {element}{suffix}", units),
                )
    # The other pft pools of ELM's totvegc, and xsmrpool (maintenance-respiration deficit,
    # legitimately negative) and the truncation sink that totcolc adds
    extra = {
        "cpool": np.where(vegetated, rng.uniform(0, 250, npft), 0.0),
        "gresp_storage": np.where(vegetated, rng.uniform(0, 20, npft), 0.0),
        "gresp_xfer": np.where(vegetated, rng.uniform(0, 2, npft), 0.0),
        "xsmrpool": np.where(vegetated, rng.uniform(-60, 5, npft), 0.0),
        "pft_ctrunc": np.zeros(npft),
    }
    for name, data in extra.items():
        v[name] = (("pft",), data, double_attrs(name, "gC/m2"))
    totvegc = sum(pft_carbon.values()) + extra["cpool"] + extra["gresp_storage"] + extra["gresp_xfer"]
    # inactive pfts keep the total of their cold start (dead stem before the AD exit)
    totvegc = np.where(seeded, totvegc - pft_carbon["deadstemc"] * (1 - 1 / mortality), totvegc)
    v["totvegc"] = (("pft",), totvegc, double_attrs("totvegc", "gC/m2"))
    lai = np.where(vegetated, rng.uniform(0.2, 7, npft), 0.0)
    sai = np.where(vegetated, rng.uniform(0.1, 1.5, npft), 0.0)
    v["tlai"] = (("pft",), lai, double_attrs("one-sided leaf area index", "m2/m2"))
    v["tsai"] = (("pft",), sai, double_attrs("one-sided stem area index", "m2/m2"))

    # Vertically resolved CTC pools, (column, levgrnd): gC/m3, decreasing with depth, zero
    # below nlevdecomp, fill on lake columns. Soil C:N is ELM's (cn_s1..4); soil C:P is
    # fixed per pool; litter C:N and C:P vary from cell to cell, as in ELM.
    depth = np.exp(-np.arange(N.NLEVGRND) / 3.0)
    depth[N.NLEVDECOMP :] = 0.0
    base_vr = {"litr1": 20, "litr2": 60, "litr3": 30, "cwd": 200, "soil1": 40, "soil2": 400, "soil3": 6000,
               "soil4": 15000}  # fmt: skip
    soil_cn = dict(zip(N.SOM_POOLS, params.soil_cn, strict=True))
    lake = col_type == N.ISTDLAK
    for pool in N.CTC_POOLS:
        c = base_vr[pool] * rng.lognormal(0, 0.6, (nc, 1)) * depth[None, :]
        cn = soil_cn.get(pool, rng.uniform(30, 90, (nc, 1)))
        cp = SOIL_CP.get(pool, rng.uniform(400, 1200, (nc, 1)))
        for element, ratio in (("c", 1.0), ("n", cn), ("p", cp)):
            data = np.where(lake[:, None], N.SPVAL, c / ratio)
            name = N.vr_pool(pool, element)
            attrs = double_attrs(f"{pool} {element} (vertically resolved)", f"g{element.upper()}/m3")
            v[name] = (("column", "levgrnd"), data, attrs)

    # no products and no truncation in a sample; then ELM's column summaries (col_cs_summary)
    # from the pools written, term by term (ELM_TOTALS, the table `check` uses)
    for name in ("prod1c", "prod10c", "prod100c"):
        v[name] = (("column",), np.zeros(nc), double_attrs(name, "gC/m2"))
    v["col_ctrunc_vr"] = (
        ("column", "levgrnd"),
        np.where(lake[:, None], N.SPVAL, np.zeros((nc, N.NLEVGRND))),
        double_attrs("col_ctrunc_vr", "gC/m3"),
    )
    v.update(column_summaries(v, ("totsomc", "totlitc", "totcolc"), sg, special=lake))
    v["scalaravg_col"] = (
        ("column", "levgrnd"),
        np.where(lake[:, None], N.SPVAL, rng.uniform(0.05, 1.0, (nc, N.NLEVGRND))),
        double_attrs("decomposition scalar average for AD spinup", ""),
    )
    v["spinup_state"] = (
        (),
        np.int32(spinup_state),
        {"long_name": "Spinup state of the model that wrote this restart file: 0 = normal, 1 = AD spinup"},
    )
    v["T_SOISNO"] = (
        ("column", "levtot"),
        rng.uniform(250, 300, (nc, N.NLEVSNO + N.NLEVGRND)),
        double_attrs("soil-snow temperature", "K"),
    )
    dims["levtot"] = N.NLEVSNO + N.NLEVGRND
    dims["levgrnd"] = N.NLEVGRND
    v["timemgr_rst_curr_ymd"] = ((), np.int32(210101), {"long_name": "current date"})

    # Padding variables up to n_variables, spread over the dimensions as real restarts are.
    shapes = [("pft",), ("pft",), ("pft",), ("column",), ("column", "levgrnd"), ("gridcell",), ("landunit",)]
    k = 0
    while len(v) < n_variables:
        d = shapes[k % len(shapes)]
        shape = tuple(dims[x] for x in d)
        v[f"state_{d[0]}_{k:04d}"] = (d, rng.standard_normal(shape), double_attrs(f"padding state {k}", "1"))
        k += 1

    unlimited = ()
    if record_dim:
        dims["time"] = 1
        v["mcdate"] = (("time",), np.array([210101], i32), {"long_name": "current date (YYYYMMDD)"})
        v["flux_rec"] = (("time", "column"), rng.standard_normal((1, nc)), double_attrs("record flux", "1"))
        unlimited = ("time",)

    pft_attrs = {f"ipft_{name}": np.int32(i) for i, name in enumerate(N.NATPFT_NAMES)}
    lun_attrs = {f"ilun_{name}": np.int32(i) for name, i in N.LANDUNIT_TYPES.items()}
    col_attrs = {"icol_vegetated_or_bare_soil": np.int32(1), "icol_deep_lake": np.int32(5)}
    gatts = {
        "title": "ELM Restart information",
        "case_id": "elmai_sample",
        "source": "elmai sample restart (ELM layout and names)",
        "history": "created by elmai.io.sample_restart",
        **pft_attrs,
        **lun_attrs,
        **col_attrs,
    }
    order = ["gridcell", "topounit", "landunit", "column", "pft", "levgrnd", "levtot", "time"]
    write_netcdf(
        path,
        v,
        gatts,
        format=format,
        unlimited=unlimited,
        dims={d: dims[d] for d in order if d in dims},
        header_pad=header_pad,
    )
    return dims
