"""ELM's vocabulary: PFT and landunit indices, pool names, fill values (from the E3SM source)."""

from __future__ import annotations

# ELM double and integer fill values (spval, ispval)
SPVAL = 1.0e36
ISPVAL = -9999

NLEVGRND = 15
NLEVDECOMP = 10  # BGC uses the top 10 ground levels
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

# Landunit types (land1d_ityplun / cols1d_ityplun)
LANDUNIT_TYPES: dict[str, int] = {
    "vegetated_or_bare_soil": 1,
    "crop": 2,
    "UNUSED": 3,
    "landice_multiple_elevation_classes": 4,
    "deep_lake": 5,
    "wetland": 6,
    "urban_tbd": 7,
    "urban_hd": 8,
    "urban_md": 9,
}
ISTSOIL = LANDUNIT_TYPES["vegetated_or_bare_soil"]
ISTDLAK = LANDUNIT_TYPES["deep_lake"]

# Converging trophic cascade (CTC) decomposing pools
CTC_POOLS: tuple[str, ...] = ("litr1", "litr2", "litr3", "cwd", "soil1", "soil2", "soil3", "soil4")
ELEMENTS: tuple[str, ...] = ("c", "n", "p")

# PFT-level vegetation pools (each also with _storage and _xfer)
PFT_POOLS: tuple[str, ...] = ("leaf", "froot", "livestem", "deadstem", "livecroot", "deadcroot")


# The slow pools the AI spin-up predicts (DESIGN.md): pft-level and (column, levgrnd)
SPINUP_PFT_TARGETS: tuple[str, ...] = ("deadcrootc", "deadstemc", "tlai")
SPINUP_COLUMN_TARGETS: tuple[str, ...] = ("cwdc_vr", "soil3c_vr", "soil4c_vr")


def vr_pool(pool: str, element: str) -> str:
    """Vertically resolved pool name, e.g. vr_pool('soil4', 'c') -> 'soil4c_vr'."""
    return f"{pool}{element}_vr"


def pft_pool_names(element: str = "c") -> list[str]:
    """leafc, leafc_storage, leafc_xfer, frootc, ... for one element."""
    return [f"{p}{element}{suffix}" for p in PFT_POOLS for suffix in ("", "_storage", "_xfer")]
