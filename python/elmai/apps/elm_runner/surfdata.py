"""The surface data (fsurdat) of the case: every variable and dimension the ELM readers
need for ICB1850CNPRDCTCBC (use_cn, CNP with nu_com RD, CTC, methane, no crop model,
use_voc on by default, one topounit), on (lsmlat = 1, lsmlon = N) like the domain.

Taken from the testbed (its surfdata_<res>deg.nc at the sites): PCT_NATVEG, PCT_LAKE,
PCT_WETLAND, PCT_GLACIER, PCT_URBAN, PCT_CROP/PCT_CFT, PCT_NAT_PFT, PCT_SAND, PCT_CLAY,
ORGANIC, AREA, LANDFRAC_PFT, LATIXY, LONGXY. Everything else a real 1850 surfdata holds for
this configuration is not modelled by the testbed and is written with the documented values
of SURFACE_CONSTANTS and URBAN_CONSTANTS below (listed as placeholders in inputs.json).

Readers (components/elm/src), what they require:
* main/surfrdMod.F90 surfrd_get_data: PFTDATA_MASK, LONGXY/LATIXY (within 0.001 of the domain)
* surfrd_special: PCT_WETLAND, PCT_LAKE, PCT_GLACIER, PCT_URBAN(numurbl), URBAN_REGION_ID
* surfrd_veg_all: dim lsmpft = numpft+1 (17), PCT_NATVEG, PCT_CROP; then surfrd_pftformat
  (no crop landunit: natpft = 17, no 'cft' dim, PCT_CROP must be 0, no NFERT/PFERT) or
  surfrd_cftformat (create_crop_landunit: natpft = 15, cft = 2, PCT_CFT); weights must sum
  to 1 within 1e-14 (surfrdUtilsMod.F90 check_sums_equal_1_3d)
* main/initVerticalMod.F90 initVertical: dim nlevsoi, SLOPE, STD_ELEV (LAKEDEPTH optional)
* biogeophys/SoilStateType.F90 InitCold: PCT_SAND, PCT_CLAY (nlevsoi), FMAX;
  main/organicFileMod.F90 organicrd: ORGANIC
* biogeophys/SurfaceAlbedoType.F90 SurfaceAlbedoInitTimeConst: SOIL_COLOR, mxsoil_color
* data_types/CNStateType.F90 initCold: gdp, peatf, abm, SOIL_ORDER (default 12 if absent),
  LABILE_P, SECONDARY_P, OCCLUDED_P, APATITE_P (gP/m2; required when leaving AD spin-up,
  ColumnDataType.F90 col_ps_restart)
* biogeochem/VOCEmissionMod.F90 InitCold: EF1_BTR, EF1_FET, EF1_FDT, EF1_SHR, EF1_GRS, EF1_CRP
* biogeophys/UrbanParamsType.F90 UrbanInput: dims numurbl (3), nlevurb (5), numrad (2) and
  the urban building properties (without 'numurbl' ELM falls back to nlevurb = 0, a legacy
  path whose restart then defines a zero-length 'levurb' dimension: not used here)
* optional and left out: ZSOI, LAKEDEPTH, ETALAKE, LAKEFETCH, fdrain, fover, pc, 'topounit'
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from elmai.errors import InvalidValueError
from elmai.io.netcdf_writer import write_netcdf

READ_BY = (
    "components/elm/src/main/surfrdMod.F90:surfrd_get_data",
    "components/elm/src/main/surfrdMod.F90:surfrd_special",
    "components/elm/src/main/surfrdMod.F90:surfrd_veg_all",
    "components/elm/src/main/surfrdMod.F90:surfrd_pftformat",
    "components/elm/src/main/surfrdMod.F90:surfrd_cftformat",
    "components/elm/src/main/initVerticalMod.F90:initVertical",
    "components/elm/src/main/organicFileMod.F90:organicrd",
    "components/elm/src/biogeophys/SoilStateType.F90:InitCold",
    "components/elm/src/biogeophys/SurfaceAlbedoType.F90:SurfaceAlbedoInitTimeConst",
    "components/elm/src/data_types/CNStateType.F90:initCold",
    "components/elm/src/biogeochem/VOCEmissionMod.F90:InitCold",
    "components/elm/src/biogeophys/UrbanParamsType.F90:UrbanInput",
    "components/elm/src/main/topounit_varcon.F90:topounit_varcon_init",
)

NATPFT = 17  # bare ground + 16 (numveg), ELM without use_crop (elm_varpar.F90)
NATPFT_WITH_CROP_LANDUNIT = 15  # create_crop_landunit: c3_crop and c3_irrigated move to cft
NUMURBL, NLEVURB, NUMRAD = 3, 5, 2

# Values for what the testbed does not model: (value, units, why)
SURFACE_CONSTANTS: dict[str, tuple[float, str, str]] = {
    # gP/m2: the soil P pools of the real OLMT Kougarok restart (../shared/data/elm) recovered
    # from its urban columns, which keep ELM's exit-spin-up initialisation labilep_vr =
    # LABILE_P / 0.5 etc. (ColumnDataType.F90 col_ps_restart, nu_com RD)
    "LABILE_P": (67.43858, "gP/m2", "Kougarok surfdata value recovered from the real OLMT restart"),
    "SECONDARY_P": (39.14186, "gP/m2", "Kougarok surfdata value recovered from the real OLMT restart"),
    "OCCLUDED_P": (124.31414, "gP/m2", "Kougarok surfdata value recovered from the real OLMT restart"),
    "APATITE_P": (93.00903, "gP/m2", "Kougarok surfdata value recovered from the real OLMT restart"),
    "FMAX": (0.4, "unitless", "placeholder: maximum fractional saturated area (runoff), mid-range"),
    "SLOPE": (1.0, "degrees", "placeholder: gentle terrain"),
    "STD_ELEV": (50.0, "m", "placeholder: standard deviation of elevation (snow cover fraction)"),
    "SOIL_COLOR": (15, "unitless", "placeholder: class of the 20-class soil colour table"),
    # the testbed has no fire and no VOC: zero keeps ELM's fire inputs and MEGAN factors inert
    "gdp": (0.0, "unitless", "testbed has no people (fire model input)"),
    "peatf": (0.0, "unitless", "testbed has no peat fires"),
    "abm": (0, "unitless", "no agricultural burning month"),
    "EF1_BTR": (0.0, "unitless", "isoprene emission factor; the testbed has no VOC"),
    "EF1_FET": (0.0, "unitless", "isoprene emission factor; the testbed has no VOC"),
    "EF1_FDT": (0.0, "unitless", "isoprene emission factor; the testbed has no VOC"),
    "EF1_SHR": (0.0, "unitless", "isoprene emission factor; the testbed has no VOC"),
    "EF1_GRS": (0.0, "unitless", "isoprene emission factor; the testbed has no VOC"),
    "EF1_CRP": (0.0, "unitless", "isoprene emission factor; the testbed has no VOC"),
}
MXSOIL_COLOR = 20

# Urban building properties per density class (TBD, HD, MD). URBAN_REGION_ID = 1 makes the
# urban landunits exist at every site (at the testbed's weight, usually 0), as in the real
# Kougarok restart and the testbed's restarts (subgridMod.F90: urban landunits iff
# urban_valid). WTLUNIT_ROOF and WTROAD_PERV reproduce the testbed's urban column weights
# (elmai.apps.testbed.surface.URBAN_COLUMN_WTLND, from the Kougarok restart) through
# initGridCellsMod.F90 (roof = WTLUNIT_ROOF, each wall and the road = (1 - roof)/3, pervious
# road = road x WTROAD_PERV); the others are generic placeholders, positive as
# UrbanParamsType.F90 CheckUrban requires.
URBAN_CONSTANTS: dict[str, tuple[tuple[float, float, float], str]] = {
    "WTLUNIT_ROOF": ((0.6, 0.25, 0.25), "unitless"),
    "WTROAD_PERV": ((0.125, 0.2, 0.8), "unitless"),
    "CANYON_HWR": ((1.0, 1.0, 1.0), "unitless"),
    "EM_ROOF": ((0.9, 0.9, 0.9), "unitless"),
    "EM_IMPROAD": ((0.95, 0.95, 0.95), "unitless"),
    "EM_PERROAD": ((0.95, 0.95, 0.95), "unitless"),
    "EM_WALL": ((0.9, 0.9, 0.9), "unitless"),
    "HT_ROOF": ((30.0, 15.0, 10.0), "m"),
    "WIND_HGT_CANYON": ((15.0, 7.5, 5.0), "m"),
    "THICK_WALL": ((0.3, 0.3, 0.3), "m"),
    "THICK_ROOF": ((0.2, 0.2, 0.2), "m"),
    "NLEV_IMPROAD": ((3, 3, 3), "unitless"),
    "T_BUILDING_MIN": ((285.0, 285.0, 285.0), "K"),
    "T_BUILDING_MAX": ((310.0, 310.0, 310.0), "K"),
}
URBAN_ALBEDO = {"ROOF": 0.2, "IMPROAD": 0.1, "PERROAD": 0.1, "WALL": 0.25}  # both bands, dir and dif
URBAN_LAYERS = {
    "TK_WALL": (1.0, "W/m/K"),
    "TK_ROOF": (1.0, "W/m/K"),
    "TK_IMPROAD": (1.5, "W/m/K"),
    "CV_WALL": (1.5e6, "J/m^3/K"),
    "CV_ROOF": (1.5e6, "J/m^3/K"),
    "CV_IMPROAD": (2.0e6, "J/m^3/K"),
}

# ELM's soil orders (soilorder_varcon.F90 expected_soilnames, 0-based index = SOIL_ORDER)
SOIL_ORDERS = ("Water", "Andisols", "Gelisols", "Histosols", "Entisols", "Inceptisols", "Aridsols",
               "Vertisols", "Mollisols", "Alfisols", "Spodosols", "Ultisols", "Oxisols",
               "shiftingsand", "rockland", "iceglacier")  # fmt: skip


def soil_order(t_ann_c: np.ndarray, precip_mm: np.ndarray) -> np.ndarray:
    """elmai's climate rule for SOIL_ORDER (the testbed has no soil map): permafrost-cold
    Gelisols, dry Aridsols, hot wet Oxisols, warm wet Ultisols, else Inceptisols."""
    out = np.full(t_ann_c.shape, SOIL_ORDERS.index("Inceptisols"), np.int32)
    out[(t_ann_c > 15.0) & (precip_mm > 1000.0)] = SOIL_ORDERS.index("Ultisols")
    out[(t_ann_c > 20.0) & (precip_mm > 1500.0)] = SOIL_ORDERS.index("Oxisols")
    out[precip_mm < 250.0] = SOIL_ORDERS.index("Aridsols")
    out[t_ann_c < -2.0] = SOIL_ORDERS.index("Gelisols")
    return out


def _sum_seq(w: np.ndarray) -> np.ndarray:
    """Sum over axis 0 left to right, as Fortran's sum() over a weight array does."""
    s = np.zeros(w.shape[1:])
    for k in range(w.shape[0]):
        s = s + w[k]
    return s


