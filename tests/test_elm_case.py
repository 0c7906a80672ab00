"""`elmai elm case`: the inputs of an ELM site case (ICB1850CNPRDCTCBC, CPL_BYPASS) from a tiny
testbed world, checked with netCDF4-python against what ELM's readers require. Every
expectation below cites the E3SM source it comes from (components/elm/src unless noted)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.cli import elm_commands
from elmai.errors import ElmaiError, InputNotFoundError, InvalidArgumentError, ParameterFileError
from tests.conftest import SHARED_DATA

NSITES = 2
CYCLE_STEPS = 20 * 365 * 8  # lnd_import: timelen_spinup = 20 gswp3 years of 3-hourly steps


def elmai(*argv: str) -> int:
    """Run `elmai elm ...` through elm_commands.register (the group is wired into the
    elmai parser elsewhere); ElmaiErrors propagate."""
    parser = argparse.ArgumentParser(prog="elmai")
    elm_commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["elm", *argv])
    return int(args.func(args) or 0)


def _stand_in_params(path: Path) -> Path:
    """A minimal file pftconrd's first checks accept, when ../shared/data has no real one."""
    names = ["not_vegetated"] + [f"pft{k}" for k in range(1, 17)]
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("pft", 17)
        ds.createDimension("string_length", 40)
        v = ds.createVariable("pftname", "S1", ("pft", "string_length"))
        v[:] = np.array([list(n.ljust(40)) for n in names], dtype="S1")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from elmai.apps.testbed.run import run_testbed

    root = tmp_path_factory.mktemp("elm_world")
    run_testbed(root, resolution=10.0, years=1, forcing_years=2, progress=False)
    return root


