"""ELM's vocabulary: PFT and landunit indices, pool names, fill values (from the E3SM source)."""

from __future__ import annotations

from elmai.io.elm_structure import CASCADE, TISSUES

# ELM double and integer fill values (spval, ispval)
SPVAL = 1.0e36
ISPVAL = -9999

NLEVGRND = 15
NLEVDECOMP = 10  # BGC uses the top 10 ground levels
# ELM accumulates scalaravg_col (the AD spin-up's mean decomposition scalar, depth scalar
# included) from level 4 only and stores that one value on every level (DecompCascadeCNMod)
SCALARAVG_LEVEL = 3  # 0-based
NLEVSNO = 5

# The 17 natural PFTs (index = pfts1d_itypveg; 0 = bare ground)
NATPFT_NAMES: tuple[str, ...] = (
    "not_vegetated",
    "needleleaf_evergreen_temperate_tree",
    "needleleaf_evergreen_boreal_tree",
    "needleleaf_deciduous_boreal_tree",
    "broadleaf_evergreen_tropical_tree",
    "broadleaf_evergreen_temperate_tree",
    "broadleaf_deciduous_tropical_tree",
    "broadleaf_deciduous_temperate_tree",
    "broadleaf_deciduous_boreal_tree",
    "broadleaf_evergreen_shrub",
    "broadleaf_deciduous_temperate_shrub",
    "broadleaf_deciduous_boreal_shrub",
    "c3_arctic_grass",
    "c3_non-arctic_grass",
    "c4_grass",
    "c3_crop",
    "c3_irrigated",
)
NATPFT = len(NATPFT_NAMES)

# Landunit types (land1d_ityplun / cols1d_ityplun; main/landunit_varcon.F90). The names are
# those of the restart's ilun_* global attributes; 10-12 exist only with polygonal tundra.
LANDUNIT_TYPES: dict[str, int] = {
    "vegetated_or_bare_soil": 1,
    "crop": 2,
    "landice": 3,
    "landice_multiple_elevation_classes": 4,
    "deep_lake": 5,
    "wetland": 6,
    "urban_tbd": 7,
    "urban_hd": 8,
    "urban_md": 9,
    "low_centered_polygon": 10,
    "flat_centered_polygon": 11,
    "high_centered_polygon": 12,
}
ISTSOIL = LANDUNIT_TYPES["vegetated_or_bare_soil"]
ISTCROP = LANDUNIT_TYPES["crop"]
ISTICE = LANDUNIT_TYPES["landice"]
ISTICE_MEC = LANDUNIT_TYPES["landice_multiple_elevation_classes"]
ISTDLAK = LANDUNIT_TYPES["deep_lake"]
ISTWET = LANDUNIT_TYPES["wetland"]
URBAN_LANDUNITS: tuple[int, ...] = (7, 8, 9)
# Column types of the five urban columns of each urban landunit (icol_urban_* attributes)
URBAN_COLUMN_TYPES: tuple[int, ...] = (71, 72, 73, 74, 75)
# Landunits whose columns carry soil biogeochemistry (ELM's soil filter: istsoil, istcrop and
# the polygonal-tundra units); pools on every other column stay as ELM leaves them (zero)
BGC_LANDUNITS: tuple[int, ...] = (ISTSOIL, ISTCROP, 10, 11, 12)

# Diagnostic variables ELM writes NaN into (seen in the real OLMT Kougarok restart of
# ../shared/data/elm, ELM 341537c): never prognostic pools, so NaN there is ELM's, not a fault.
ELM_NAN_DIAGNOSTICS: tuple[str, ...] = (
    "mlaidiff",
    "btran2",
    "qflx_snofrz_lyr",
    "irrig_rate",
    "TS_TOPO",
    "TWS_MONTH_BEGIN",
    "ENDWB_COL",
    "tempavg_somhr",
    "tempavg_finrw",
    "C_budg_stateG",
)

