"""`elmai elm case`: write every input file of an ELM site case (ICB1850CNPRDCTCBC,
CPL_BYPASS, ELM_USRDAT) for gridcells of a testbed world, plus user_nl_elm, the set-up
script and the manifest inputs.json (each file, its reading routines, its variables)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np

from elmai.apps.elm_runner import (
    COMPSET,
    COMPSET_LONG,
    E3SM_CHECKED,
    bypass_forcing,
    domain,
    namelists,
    params,
    snicar,
    streams,
)
from elmai.apps.elm_runner import surfdata as sd
from elmai.apps.elm_runner.sites import Sites, read_points, select_points, select_sites
from elmai.apps.elm_runner.world import TestbedRun, find_run, monthly_forcing_at, surface_at
from elmai.errors import InvalidArgumentError

MANIFEST = "inputs.json"
SETUP_SCRIPT = "case_setup.sh"
FORCING_DIR = "cpl_bypass"

# every file the case reads is written here: nothing comes from CIME's inputdata
INPUTDATA: list[dict[str, Any]] = []


@dataclass
class CaseOptions:
    world: str
    out: str
    sites: int | None = None
    points: str | None = None
    paramfile: str | None = None
    cnp_params: str | None = None
    years: int = 20
    ad_spinup: bool = False


def describe(path: Path) -> dict[str, dict[str, Any]]:
    """{variable: {dims, units}} of a NetCDF file, as written."""
    with netCDF4.Dataset(path) as ds:
        return {
            name: {"dims": list(v.dimensions), **({"units": v.units} if "units" in v.ncattrs() else {})}
            for name, v in ds.variables.items()
        }


def _sites(opts: CaseOptions, run: TestbedRun) -> Sites:
    if (opts.sites is None) == (opts.points is None):
        raise InvalidArgumentError("give either --sites N or --points FILE")
    if opts.sites is not None:
        return select_sites(run, opts.sites)
    lat, lon = read_points(opts.points)
    return select_points(run, lat, lon)


def write_case(opts: CaseOptions) -> dict[str, Any]:
    """Write the case inputs into opts.out; returns the manifest (also in inputs.json)."""
    if opts.years < 1:
        raise InvalidArgumentError(f"--years must be at least 1, not {opts.years}")
    run = find_run(opts.world)
    # the parameter files first: a missing one is reported before anything is written
    paramfile = params.resolve_paramfile(run.params, opts.paramfile)
    params.check_paramfile(paramfile)
    if opts.cnp_params is not None:
        params.check_cnp_file(params.existing(opts.cnp_params, "--cnp-params"))
    sites = _sites(opts, run)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    setup = run.setup()
    usrdat = f"{sites.n}x1pt_elmai"
    fields = surface_at(run, sites.j, sites.i)
    monthly = monthly_forcing_at(run, sites.j, sites.i)
    res = float(setup.get("resolution_deg", 0.0)) or _resolution(run)

    files: dict[str, Path] = {
        "domain": out / f"domain.lnd.{usrdat}.nc",
        "surfdata": out / f"surfdata_{usrdat}_simyr1850.nc",
        "forcing": out / FORCING_DIR,
        "paramfile": out / "clm_params.nc",
        "cnp": out / "CNP_parameters.nc",
        "snow_optics": out / snicar.OPTICS_FILE,
        "snow_aging": out / snicar.AGING_FILE,
        **{key: out / spec[0] for key, spec in streams.STREAMS.items()},
    }
    entries: list[dict[str, Any]] = []

    domain.write_domain(files["domain"], sites.lat, sites.lon, fields["LANDFRAC_PFT"], res)
    env = "LND_DOMAIN_FILE, ATM_DOMAIN_FILE (env_run.xml)"
    entries.append(
        _entry(files["domain"], out, "domain", env, domain.READ_BY, f"ni = {sites.n} sites, nj = 1")
    )

    crop = sd.write_surfdata(
        files["surfdata"], fields, sites.lat, sites.lon, sites.t_ann_c, sites.precip_mm_yr
    )
    entries.append(
        _entry(files["surfdata"], out, "surface data", "fsurdat", sd.READ_BY,
               "testbed fields + documented constants", placeholders=sd.placeholder_names())
    )  # fmt: skip

    files["forcing"].mkdir(exist_ok=True)
    written = bypass_forcing.write_bypass_forcing(files["forcing"], monthly, sites.lat, sites.lon)
    nyears = next(iter(monthly.values())).shape[0]
    entries.append({
        "file": f"{FORCING_DIR}/",
        "role": "cpl_bypass meteorology",
        "namelist": "metdata_bypass (metdata_type = 'gswp3')",
        "read_by": list(bypass_forcing.READ_BY),
        "files": {p.name: describe(p) for p in written} | {"zone_mappings.txt": "lon lat zone index"},
        "notes": "20-year spin-up cycle 1901-1920 (named 1901-2014 as ELM opens it), 3-hourly; cycle year k "
        f"holds the testbed's forcing year (k - {bypass_forcing.model_year_offset()}) mod {nyears}",
    })  # fmt: skip

    for key, (_, writer, namelist, read_by, grid) in streams.STREAMS.items():
        writer(files[key])
        entries.append(_entry(files[key], out, key, namelist, read_by, f"grid: {grid}"))

    pnotes = params.copy_paramfile(paramfile, files["paramfile"])
    note = pnotes.pop("note", "copy of the real parameter file")
    entries.append(
        _entry(files["paramfile"], out, "parameters", "paramfile", params.PARAMFILE_READ_BY, note,
               describe_vars=False, **pnotes)
    )  # fmt: skip
    cnotes = params.cnp_parameters(files["cnp"], opts.cnp_params)
    note = "values: " + cnotes.pop("source")
    entries.append(
        _entry(files["cnp"], out, "soil-order CNP", "fsoilordercon", params.CNP_READ_BY, note, **cnotes)
    )

    snicar.write_optics(files["snow_optics"])
    snicar.write_aging(files["snow_aging"])
    snow_note = "SNICAR's Mie and aging tables cannot be downloaded here: simple physics (elm/snicar.py)"
    entries.append(
        _entry(files["snow_optics"], out, "snow optics", "fsnowoptics", (snicar.READ_OPTICS,), snow_note,
               placeholders=["all values"])
    )  # fmt: skip
    entries.append(
        _entry(files["snow_aging"], out, "snow aging", "fsnowaging", (snicar.READ_AGING,), snow_note,
               placeholders=["all values"])
    )  # fmt: skip

    supplement = bool(int(setup.get("supplement_nutrients", 1)))
    nl = namelists.user_nl_elm(files, supplement=supplement, crop_landunit=crop, ad_spinup=opts.ad_spinup)
    _write_text(out / "user_nl_elm", nl)
    script = namelists.setup_script(
        inputs=out, domain=files["domain"], usrdat_name=usrdat, years=opts.years, ad_spinup=opts.ad_spinup
    )
    _write_text(out / SETUP_SCRIPT, script, mode=0o755)

    manifest = {
        "compset": COMPSET,
        "compset_long": COMPSET_LONG,
        "options": "CPL_BYPASS, ELM_USRDAT (res ELM_USRDAT), MOSART_MODE=NULL, cold start, use_nofire",
        "elm_usrdat_name": usrdat,
        "checked_against": E3SM_CHECKED,
        "world": str(Path(opts.world).resolve()),
        "world_setup": {k: (v if isinstance(v, str | int | float) else str(v)) for k, v in setup.items()},
        "sites": sites.table(),
        "files": entries,
        "namelists": {"user_nl_elm": "user_nl_elm", "setup_script": SETUP_SCRIPT},
        "inputdata_not_written": INPUTDATA,
        "layout_notes": _layout_notes(setup, crop),
    }
    _write_json(out / MANIFEST, manifest)
    return manifest


def _resolution(run: TestbedRun) -> float:
    from elmai.apps.elm_runner.world import land_cells

    return land_cells(run).resolution


def _entry(path: Path, out: Path, role: str, namelist: str, read_by: Iterable[str], notes: str,
           describe_vars: bool = True, **extra: Any) -> dict[str, Any]:  # fmt: skip
    e: dict[str, Any] = {"file": os.path.relpath(path, out), "role": role, "namelist": namelist,
                         "read_by": list(read_by), "notes": notes}  # fmt: skip
    if describe_vars:
        e["variables"] = describe(path)
    return e | extra


def _layout_notes(setup: dict[str, Any], crop: bool) -> list[str]:
    notes = ["one topounit per gridcell (no 'topounit' dimension in the surface data)"]
    if int(setup.get("topounits", 1)) > 1:
        notes.append(f"the testbed world has {setup['topounits']} topounits per gridcell; ELM runs one")
    if crop:
        notes.append(
            "the world's crop landunit is ELM's create_crop_landunit without the crop model (cft 15, 16)"
        )
    return notes


def _write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Temporary file beside `path`, then rename: a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return str(x)