@pytest.fixture(scope="module")
def case(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("elm_case") / "case_inputs"
    real = SHARED_DATA / "elm" / "clm_params_c211124vpft.nc"
    params = real if real.exists() else _stand_in_params(out.parent / "params.nc")
    assert elmai("case", "--world", str(world), "--sites", str(NSITES), "--out", str(out),
                 "--paramfile", str(params)) == 0  # fmt: skip
    return out


def manifest(case: Path) -> dict:
    return json.loads((case / "inputs.json").read_text())


def path_of(case: Path, role: str) -> Path:
    return case / next(e["file"] for e in manifest(case)["files"] if e["role"] == role)


def read(path: Path, name: str) -> np.ndarray:
    with netCDF4.Dataset(path) as ds:
        v = ds.variables[name]
        v.set_auto_maskandscale(False)
        return np.asarray(v[...])


# short names for the table below
DOM, SURF, CNP = "domain", "surface data", "soil-order CNP"
G, S2 = ("nj", "ni"), ("lsmlat", "lsmlon")
SOIL, URB, T3 = ("nlevsoi", *S2), ("numurbl", *S2), ("time", "lat", "lon")
SURFRD, CNSTATE, BYPASS = (
    "main/surfrdMod.F90",
    "data_types/CNStateType.F90 initCold",
    "cpl/lnd_import_export.F90",
)
URBAN = "biogeophys/UrbanParamsType.F90 UrbanInput, CheckUrban (> 0)"
SOILORD = "main/soilorder_varcon.F90 soilorder_conrd"
SNICAR = "biogeophys/SnowSnicarMod.F90 SnowOptics_init"
SNOWAGE = "biogeophys/SnowSnicarMod.F90 SnowAge_init"

# (file role, variable, dims, dtype kind, units or None, min, max, source of the requirement)
EXPECTATIONS = [
    (DOM, "xc", G, "f", "degrees_east", 0, 360, f"{SURFRD} surfrd_get_grid: xc -> lonc"),
    (DOM, "yc", G, "f", "degrees_north", -90, 90, f"{SURFRD} surfrd_get_grid: yc -> latc"),
    (DOM, "xv", (*G, "nv"), "f", "degrees_east", -10, 370, f"{SURFRD} surfrd_get_grid: nv corners"),
    (DOM, "yv", (*G, "nv"), "f", "degrees_north", -90, 90, f"{SURFRD} surfrd_get_grid: nv corners"),
    (DOM, "mask", G, "i", None, 1, 1, f"{SURFRD} surfrd_get_globmask: 'mask'"),
    (DOM, "frac", G, "f", None, 0, 1, f"{SURFRD} surfrd_get_grid: 'frac'"),
    (DOM, "area", G, "f", "radians^2", 1e-8, 4 * np.pi, f"{SURFRD} surfrd_get_grid: area * re**2 -> km2"),
    (SURF, "PFTDATA_MASK", S2, "i", None, 1, 1, f"{SURFRD} surfrd_get_data"),
    (SURF, "LONGXY", S2, "f", None, 0, 360, f"{SURFRD} surfrd_get_data"),
    (SURF, "LATIXY", S2, "f", None, -90, 90, f"{SURFRD} surfrd_get_data"),
    (SURF, "PCT_WETLAND", S2, "f", None, 0, 100, f"{SURFRD} surfrd_special"),
    (SURF, "PCT_LAKE", S2, "f", None, 0, 100, f"{SURFRD} surfrd_special"),
    (SURF, "PCT_GLACIER", S2, "f", None, 0, 100, f"{SURFRD} surfrd_special"),
    (SURF, "PCT_URBAN", URB, "f", None, 0, 100, f"{SURFRD} surfrd_special"),
    (SURF, "URBAN_REGION_ID", S2, "i", None, 1, 1e9, "main/subgridMod.F90 urban_valid"),
    (SURF, "PCT_NATVEG", S2, "f", None, 0, 100, f"{SURFRD} surfrd_veg_all"),
    (SURF, "PCT_CROP", S2, "f", None, 0, 0, f"{SURFRD} surfrd_veg_all: must be 0 when cft_size = 0"),
    (SURF, "PCT_NAT_PFT", ("natpft", *S2), "f", None, 0, 100, f"{SURFRD} surfrd_pftformat"),
    (SURF, "PCT_SAND", SOIL, "f", None, 0, 100, "biogeophys/SoilStateType.F90 InitCold"),
    (SURF, "PCT_CLAY", SOIL, "f", None, 0, 100, "biogeophys/SoilStateType.F90 InitCold"),
    (SURF, "ORGANIC", SOIL, "f", "kg/m3", 0, 130, "main/organicFileMod.F90 organicrd (organic_max 130)"),
    (SURF, "FMAX", S2, "f", None, 0, 1, "biogeophys/SoilStateType.F90 InitCold"),
    (SURF, "SLOPE", S2, "f", "degrees", 0, 90, "main/initVerticalMod.F90 initVertical"),
    (SURF, "STD_ELEV", S2, "f", "m", 0, 5000, "main/initVerticalMod.F90 initVertical"),
    (SURF, "SOIL_COLOR", S2, "i", None, 1, 20, "biogeophys/SurfaceAlbedoType.F90 SurfaceAlbedoInitTimeConst"),
    (SURF, "mxsoil_color", (), "i", None, 20, 20, "biogeophys/SurfaceAlbedoType.F90 (8 when absent)"),
    (SURF, "gdp", S2, "f", None, 0, 1e6, CNSTATE),
    (SURF, "peatf", S2, "f", None, 0, 1, CNSTATE),
    (SURF, "abm", S2, "i", None, 0, 12, CNSTATE),
    (SURF, "SOIL_ORDER", S2, "i", None, 0, 15, f"{CNSTATE}; {SOILORD} (16 orders)"),
    *[(SURF, k, S2, "f", "gP/m2", 0, 1e4, CNSTATE)
      for k in ("LABILE_P", "SECONDARY_P", "OCCLUDED_P", "APATITE_P")],
    *[(SURF, f"EF1_{k}", S2, "f", None, 0, 1e5, "biogeochem/VOCEmissionMod.F90 InitCold")
      for k in ("BTR", "FET", "FDT", "SHR", "GRS", "CRP")],
    *[(SURF, k, URB, "f", None, 1e-6, 1e7, URBAN)
      for k in ("CANYON_HWR", "WTLUNIT_ROOF", "WTROAD_PERV", "EM_ROOF", "EM_IMPROAD", "EM_PERROAD",
                "EM_WALL", "HT_ROOF", "WIND_HGT_CANYON", "THICK_WALL", "THICK_ROOF", "T_BUILDING_MIN",
                "T_BUILDING_MAX")],
    (SURF, "NLEV_IMPROAD", URB, "i", None, 1, 5, URBAN),
    *[(SURF, f"ALB_{p}_{k}", ("numrad", *URB), "f", None, 1e-6, 1, URBAN)
      for p in ("ROOF", "WALL", "IMPROAD", "PERROAD") for k in ("DIR", "DIF")],
    *[(SURF, k, ("nlevurb", *URB), "f", None, 1e-6, 1e8, URBAN)
      for k in ("TK_WALL", "TK_ROOF", "TK_IMPROAD", "CV_WALL", "CV_ROOF", "CV_IMPROAD")],
    ("co2", "CO2", T3, "f", "ppmv", 284.7, 284.7, f"{BYPASS}: co2_input(1,1,:) (use_c13: C13O2)"),
    ("co2", "C13O2", T3, "f", "ppmv", 3.0, 3.3, f"{BYPASS}: c13o2_input(1,1,:)"),
    ("ndep", "NDEP_year", T3, "f", "g(N)/m2/yr", 0.5, 0.5, f"main/ndepStreamMod.F90 ndep_init; {BYPASS}"),
    ("ndep", "lat", ("lat",), "f", "degrees_north", -90, 90, f"{BYPASS}: smap2_lat(96)"),
    ("ndep", "lon", ("lon",), "f", "degrees_east", 0, 360, f"{BYPASS}: smap2_lon(144)"),
    ("pdep", "PDEP_year", T3, "f", "g(P)/m2/yr", 5e-4, 5e-4, "main/pdepStreamMod.F90 pdep_init"),
    *[("aerosol", k, T3, "f", "kg/m2/s", 0, 0, f"{BYPASS}: aerovars")
      for k in ("BCDEPWET", "BCPHODRY", "BCPHIDRY", "OCDEPWET", "OCPHODRY", "OCPHIDRY", "DSTX01DD",
                "DSTX02DD", "DSTX03DD", "DSTX04DD", "DSTX01WD", "DSTX02WD", "DSTX03WD", "DSTX04WD")],
    ("popdens", "hdm", T3, "f", None, 0, 0, f"{BYPASS}: hdm1(720,360,1)"),
    ("lightning", "lnfm", T3, "f", None, 0, 0, f"{BYPASS}: lnfm_all(192,94,2920)"),
    (CNP, "smax", ("soilorder",), "f", "gP/m3", 1, 1e4, SOILORD),
    *[(CNP, k, ("soilorder",), "f", None, 0, 1, SOILORD)
      for k in ("r_weather", "r_adsorp", "r_desorp", "r_occlude", "k_s1_biochem", "k_s2_biochem",
                "k_s3_biochem", "k_s4_biochem", "ks_sorption", "r_mort_soilorder")],
    # SnowOptics_init: Fortran (idx_Mie_snw_mx=1471, numrad_snw=5) is the file's (bnd, rds)
    *[("snow optics", f"{p}_ice_{k}", ("bnd", "rds"), "f", None, lo, hi, SNICAR)
      for k in ("drc", "dfs")
      for p, lo, hi in (("ss_alb", 0.5, 1), ("asm_prm", 0.5, 1), ("ext_cff_mss", 1, 1e3))],
    ("snow optics", "flx_wgt_dir", ("bnd", "sza", "atm"), "f", None, 0, 1, f"{SNICAR}: flx_wgt_dir(6,90,5)"),
    ("snow optics", "flx_wgt_dif", ("bnd", "atm"), "f", None, 0, 1, f"{SNICAR}: flx_wgt_dif(6,5)"),
    *[("snow optics", f"{p}_{a}", ("bnd",), "f", None, 0, 1e5, f"{SNICAR} (bulk aerosol)")
      for a in ("bcphil", "bcphob", "ocphil", "ocphob", "dust01", "dust02", "dust03", "dust04")
      for p in ("ss_alb", "asm_prm", "ext_cff_mss")],
    *[("snow optics", f"{p}_bc_mam", ("ncl_rds", "bnd"), "f", None, 0, 1e5, f"{SNICAR} (MODAL_AER: (5, 10))")
      for p in ("ss_alb", "asm_prm", "ext_cff_mss")],
    ("snow optics", "bcint_enh_mam", ("ice_rds", "ncl_rds", "bnd"), "f", None, 1, 3,
     f"{SNICAR}: bcenh(5,10,8)"),
    *[("snow aging", k, ("T", "dTdz", "rhos"), "f", None, 1e-6, 1e4, f"{SNOWAGE}: (rhos 8, Tgrd 31, T 11)")
      for k in ("tau", "kappa", "drdsdt0")],
]  # fmt: skip

# dimension sizes the readers require: (file role, dimension, size or None for NSITES, source)
DIMENSIONS = [
    ("domain", "ni", None, "main/ncdio_pio.F90.in ncd_inqfdims: ni x nj gridcells"),
    ("domain", "nj", 1, "main/ncdio_pio.F90.in ncd_inqfdims: nj = 1 -> 1-D grid"),
    ("domain", "nv", 4, "main/surfrdMod.F90 surfrd_get_grid: nv corners"),
    ("surface data", "lsmlon", None, "main/ncdio_pio.F90.in ncd_inqfdims (matches the domain)"),
    ("surface data", "lsmlat", 1, "main/ncdio_pio.F90.in ncd_inqfdims"),
    ("surface data", "lsmpft", 17, "main/surfrdMod.F90 surfrd_veg_all: check_dim(lsmpft, numpft+1)"),
    ("surface data", "natpft", 17, "main/surfrdMod.F90 surfrd_pftformat: check_dim(natpft, surfpft_size)"),
    ("surface data", "nlevsoi", 10, "main/initVerticalMod.F90, biogeophys/SoilStateType.F90: nlevsoifl"),
    ("surface data", "numurbl", 3, "biogeophys/UrbanParamsType.F90 UrbanInput: numurbl"),
    ("surface data", "nlevurb", 5, "biogeophys/UrbanParamsType.F90 UrbanInput: nlevurb"),
    ("surface data", "numrad", 2, "biogeophys/UrbanParamsType.F90 UrbanInput: numrad"),
    ("co2", "lat", 1, "cpl/lnd_import_export.F90: co2_input(1,1,3000)"),
    ("co2", "lon", 1, "cpl/lnd_import_export.F90: co2_input(1,1,3000)"),
    ("ndep", "lat", 96, "cpl/lnd_import_export.F90: ndep1(144,96,1)"),
    ("ndep", "lon", 144, "cpl/lnd_import_export.F90: ndep1(144,96,1)"),
    ("pdep", "lat", 96, "main/pdepStreamMod.F90 (shr_strdata, any grid; the 1.9x2.5 of the real file)"),
    ("aerosol", "lat", 96, "cpl/lnd_import_export.F90: aerodata(14,144,96,14)"),
    ("aerosol", "lon", 144, "cpl/lnd_import_export.F90: aerodata(14,144,96,14)"),
    ("popdens", "lat", 360, "cpl/lnd_import_export.F90: hdm1(720,360,1), smap05_lat(360)"),
    ("popdens", "lon", 720, "cpl/lnd_import_export.F90: smap05_lon(720)"),
    ("lightning", "time", 2920, "cpl/lnd_import_export.F90: lnfm_all(192,94,2920)"),
    ("lightning", "lat", 94, "cpl/lnd_import_export.F90: smapt62_lat(94)"),
    ("lightning", "lon", 192, "cpl/lnd_import_export.F90: smapt62_lon(192)"),
    (
        "soil-order CNP",
        "soilorder",
        16,
        "main/soilorder_varcon.F90: 0:nsoilorder, nsoilorder = 15 (elm_varpar.F90)",
    ),
    ("snow optics", "rds", 1471, "biogeophys/SnowSnicarMod.F90: idx_Mie_snw_mx = 1471 (30-1500 um)"),
    ("snow optics", "bnd", 5, "biogeophys/SnowSnicarMod.F90: numrad_snw = 5"),
    ("snow optics", "sza", 90, "biogeophys/SnowSnicarMod.F90: flx_wgt_dir(6, 90, numrad_snw)"),
    ("snow optics", "atm", 6, "biogeophys/SnowSnicarMod.F90: six atmospheric types"),
    ("snow optics", "ncl_rds", 10, "biogeophys/SnowSnicarMod.F90: idx_bc_nclrds_max = 10"),
    ("snow optics", "ice_rds", 8, "biogeophys/SnowSnicarMod.F90: idx_bcint_icerds_max = 8"),
    ("snow aging", "T", 11, "biogeophys/SnowSnicarMod.F90: idx_T_max = 11"),
    ("snow aging", "dTdz", 31, "biogeophys/SnowSnicarMod.F90: idx_Tgrd_max = 31"),
    ("snow aging", "rhos", 8, "biogeophys/SnowSnicarMod.F90: idx_rhos_max = 8"),
]

# minimum record counts for model years before 1850: (file role, records, source)
RECORDS = [
    (
        "co2",
        1850 - 1764 + 1,
        "cpl/lnd_import_export.F90: nindex(1) = max(yr,1850) - 1764, +1 in the 2nd half year",
    ),
    ("ndep", 3, "cpl/lnd_import_export.F90: nindex = max(yr-1848, 2) and nindex + 1"),
    ("aerosol", 25, "cpl/lnd_import_export.F90: starti(3) = 12, counti(3) = 14"),
    ("popdens", 2, "cpl/lnd_import_export.F90: nindex(1:2) = 2 for yr < 1850"),
]

# namelist names and groups (components/elm/bld/namelist_files/namelist_definition.xml)
NAMELIST_GROUPS = {
    "fsurdat": "elm_inparm", "paramfile": "elm_inparm", "fsoilordercon": "elm_inparm",
    "fsnowoptics": "elm_inparm", "fsnowaging": "elm_inparm",
    "metdata_type": "elm_inparm", "metdata_bypass": "elm_inparm", "co2_file": "elm_inparm",
    "aero_file": "elm_inparm", "use_nofire": "elm_inparm",
    "suplnitro": "elm_inparm", "suplphos": "elm_inparm",
    "create_crop_landunit": "elm_inparm", "nyears_ad_carbon_only": "elm_inparm",
    "spinup_mortality_factor": "elm_inparm", "finidat": "elm_inparm",
    "stream_fldfilename_ndep": "ndepdyn_nml", "stream_year_first_ndep": "ndepdyn_nml",
    "stream_year_last_ndep": "ndepdyn_nml", "model_year_align_ndep": "ndepdyn_nml",
    "stream_fldfilename_pdep": "pdepdyn_nml", "stream_year_first_pdep": "pdepdyn_nml",
    "stream_year_last_pdep": "pdepdyn_nml", "model_year_align_pdep": "pdepdyn_nml",
    "stream_fldfilename_popdens": "popd_streams", "stream_fldfilename_lightng": "light_streams",
}  # fmt: skip

# cpl_bypass meteorology: variable, plausible decoded range (lnd_import bounds TBOT <= 323 K, PSRF >= 4e4 Pa)
MET_RANGES = {"TBOT": (180.0, 330.0), "PSRF": (4e4, 1.1e5), "QBOT": (0.0, 0.05), "FSDS": (0.0, 1400.0),
              "PRECTmms": (0.0, 0.05), "WIND": (0.0, 40.0), "FLDS": (50.0, 600.0)}  # fmt: skip


@pytest.mark.parametrize("role,name,dims,kind,units,lo,hi,source", EXPECTATIONS,
                         ids=[f"{e[0]}:{e[1]}" for e in EXPECTATIONS])  # fmt: skip
def test_variables_as_elm_reads_them(case: Path, role, name, dims, kind, units, lo, hi, source) -> None:
    path = path_of(case, role)
    with netCDF4.Dataset(path) as ds:
        assert name in ds.variables, f"{path.name} lacks {name} ({source})"
        v = ds.variables[name]
        assert v.dimensions == dims, f"{name}: {v.dimensions} != {dims} ({source})"
        assert v.dtype.kind == kind, f"{name}: dtype {v.dtype} ({source})"
        if units is not None:
            assert getattr(v, "units", None) == units, f"{name}: units ({source})"
        v.set_auto_maskandscale(False)
        x = np.asarray(v[...], np.float64)
    assert np.all(np.isfinite(x)) and x.min() >= lo - 1e-9 and x.max() <= hi + 1e-9, (
        f"{name} in [{lo}, {hi}] ({source})"
    )


@pytest.mark.parametrize("role,dim,size,source", DIMENSIONS, ids=[f"{d[0]}:{d[1]}" for d in DIMENSIONS])
def test_dimensions(case: Path, role: str, dim: str, size: int | None, source: str) -> None:
    with netCDF4.Dataset(path_of(case, role)) as ds:
        assert dim in ds.dimensions, source
        assert len(ds.dimensions[dim]) == (NSITES if size is None else size), source


@pytest.mark.parametrize("role,records,source", RECORDS, ids=[r[0] for r in RECORDS])
def test_records_elm_indexes(case: Path, role: str, records: int, source: str) -> None:
    with netCDF4.Dataset(path_of(case, role)) as ds:
        assert len(ds.dimensions["time"]) >= records, source
    if role == "co2":  # record (1850 - 1764), 1-based, is 1850: ELM's 1850 value
        assert read(path_of(case, role), "CO2")[1850 - 1765, 0, 0] == pytest.approx(284.7)


def test_surface_matches_domain_and_weights_sum_to_one(case: Path) -> None:
    dom, surf = path_of(case, "domain"), path_of(case, "surface data")
    # surfrd_get_data: |lon - LONGXY| and |lat - LATIXY| <= 0.001
    assert np.abs(read(dom, "xc").ravel() - read(surf, "LONGXY").ravel()).max() <= 1e-3
    assert np.abs(read(dom, "yc").ravel() - read(surf, "LATIXY").ravel()).max() <= 1e-3
    # surfrdUtilsMod.F90 check_sums_equal_1_3d: |sum(pct / 100) - 1| <= 1e-14, landunits in
    # landunit_varcon order (soil, crop, glacier, lake, wetland, urban x3) and PFTs
    order = [read(surf, k)[0] for k in ("PCT_NATVEG", "PCT_CROP", "PCT_GLACIER", "PCT_LAKE", "PCT_WETLAND")]
    order += list(read(surf, "PCT_URBAN")[:, 0])
    for weights in (np.stack(order), read(surf, "PCT_NAT_PFT")[:, 0]):
        total = np.zeros(weights.shape[1:])
        for w in weights / 100.0:
            total = total + w
        assert np.abs(total - 1.0).max() <= 1e-14
    # SoilStateType.F90 InitCold: sand + clay > 0 at every level
    assert np.all(read(surf, "PCT_SAND") + read(surf, "PCT_CLAY") > 0)
    # surfrd_pftformat: no 'cft' dimension and no NFERT/PFERT without a crop landunit
    with netCDF4.Dataset(surf) as ds:
        assert "cft" not in ds.dimensions and "NFERT" not in ds.variables and "topounit" not in ds.dimensions


def test_cpl_bypass_forcing(case: Path, world: Path) -> None:
    from elmai.apps.elm_runner.bypass_forcing import model_year_offset

    folder = case / "cpl_bypass"
    zones = [ln.split() for ln in (folder / "zone_mappings.txt").read_text().splitlines()]
    dom = path_of(case, "domain")
    assert len(zones) == NSITES  # lnd_import: lon lat zone index; nearest to (lonc, latc)
    np.testing.assert_allclose([float(z[0]) for z in zones], read(dom, "xc").ravel(), atol=1e-4)
    np.testing.assert_allclose([float(z[1]) for z in zones], read(dom, "yc").ravel(), atol=1e-4)
    assert [(int(z[2]), int(z[3])) for z in zones] == [(1, k + 1) for k in range(NSITES)]
    for var, (lo, hi) in MET_RANGES.items():
        # lnd_import builds the name 'GSWP3_' // VAR // '_1901-2014_z' // zone for metsource 4
        path = folder / f"GSWP3_{var}_1901-2014_z01.nc"
        with netCDF4.Dataset(path) as ds:
            ds.set_auto_maskandscale(False)
            v = ds.variables[var]
            assert v.dimensions == ("gridcell", "DTIME") and v.dtype == np.int16
            sf, ao = float(v.scale_factor), float(v.add_offset)  # lnd_import reads both
            x = np.asarray(v[...], np.float64) * sf + ao
            dtime = np.asarray(ds.variables["DTIME"][:2])
            assert len(ds.dimensions["DTIME"]) == CYCLE_STEPS
        assert (dtime[1] - dtime[0]) * 24.0 == pytest.approx(3.0)  # timeres, hours
        # within one packing step (lnd_import clips radiation and precipitation at 0 itself)
        assert x.min() >= lo - sf and x.max() <= hi, var
    # sunshine in UTC: lnd_import weights FSDS by the zenith angle at (lonc, latc), so the
    # brightest 3-hour step of the day must be the one holding local noon
    with netCDF4.Dataset(folder / "GSWP3_FSDS_1901-2014_z01.nc") as ds:
        fsds = np.asarray(ds.variables["FSDS"][...], np.float64)  # (gridcell, DTIME)
    for k, lon in enumerate(read(dom, "xc").ravel()):
        peak_utc = (np.argmax(fsds[k].reshape(-1, 8).mean(axis=0)) + 0.5) * 3.0
        noon_utc = (12.0 - ((lon + 180.0) % 360.0 - 180.0) / 15.0) % 24.0
        assert min(abs(peak_utc - noon_utc), 24.0 - abs(peak_utc - noon_utc)) <= 3.0, lon
    # cycle year k holds the testbed's year (k - 9) mod n: model year 1 reads cycle year 9
    assert model_year_offset() == 9
    tb = read(next(world.glob("*.datm.forcing.nc")), "TBOT")  # (time, lat, lon) monthly
    site = manifest(case)["sites"][0]
    jan_year0 = tb[0, site["testbed_j"], site["testbed_i"]]
    start = 9 * 365 * 8
    with netCDF4.Dataset(folder / "GSWP3_TBOT_1901-2014_z01.nc") as ds:  # auto-scaled by netCDF4
        jan = np.asarray(ds.variables["TBOT"][0, start : start + 31 * 8], np.float64).mean()
    assert jan == pytest.approx(jan_year0, abs=0.05)


def test_parameter_files(case: Path) -> None:
    from elmai.apps.elm_runner.surfdata import SOIL_ORDERS

    with netCDF4.Dataset(path_of(case, "parameters")) as ds:  # pftconrd: 'pft' >= numpft + 1
        assert len(ds.dimensions["pft"]) >= 17 and "pftname" in ds.variables
    with netCDF4.Dataset(path_of(case, "soil-order CNP")) as ds:  # soilorder_conrd's expected_soilnames
        ds.set_auto_chartostring(False)
        names = [b"".join(r).decode().strip() for r in np.asarray(ds.variables["soilordername"][...])]
        assert ds.variables["soilordername"].dimensions == ("soilorder", "string_length")
    assert names == list(SOIL_ORDERS) and names[1] == "Andisols" and names[15] == "iceglacier"


def test_namelist_and_setup_script(case: Path) -> None:
    text = (case / "user_nl_elm").read_text()
    settings = dict(
        (m.group(1), m.group(2).strip()) for m in re.finditer(r"^\s*(\w+)\s*=\s*(.+)$", text, flags=re.M)
    )
    unknown = sorted(set(settings) - set(NAMELIST_GROUPS))
    assert not unknown, f"not in namelist_definition.xml: {unknown}"
    for name, value in settings.items():  # every file the namelist names exists
        if value.startswith("'/"):
            assert Path(value.strip("'")).exists(), name
    assert settings["metdata_type"] == "'gswp3'" and settings["use_nofire"] == ".true."
    assert settings["stream_year_first_ndep"] == "1850" and settings["stream_year_first_pdep"] == "1850"
    script = (case / "case_setup.sh").read_text()
    for line in ("./xmlchange ELM_USRDAT_NAME=2x1pt_elmai", "./xmlchange MOSART_MODE=NULL",
                 "./xmlchange RUN_STARTDATE=0001-01-01", "./xmlchange ELM_FORCE_COLDSTART=on", "./case.setup",
                 "-DCPL_BYPASS", "STOP_N=20"):  # fmt: skip
        assert line in script, line
    assert subprocess.run(["bash", "-n", str(case / "case_setup.sh")]).returncode == 0
    m = manifest(case)
    assert m["compset"] == "ICB1850CNPRDCTCBC" and len(m["sites"]) == NSITES
    for entry in m["files"]:
        assert (case / entry["file"]).exists() and entry["read_by"]


def test_points_select_nearest_land_cells(world: Path, tmp_path: Path) -> None:
    from elmai.apps.elm_runner.sites import read_points, select_points
    from elmai.apps.elm_runner.world import find_run, land_cells

    run = find_run(world)
    cells = land_cells(run)
    pts = tmp_path / "points.txt"
    west = (cells.lon[0] + 180.0) % 360.0 - 180.0  # the same longitude in -180..180
    pts.write_text(f"# lat,lon\n{cells.lat[0] + 1.0},{west + 1.0}\n{cells.lat[-1]} {cells.lon[-1]}\n")
    sites = select_points(run, *read_points(pts))
    assert list(zip(sites.j, sites.i, strict=True)) == [(cells.j[0], cells.i[0]), (cells.j[-1], cells.i[-1])]
    pts.write_text(f"{cells.lat[0]},{cells.lon[0]}\n{cells.lat[0] + 0.5},{cells.lon[0]}\n")
    with pytest.raises(InvalidArgumentError, match="same testbed gridcell"):
        select_points(run, *read_points(pts))
    pts.write_text("10,abc\n")
    with pytest.raises(InvalidArgumentError, match="line 1"):
        read_points(pts)


def test_sites_are_spread_and_deterministic() -> None:
    from elmai.apps.elm_runner.sites import spread_over_climates

    rng = np.random.default_rng(0)
    t, p = rng.uniform(-20, 30, 200), rng.uniform(50, 3000, 200)
    a, b = spread_over_climates(t, p, 5), spread_over_climates(t, p, 5)
    assert list(a) == list(b) and len(set(a)) == 5
    assert t[a].max() - t[a].min() > 30  # extremes of the climate space are reached


def test_crop_landunit_layout() -> None:
    # surfrd_cftformat with create_crop_landunit and no crop model: natpft = 15, cft = 2
    from elmai.apps.elm_runner.surfdata import build_surfdata

    n = 2
    fields = {"AREA": np.ones(n), "LANDFRAC_PFT": np.ones(n), "PCT_CROP": np.array([10.0, 0.0]),
              "PCT_LAKE": np.zeros(n), "PCT_WETLAND": np.zeros(n), "PCT_GLACIER": np.zeros(n),
              "PCT_URBAN": np.zeros((3, n)), "PCT_NATVEG": np.array([90.0, 100.0]),
              "PCT_NAT_PFT": np.vstack([np.full((15, n), 100 / 15), np.zeros((2, n))]),
              "PCT_CFT": np.array([[70.0, 50.0], [30.0, 50.0]]), "cft": np.array([15, 16]),
              "PCT_SAND": np.full((10, n), 40.0), "PCT_CLAY": np.full((10, n), 20.0),
              "ORGANIC": np.ones((10, n))}  # fmt: skip
    v, dims, crop = build_surfdata(
        fields, np.array([0.0, 10.0]), np.array([5.0, 15.0]), np.zeros(n), np.full(n, 900.0)
    )
    assert crop and dims["natpft"] == 15 and dims["cft"] == 2 and dims["lsmpft"] == 17
    assert v["PCT_CROP"][1][0, 0] == 10.0 and v["PCT_CFT"][1].shape == (2, 1, n)


def test_build_and_run_say_what_is_missing(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ELMAI_E3SM", raising=False)
    with pytest.raises(InputNotFoundError, match="ELMAI_E3SM"):
        elmai("build", "--out", str(case), "--dry-run")
    empty = tmp_path / "E3SM"
    empty.mkdir()
    with pytest.raises(
        ElmaiError, match=r"components/elm/src.*empty submodule\(s\) cime, externals/scorpio, externals/mct"
    ):
        elmai("build", "--e3sm", str(empty), "--out", str(case), "--dry-run")
    with pytest.raises(InputNotFoundError, match="elmai elm build"):
        elmai("run", str(case), "--years", "1")
    with pytest.raises(InputNotFoundError, match="inputs.json"):
        elmai("build", "--e3sm", str(empty), "--out", str(tmp_path), "--dry-run")


def test_missing_inputs_are_named_before_anything_is_written(world: Path, tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="surfdata_"):
        elmai("case", "--world", str(tmp_path), "--sites", "1", "--out", str(tmp_path / "o"))
    # the world ran with elmai's built-in parameters: the real file must be given
    with pytest.raises(ParameterFileError, match="--paramfile"):
        elmai("case", "--world", str(world), "--sites", "1", "--out", str(tmp_path / "o"))
    params = _stand_in_params(tmp_path / "p.nc")
    with pytest.raises(InputNotFoundError, match="--cnp-params"):
        elmai("case", "--world", str(world), "--sites", "1", "--out", str(tmp_path / "o"),
              "--paramfile", str(params), "--cnp-params", str(tmp_path / "no.nc"))  # fmt: skip
    assert not (tmp_path / "o").exists()


E3SM = os.environ.get("ELMAI_E3SM")


@pytest.mark.skipif(
    not E3SM, reason="set ELMAI_E3SM to an E3SM checkout to check the source and the build tools"
)
def test_with_e3sm_checkout(case: Path) -> None:
    from elmai.apps.elm_runner.e3sm import RunError, build

    # every reading routine the manifest names exists in that source
    for entry in manifest(case)["files"]:
        for ref in entry["read_by"]:
            path, routine = ref.split(":")
            text = (Path(E3SM) / path).read_text(errors="replace")
            assert re.search(rf"subroutine\s+{routine}\b", text, flags=re.I), ref
    try:
        steps = build(E3SM, case, dry_run=True)
    except RunError as e:  # a checkout without compilers or submodules: the message lists them
        assert str(e).startswith("cannot build ELM, missing:")
    else:
        assert [s.name for s in steps] == ["create_newcase", "case_setup", "case_build"]


@pytest.mark.skipif(not E3SM, reason="set ELMAI_E3SM to an E3SM checkout (submodules too) to run ELM")
def test_elm_builds_and_runs_from_an_ai_restart(world: Path, tmp_path: Path) -> None:
    """The three commands end to end on one site: build, a 2-year cold start, `elmai spinup`
    on ELM's own restart, then ELM from the AI restart with its balance checks (a failure or
    endrun in ELM's log raises). About 5 minutes on 2 cores."""
    import sys

    from elmai.apps.elm_runner.e3sm import run

    real = SHARED_DATA / "elm" / "clm_params_c211124vpft.nc"
    if not real.exists():
        pytest.skip("ELM needs the real parameter file from ../shared/data/elm")
    out = tmp_path / "s"
    site = ["--sites", "1", "--out", str(out), "--paramfile", str(real)]
    assert elmai("case", "--world", str(world), *site) == 0
    assert elmai("build", "--e3sm", E3SM, "--out", str(out)) == 0
    cold = run(out, 2, mode="native", label="cold")
    assert not isinstance(cold, list) and cold.problems == [] and len(cold.history) == 24
    history = [str(f) for f in sorted(cold.folder.glob("*.h0.*"))]
    ai = tmp_path / "ai.nc"
    args = ["spinup", "--restart", str(cold.folder / cold.restarts[-1]), "--out", str(ai), "--force",
            "--surfdata", str(next(out.glob("surfdata_*.nc"))), "--forcing", str(out / "cpl_bypass"),
            "--params", str(out / "clm_params.nc"), "--history", *history]  # fmt: skip
    cli = str(Path(sys.executable).with_name("elmai"))
    proc = subprocess.run([cli, *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warm = run(out, 1, restart=ai, label="from_ai")
    assert not isinstance(warm, list) and warm.problems == []
    assert warm.restarts == ["case.elm.r.0004-01-01-00000.nc"]
    # the Kougarok restart has one gridcell too, but another subgrid: ELM itself stops, and
    # its endrun becomes an elmai error naming ELM's routine
    with pytest.raises(ElmaiError, match=r"ENDRUN.*subgridRestMod"):
        run(out, 1, restart=SHARED_DATA / "elm" / "site_fullrun_docker_tr_demo_fini.nc", label="foreign")


def test_ntasks_before_case_setup_and_the_bypass_macro_guard(tmp_path: Path) -> None:
    """--ntasks reaches NTASKS before case.setup (the script reads ELMAI_NTASKS); a case
    whose cmake macros lost -DCPL_BYPASS (./case.setup --reset drops it) is refused by name
    with the fix, and accepted once the line is back."""
    from elmai.apps.elm_runner.e3sm import RunError, build_steps, check_bypass_macros
    from elmai.apps.elm_runner.namelists import setup_script

    script = setup_script(inputs=tmp_path, domain=tmp_path / "d.nc", usrdat_name="x", years=2, ad_spinup=0)
    assert script.index('NTASKS="${ELMAI_NTASKS:-1}"') < script.index("\n./case.setup\n")
    steps = build_steps(tmp_path / "E3SM", tmp_path, None, "openmpi", ntasks=2)
    assert steps[1].argv[:2] == ["env", "ELMAI_NTASKS=2"]
    case = tmp_path / "case"
    (case / "cmake_macros").mkdir(parents=True)
    macros = case / "cmake_macros" / "universal.cmake"
    macros.write_text('string(APPEND CPPDEFS " -DLINUX")\n')  # what case.setup --reset leaves
    with pytest.raises(RunError, match=r"no -DCPL_BYPASS in cmake_macros/universal.cmake.*case.build"):
        check_bypass_macros(case)
    macros.write_text(macros.read_text() + 'string(APPEND CPPDEFS " -DCPL_BYPASS")\n')
    check_bypass_macros(case)