# ELM's structure (the cascade, the tissues) lives in elmai.io.elm_structure; the names
# below are derived from it for the modules that only need the vocabulary
CTC_POOLS: tuple[str, ...] = CASCADE.names
# each pool's base decay rate in the parameter file (1/day)
CTC_DECAY_RATE: dict[str, str] = {p.name: p.decay_rate for p in CASCADE.pools}
# decomposition transitions (donor, receiver or None for the atmosphere, respired-fraction
# parameter or None for all respired); CWD is not among them: it fragments into litter
CTC_CASCADE: tuple[tuple[str, str | None, str | None], ...] = tuple(
    (t.donor, t.receiver, t.respired) for t in CASCADE.transitions
)
# CWD fragments without respiration into cellulose and lignin litter, by these fractions
CWD_FRAGMENTATION: tuple[tuple[str, str], ...] = CASCADE.fragmentation
ELEMENTS: tuple[str, ...] = ("c", "n", "p")

# PFT-level vegetation tissues (pools leafc, leafn, ..., each also with _storage and _xfer)
PFT_TISSUES: tuple[str, ...] = TISSUES.names


# The slow pools the AI spin-up predicts (DESIGN.md): pft-level and (column, levgrnd)
SPINUP_PFT_TARGETS: tuple[str, ...] = ("deadcrootc", "deadstemc", "tlai")
SPINUP_COLUMN_TARGETS: tuple[str, ...] = ("cwdc_vr", "soil3c_vr", "soil4c_vr")


def vr_pool(pool: str, element: str) -> str:
    """Vertically resolved pool name, e.g. vr_pool('soil4', 'c') -> 'soil4c_vr'."""
    return f"{pool}{element}_vr"


def pft_pool_names(element: str = "c") -> list[str]:
    """leafc, leafc_storage, leafc_xfer, frootc, ... for one element."""
    return [f"{p}{element}{suffix}" for p in PFT_TISSUES for suffix in ("", "_storage", "_xfer")]


LITTER_POOLS: tuple[str, ...] = CASCADE.of_kind("litter")
SOM_POOLS: tuple[str, ...] = CASCADE.of_kind("soil")


# ---- Restart-check vocabulary (E3SM references in docs/checks.md) -----------------------

# Pools ELM lets go negative: xsmrpool is the maintenance-respiration deficit, drawn below
# zero when respiration exceeds what the pool holds (CNAllocation / veg_cs_summary keeps it
# out of totvegc and puts it in totpftc).
ELM_SIGNED_POOLS: tuple[str, ...] = ("xsmrpool",)

# Cold-start seed carbon (gC/m2) ELM puts on every vegetated pft of a soil/crop column,
# whatever its weight (VegetationDataType.F90, veg_cs%InitCold): leafc = 1 (evergreen) or
# leafc_storage = 1 (deciduous), deadstemc = 0.1 on woody types; with nu_com /= 'RD' (ECA)
# leaf and fine root start at 20 instead. Zero-weight pfts are inactive, so they keep these.
ELM_SEED_CARBON: dict[str, tuple[float, ...]] = {
    "leafc": (1.0, 20.0),
    "leafc_storage": (1.0, 20.0),
    "frootc": (20.0,),
    "frootc_storage": (20.0,),
    "deadstemc": (0.1,),
}
# Dead wood pools veg_cs/ns/ps_restart multiply by spinup_mortality_factor when a run leaves
# AD spin-up (restart spinup_state 1 read with spinup_state 0), on every pft, active or not.
ELM_DEADWOOD_POOLS: tuple[str, ...] = TISSUES.dead_wood
# spinup_mortality_factor: ELM's default is 1 (elm_varctl.F90); OLMT runs set 10.
OLMT_SPINUP_MORTALITY_FACTOR = 10.0
# Seed N and P are the seed C over the PFT's stoichiometry (veg_ns/veg_ps InitCold):
# pool stem -> parameter stem (leafcn / leafcp, frootcn, deadwdcn, ...), from the tissue table
ELM_SEED_STOICHIOMETRY: dict[str, str] = {
    t.name: t.param for t in TISSUES.tissues if t.name in {k.partition("_")[0][:-1] for k in ELM_SEED_CARBON}
}


def seed_carbon(spinup_mortality_factor: float = OLMT_SPINUP_MORTALITY_FACTOR) -> dict[str, list[float]]:
    """Seed values each C pool may hold on a zero-weight pft: the cold-start values, and for
    dead wood also those values times spinup_mortality_factor (after AD exit)."""
    out: dict[str, list[float]] = {}
    for name, values in ELM_SEED_CARBON.items():
        v = list(values)
        if any(name.startswith(d) for d in ELM_DEADWOOD_POOLS) and spinup_mortality_factor != 1.0:
            v += [x * spinup_mortality_factor for x in values]
        out[name] = v
    return out


