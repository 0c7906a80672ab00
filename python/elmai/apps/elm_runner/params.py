"""The two parameter files of the case.

* paramfile: a copy of a real ELM parameter file (clm_params*.nc), the one the testbed world
  ran with (its clm_params.nc names it in 'source'), read by main/pftvarcon.F90 pftconrd and
  main/readParamsMod.F90. pftconrd compares pftname with ELM's list: any other name (such
  as clm_params_c211124vpft.nc's 'not_vegetated_unexpectedname', edited in on purpose, see
  its history attribute) makes it take the user-defined-PFT path (PFT_DEFAULT false), which
  reads the PFT flags (woody, climatezone, ...) from the file instead of hard-coding them.
* fsoilordercon: the soil-order CNP parameters, read by main/soilorder_varcon.F90
  soilorder_conrd: dimension 'soilorder' (nsoilorder + 1 = 16), soilordername
  (soilorder, string_length) in ELM's order, and per soil order r_weather, r_adsorp,
  r_desorp, r_occlude, k_s1_biochem..k_s4_biochem (fractions per 30 days: the Phosphorus
  dynamics convert them with dtd = dt / 30 days), smax and ks_sorption (gP/m3, Langmuir
  sorption, PhosphorusStateUpdate3Mod.F90), r_mort_soilorder (1/yr, optional, ELM's
  fallback 0.02). A given real file (E3SM inputdata lnd/clm2/paramdata/CNP_parameters_
  c180529.nc for nu_com RD) is copied after checking; otherwise elmai writes the layout with
  the placeholder values of CNP_PLACEHOLDERS, the same for every soil order.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np

from elmai.apps.elm_runner.surfdata import SOIL_ORDERS
from elmai.errors import FileFormatError, InputNotFoundError, ParameterFileError
from elmai.io.netcdf_writer import write_netcdf

PARAMFILE_READ_BY = (
    "components/elm/src/main/pftvarcon.F90:pftconrd",
    "components/elm/src/main/readParamsMod.F90:readSharedParameters",
    "components/elm/src/main/readParamsMod.F90:readPrivateParameters",
)
CNP_READ_BY = ("components/elm/src/main/soilorder_varcon.F90:soilorder_conrd",)
MIN_PFTS = 17  # numpft + 1 without the crop model; pftconrd stops if the file has fewer
ELM_PFTNAME0 = "not_vegetated"

# smax and ks_sorption: ELM's RD initialisation puts solutionp = (L ks) / (smax - L) with
# L = LABILE_P / 0.5 (ColumnDataType.F90); the real Kougarok restart has solutionp / L =
# 0.0016433 at L = 134.88 gP/m3, so ks = 0.0016433 (smax - 134.88): smax = 300 gives 0.2713.
CNP_PLACEHOLDERS: dict[str, tuple[float, str, str]] = {
    "r_weather": (1.0e-5, "1/(30 days)", "weathering of primary P (~8,000 years)"),
    "r_adsorp": (1.0e-3, "1/(30 days)", "labile to secondary P"),
    "r_desorp": (1.0e-3, "1/(30 days)", "secondary to labile P"),
    "r_occlude": (1.0e-5, "1/(30 days)", "secondary to occluded P"),
    "k_s1_biochem": (1.0e-3, "1/(30 days)", "biochemical P mineralisation of soil1"),
    "k_s2_biochem": (1.0e-3, "1/(30 days)", "biochemical P mineralisation of soil2"),
    "k_s3_biochem": (1.0e-3, "1/(30 days)", "biochemical P mineralisation of soil3"),
    "k_s4_biochem": (1.0e-3, "1/(30 days)", "biochemical P mineralisation of soil4"),
    "smax": (300.0, "gP/m3", "maximum sorption capacity"),
    "ks_sorption": (0.2713, "gP/m3", "half-saturation of sorption (Kougarok solution/labile ratio)"),
    "r_mort_soilorder": (0.02, "1/yr", "ELM's own fallback when the variable is absent"),
}
CNP_REQUIRED = tuple(k for k in CNP_PLACEHOLDERS if k != "r_mort_soilorder") + ("soilordername",)
STRING_LENGTH = 40


def _copy(src: Path, dst: Path) -> None:
    """Byte copy through a temporary file in the destination folder, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _names(ds: netCDF4.Dataset, var: str) -> list[str]:
    ds.set_auto_chartostring(False)
    raw = np.asarray(ds.variables[var][...])
    return [b"".join(row).decode("ascii", "replace").strip("\x00 ") for row in raw]