def exact_percent(p: np.ndarray) -> np.ndarray:
    """(k, ncell) percentages rescaled to 100 so that the weights ELM forms (p / 100) sum to 1
    within 1e-14 (check_sums_equal_1_3d); the residual goes to each cell's largest entry."""
    p = np.asarray(p, np.float64)
    total = p.sum(axis=0)
    p = np.where(total > 0, 100.0 * p / np.where(total > 0, total, 1.0), 0.0)
    big = p.argmax(axis=0)
    cols = np.arange(p.shape[1])
    for _ in range(3):
        p[big, cols] += 100.0 * (1.0 - _sum_seq(p / 100.0))
    return p


def landunit_percent(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """PCT_NATVEG as 100 minus the other landunits, so that ELM's wt_lunit (in landunit
    order: natveg, crop, glacier, lake, wetland, urban x3) sums to 1 within 1e-14."""
    other = {k: np.maximum(np.asarray(fields[k], np.float64), 0.0)
             for k in ("PCT_CROP", "PCT_GLACIER", "PCT_LAKE", "PCT_WETLAND")}  # fmt: skip
    urban = np.maximum(np.asarray(fields["PCT_URBAN"], np.float64), 0.0)
    natveg = 100.0 - (sum(other.values()) + urban.sum(axis=0))
    for _ in range(3):
        w = np.stack([natveg, other["PCT_CROP"], other["PCT_GLACIER"], other["PCT_LAKE"],
                      other["PCT_WETLAND"], *urban]) / 100.0  # fmt: skip
        natveg = natveg + 100.0 * (1.0 - _sum_seq(w))
    if np.any(natveg < -1e-9):
        bad = int(np.argmin(natveg)) + 1
        raise InvalidValueError(
            f"site {bad}: the testbed's lake, wetland, glacier, urban and crop percentages exceed 100"
        )
    return {"PCT_NATVEG": np.maximum(natveg, 0.0), **other, "PCT_URBAN": urban}


def build_surfdata(
    fields: dict[str, np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
    t_ann_c: np.ndarray,
    precip_mm: np.ndarray,
) -> tuple[dict[str, tuple], dict[str, int], bool]:
    """(variables, dims, crop_landunit) of the surface data of N sites; `fields` are the
    testbed's surface fields at the sites (elmai.apps.elm_runner.world.surface_at)."""
    n = lat.size
    crop = "PCT_CFT" in fields

    def grid(x: np.ndarray) -> np.ndarray:  # (..., n) -> (..., lsmlat=1, lsmlon=n)
        x = np.asarray(x)
        return x.reshape(x.shape[:-1] + (1, n))

    def var(dims: tuple[str, ...], x: np.ndarray, long_name: str, units: str) -> tuple:
        return dims + ("lsmlat", "lsmlon"), grid(x), {"long_name": long_name, "units": units}

    lu = landunit_percent(fields)
    if crop:  # the testbed's crop landunit is ELM's create_crop_landunit without use_crop
        pct_nat = exact_percent(fields["PCT_NAT_PFT"][:NATPFT_WITH_CROP_LANDUNIT])
        pct_cft = exact_percent(fields["PCT_CFT"])
    else:
        pct_nat = exact_percent(fields["PCT_NAT_PFT"][:NATPFT])
        lu["PCT_CROP"] = np.zeros(n)
    pct = "unitless"
    v: dict[str, tuple] = {
        "natpft": (
            ("natpft",),
            np.arange(pct_nat.shape[0], dtype=np.int32),
            {"long_name": "natural PFT index"},
        ),
        "LATIXY": var((), lat, "latitude", "degrees north"),
        "LONGXY": var((), lon, "longitude", "degrees east"),
        "AREA": var((), fields["AREA"], "area", "km^2"),
        "LANDFRAC_PFT": var((), fields["LANDFRAC_PFT"], "land fraction from pft dataset", pct),
        "PFTDATA_MASK": var((), np.ones(n, np.int32), "land mask from pft dataset", pct),
        "mxsoil_color": (
            (),
            np.int32(MXSOIL_COLOR),
            {"long_name": "maximum numbers of soil colors", "units": pct},
        ),
        "PCT_NATVEG": var((), lu["PCT_NATVEG"], "total percent natural vegetation landunit", pct),
        "PCT_CROP": var((), lu["PCT_CROP"], "total percent crop landunit", pct),
        "PCT_LAKE": var((), lu["PCT_LAKE"], "percent lake", pct),
        "PCT_WETLAND": var((), lu["PCT_WETLAND"], "percent wetland", pct),
        "PCT_GLACIER": var((), lu["PCT_GLACIER"], "percent glacier", pct),
        "PCT_URBAN": var(("numurbl",), lu["PCT_URBAN"], "percent urban for each density type", pct),
        "URBAN_REGION_ID": var((), np.ones(n, np.int32), "urban region ID", pct),
        "PCT_NAT_PFT": var(
            ("natpft",), pct_nat, "percent plant functional type of the natural veg landunit", pct
        ),
        "PCT_SAND": var(("nlevsoi",), fields["PCT_SAND"], "percent sand", pct),
        "PCT_CLAY": var(("nlevsoi",), fields["PCT_CLAY"], "percent clay", pct),
        "ORGANIC": var(("nlevsoi",), fields["ORGANIC"], "organic matter density at soil levels", "kg/m3"),
        "SOIL_ORDER": var(
            (), soil_order(t_ann_c, precip_mm), "soil order (index in soilorder_varcon.F90)", pct
        ),
    }
    for name, (value, units, why) in SURFACE_CONSTANTS.items():
        dtype = np.int32 if isinstance(value, int) else np.float64
        dims, data, attrs = var((), np.full(n, value, dtype), name, units)
        v[name] = (dims, data, attrs | {"comment": why})
    if crop:
        v["cft"] = (("cft",), np.asarray(fields["cft"], np.int32), {"long_name": "indices of CFTs"})
        v["PCT_CFT"] = var(("cft",), pct_cft, "percent crop functional type on the crop landunit", "unitless")
    _add_urban(v, var, n)
    nlevsoi = fields["PCT_SAND"].shape[0]
    dims = {"lsmlat": 1, "lsmlon": n, "natpft": pct_nat.shape[0], "lsmpft": NATPFT, "nlevsoi": nlevsoi,
            "numurbl": NUMURBL, "nlevurb": NLEVURB, "numrad": NUMRAD}  # fmt: skip
    if crop:
        dims["cft"] = pct_cft.shape[0]
    return v, dims, crop


def placeholder_names() -> list[str]:
    """The surface variables written with elmai's documented values rather than testbed fields."""
    albedo = [f"ALB_{p}_{k}" for p in URBAN_ALBEDO for k in ("DIR", "DIF")]
    return sorted(SURFACE_CONSTANTS) + sorted(URBAN_CONSTANTS) + albedo + sorted(URBAN_LAYERS)


def _add_urban(v: dict[str, tuple], var: Callable[..., tuple], n: int) -> None:
    note = {"comment": "elmai placeholder (no urban physics in the testbed; elmai.apps.elm_runner.surfdata)"}
    for name, (values, units) in URBAN_CONSTANTS.items():
        dtype = np.int32 if isinstance(values[0], int) else np.float64
        x = np.repeat(np.asarray(values, dtype)[:, None], n, axis=1)
        dims, data, attrs = var(("numurbl",), x, name, units)
        v[name] = (dims, data, attrs | note)
    for part, albedo in URBAN_ALBEDO.items():
        for kind in ("DIR", "DIF"):
            x = np.full((NUMRAD, NUMURBL, n), albedo)
            dims, data, attrs = var(
                ("numrad", "numurbl"), x, f"{kind.lower()} albedo of {part.lower()}", "unitless"
            )
            v[f"ALB_{part}_{kind}"] = (dims, data, attrs | note)
    for name, (value, units) in URBAN_LAYERS.items():
        dims, data, attrs = var(("nlevurb", "numurbl"), np.full((NLEVURB, NUMURBL, n), value), name, units)
        v[name] = (dims, data, attrs | note)


def write_surfdata(
    path: str | os.PathLike[str],
    fields: dict[str, np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
    t_ann_c: np.ndarray,
    precip_mm: np.ndarray,
) -> bool:
    """Write the surface data; returns whether it has a crop landunit (create_crop_landunit)."""
    variables, dims, crop = build_surfdata(fields, lat, lon, t_ann_c, precip_mm)
    gatts = {
        "title": "ELM surface data of an elmai site case (1850, no crop model, CNP)",
        "source": "elmai elm case: testbed surface fields and documented constants (elmai.apps.elm_runner)",
        "Conventions": "ELM surfdata names and dimensions (surfrdMod.F90 and readers listed there)",
    }
    write_netcdf(path, variables, gatts, format="NETCDF3_64BIT_OFFSET", dims=dims)
    return crop