def seed_nutrients() -> dict[str, tuple[str, str]]:
    """{N or P pool: (its C pool, the PFT parameter of its C:N or C:P)} for the seeds."""
    out: dict[str, tuple[str, str]] = {}
    for cname in ELM_SEED_CARBON:
        head, _, rest = cname.partition("_")  # 'leafc_storage' -> 'leafc', 'storage'
        stem, suffix = head[:-1], f"_{rest}" if rest else ""
        param = ELM_SEED_STOICHIOMETRY[stem]
        for element in ("n", "p"):
            out[f"{stem}{element}{suffix}"] = (cname, f"{param}c{element}")
    return out


def _vr(pools: tuple[str, ...], element: str) -> tuple[str, ...]:
    return tuple(vr_pool(p, element) for p in pools)


_LITTER = LITTER_POOLS
_SOM = SOM_POOLS


def _veg_terms(element: str, extra: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(pft_pool_names(element)) + extra


# Totals ELM's summaries compute (data_types/VegetationDataType.F90 veg_cs/ns/ps_summary,
# data_types/ColumnDataType.F90 col_cs/ns/ps_summary), as {total: (required terms, optional
# terms)}. A term's level comes from its dimension in the file: pft terms add up per pft for
# a pft total and are weighted by pfts1d_wtcol over the column's active pfts (ELM's p2c) for
# a column total; (column, levgrnd) terms are integrated over nlevdecomp with dzsoi_decomp;
# column terms add as they are. Optional terms (crop only) are added where present. A total
# is checked only when the file holds it and every required term.
VEGC_TERMS: tuple[str, ...] = _veg_terms("c", ("cpool", "gresp_storage", "gresp_xfer"))  # not xsmrpool
VEGN_TERMS: tuple[str, ...] = _veg_terms("n", ("npool", "retransn"))
VEGP_TERMS: tuple[str, ...] = _veg_terms("p", ("ppool", "retransp"))
_CROP_C = ("grainc", "grainc_storage", "grainc_xfer")
ELM_TOTALS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "totvegc": (VEGC_TERMS, _CROP_C),
    "totvegn": (VEGN_TERMS, ("grainn", "grainn_storage", "grainn_xfer")),
    "totvegp": (VEGP_TERMS, ("grainp", "grainp_storage", "grainp_xfer")),
    "totlitc": (_vr(_LITTER, "c"), ()),
    "totsomc": (_vr(_SOM, "c"), ()),
    "cwdc": (("cwdc_vr",), ()),  # not written to restarts; checked where a file has it
    "totcolc": (
        VEGC_TERMS
        + ("xsmrpool", "pft_ctrunc")
        + _vr(_LITTER + _SOM + (CASCADE.cwd,), "c")
        + ("col_ctrunc_vr", "prod1c", "prod10c", "prod100c"),
        _CROP_C + ("cropseedc_deficit",),
    ),
    "totlitn": (_vr(_LITTER, "n"), ()),
    "totsomn": (_vr(_SOM, "n"), ()),
    "cwdn": (("cwdn_vr",), ()),
    # plant_n_buffer and fan_totn are not in restarts, so totcoln is not checkable there
    "totcoln": (
        VEGN_TERMS
        + ("pft_ntrunc",)
        + _vr(_LITTER + _SOM + (CASCADE.cwd,), "n")
        + ("sminn_vr", "col_ntrunc_vr", "prod1n", "prod10n", "prod100n", "plant_n_buffer", "fan_totn"),
        ("grainn", "grainn_storage", "grainn_xfer", "cropseedn_deficit"),
    ),
    "totlitp": (_vr(_LITTER, "p"), ()),
    "totsomp": (_vr(_SOM, "p"), ()),
    "cwdp": (("cwdp_vr",), ()),
    "totcolp": (
        VEGP_TERMS
        + ("pft_ptrunc",)
        + _vr(_LITTER + _SOM + (CASCADE.cwd,), "p")
        + ("solutionp_vr", "labilep_vr", "secondp_vr", "col_ptrunc_vr", "prod1p", "prod10p", "prod100p"),
        ("grainp", "grainp_storage", "grainp_xfer", "cropseedp_deficit"),
    ),
}