def existing(path: str | os.PathLike[str], option: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(f"{option} '{p}' does not exist")
    return p


def resolve_paramfile(world_params: Path, given: str | os.PathLike[str] | None) -> Path:
    """The real parameter file to copy: `given`, else the file the testbed's clm_params.nc
    names in 'source' if it exists and is a full ELM file."""
    if given is not None:
        return existing(given, "--paramfile")
    with netCDF4.Dataset(world_params) as ds:
        source = str(getattr(ds, "source", ""))
    p = Path(source)
    if source and p.is_file():
        try:
            with netCDF4.Dataset(p) as ds:
                if "pftname" in ds.variables:
                    return p
        except OSError:
            pass  # not NetCDF: reported below like any other unusable source
    raise ParameterFileError(
        f"the testbed world ran with parameters from {source or 'an unnamed source'!r} "
        f"({world_params}), which is not a full ELM parameter file here: pass --paramfile PATH to "
        "it (e.g. clm_params_c211124vpft.nc; E3SM inputdata lnd/clm2/paramdata/)"
    )


def check_paramfile(src: Path) -> dict[str, Any]:
    """Check `src` is an ELM parameter file pftconrd accepts; return notes for the manifest."""
    try:
        ds = netCDF4.Dataset(src)
    except OSError as e:
        raise FileFormatError(f"--paramfile '{src}' is not a NetCDF file: {e}") from None
    with ds:
        if "pft" not in ds.dimensions or "pftname" not in ds.variables:
            raise FileFormatError(
                f"--paramfile '{src}' has no 'pft' dimension / 'pftname': not an ELM parameter file"
            )
        npft = len(ds.dimensions["pft"])
        if npft < MIN_PFTS:
            raise FileFormatError(
                f"--paramfile '{src}' has {npft} PFTs; ELM without the crop model needs {MIN_PFTS}"
            )
        names = _names(ds, "pftname")
    notes: dict[str, Any] = {"source": str(src), "npft": npft}
    if names[0] != ELM_PFTNAME0:
        notes["note"] = (
            f"pftname(0) is '{names[0]}', not '{ELM_PFTNAME0}': ELM's pftconrd takes its user-defined-PFT "
            "path (PFT flags read from the file)"
        )
    return notes


def copy_paramfile(src: Path, dst: Path) -> dict[str, Any]:
    """Check `src` (check_paramfile) and copy it to `dst`; returns the notes."""
    notes = check_paramfile(src)
    _copy(src, dst)
    return notes


def check_cnp_file(path: Path) -> None:
    """What soilorder_conrd requires of a CNP parameter file."""
    try:
        ds = netCDF4.Dataset(path)
    except OSError as e:
        raise FileFormatError(f"--cnp-params '{path}' is not a NetCDF file: {e}") from None
    with ds:
        if "soilorder" not in ds.dimensions or len(ds.dimensions["soilorder"]) != len(SOIL_ORDERS):
            raise FileFormatError(
                f"--cnp-params '{path}': needs a 'soilorder' dimension of {len(SOIL_ORDERS)}"
            )
        missing = [v for v in CNP_REQUIRED if v not in ds.variables]
        if missing:
            raise FileFormatError(f"--cnp-params '{path}' lacks {', '.join(missing)} (soilorder_conrd stops)")
        names = _names(ds, "soilordername")
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(names, SOIL_ORDERS, strict=True)) if i and a != b]
    if bad:
        i, a, b = bad[0]
        raise FileFormatError(f"--cnp-params '{path}': soil order {i} is '{a}', ELM expects '{b}'")


def write_cnp_parameters(path: str | os.PathLike[str]) -> None:
    """The CNP parameter file with elmai's placeholder values (see CNP_PLACEHOLDERS)."""
    n = len(SOIL_ORDERS)
    chars = np.array([list(name.ljust(STRING_LENGTH)) for name in SOIL_ORDERS], dtype="S1")
    v: dict[str, tuple] = {
        "soilordername": (("soilorder", "string_length"), chars, {"long_name": "Description of soil order"}),
    }
    for name, (value, units, what) in CNP_PLACEHOLDERS.items():
        v[name] = (("soilorder",), np.full(n, value), {"long_name": what, "units": units})
    gatts = {
        "title": "Soil order dependent CNP parameters (layout of soilorder_varcon.F90 soilorder_conrd)",
        "source": "elmai elm case: PLACEHOLDER values, the same for every soil order; not the published "
        "CNP_parameters_c180529.nc set (pass --cnp-params to copy that file)",
    }
    write_netcdf(path, v, gatts, format="NETCDF3_64BIT_OFFSET")


def cnp_parameters(dst: Path, given: str | os.PathLike[str] | None) -> dict[str, Any]:
    if given is None:
        write_cnp_parameters(dst)
        return {"source": "elmai placeholders", "placeholders": sorted(CNP_PLACEHOLDERS)}
    src = existing(given, "--cnp-params")
    check_cnp_file(src)
    _copy(src, dst)
    return {"source": str(src)}
