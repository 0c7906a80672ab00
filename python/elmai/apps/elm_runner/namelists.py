"""user_nl_elm and the case set-up script (xmlchange lines), as OLMT's runcase.py writes
them for a CPL_BYPASS site case; every namelist name is an entry of
components/elm/bld/namelist_files/namelist_definition.xml (group in brackets):

  fsurdat, paramfile, fsoilordercon, fsnowoptics, fsnowaging, metdata_type, metdata_bypass,
  co2_file, aero_file, use_nofire, suplnitro, suplphos, create_crop_landunit, finidat [elm_inparm];
  stream_fldfilename_ndep, stream_year_first/last_ndep, model_year_align_ndep [ndepdyn_nml];
  stream_fldfilename_pdep, stream_year_first/last_pdep, model_year_align_pdep [pdepdyn_nml];
  stream_fldfilename_popdens [popd_streams]; stream_fldfilename_lightng [light_streams].

The env settings are CIME/E3SM case variables (components/elm/cime_config/
config_component.xml: ELM_USRDAT_NAME, ELM_FORCE_COLDSTART, ELM_BLDNML_OPTS; mosart:
MOSART_MODE; CIME: RUN_STARTDATE, STOP_*, REST_*, *_DOMAIN_*, NTASKS, PIO_TYPENAME).
SATM compsets have no DATM, so there is no DATM_MODE to set. CPL_BYPASS is a preprocessor
token: OLMT appends it to CPPDEFS in the case's cmake_macros/universal.cmake after
case.setup, and so does this script.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from elmai.apps.elm_runner import COMPSET

RUN_STARTDATE = "0001-01-01"  # 1850 control spin-up: model years before 1850 (OLMT's default)
STREAM_YEAR = 1850


def user_nl_elm(files: dict[str, Path], *, supplement: bool, crop_landunit: bool, ad_spinup: bool) -> str:
    """The namelist settings of the case (absolute paths)."""
    q = {k: f"'{p.resolve()}'" for k, p in files.items()}
    lines = [
        "! written by `elmai elm case`; names: components/elm/bld/namelist_files/namelist_definition.xml",
        f" fsurdat = {q['surfdata']}",
        f" paramfile = {q['paramfile']}",
        f" fsoilordercon = {q['cnp']}",
        f" fsnowoptics = {q['snow_optics']}",
        f" fsnowaging = {q['snow_aging']}",
        "! CPL_BYPASS meteorology, CO2 and aerosol (cpl/lnd_import_export.F90 lnd_import)",
        " metdata_type = 'gswp3'",
        f" metdata_bypass = {q['forcing']}",
        f" co2_file = {q['co2']}",
        f" aero_file = {q['aerosol']}",
        f" stream_fldfilename_ndep = {q['ndep']}",
        f" stream_year_first_ndep = {STREAM_YEAR}",
        f" stream_year_last_ndep = {STREAM_YEAR}",
        " model_year_align_ndep = 1",
        f" stream_fldfilename_pdep = {q['pdep']}",
        f" stream_year_first_pdep = {STREAM_YEAR}",
        f" stream_year_last_pdep = {STREAM_YEAR}",
        " model_year_align_pdep = 1",
        f" stream_fldfilename_popdens = {q['popdens']}",
        f" stream_fldfilename_lightng = {q['lightning']}",
        "! the testbed has no fire (its population density and lightning files hold zeros)",
        " use_nofire = .true.",
    ]
    if supplement:  # the testbed world ran with supplemental N and P (`--no-supplement` not given)
        lines += [" suplnitro = 'ALL'", " suplphos = 'ALL'"]
    if crop_landunit:  # the testbed's crop landunit: c3_crop and c3_irrigated on their own columns
        lines.append(" create_crop_landunit = .true.")
    if ad_spinup:  # OLMT's settings for CNP AD spin-up
        lines += [" nyears_ad_carbon_only = 25", " spinup_mortality_factor = 10"]
    return "\n".join(lines) + "\n"


def setup_script(*, inputs: Path, domain: Path, usrdat_name: str, years: int, ad_spinup: bool) -> str:
    """Bash script run inside a fresh case directory (create_newcase --compset COMPSET
    --res ELM_USRDAT): the xmlchange lines, case.setup, the CPL_BYPASS token, user_nl_elm."""
    d = shlex.quote(str(domain.parent.resolve()))
    nl = shlex.quote(str((inputs / "user_nl_elm").resolve()))
    lines = [
        "#!/usr/bin/env bash",
        f"# Written by `elmai elm case`: set up a {COMPSET} site case (CPL_BYPASS, ELM_USRDAT) as OLMT does.",
        "# Run it inside the case directory made by",
        f"#   $E3SM/cime/scripts/create_newcase --case CASE --compset {COMPSET} --res ELM_USRDAT --mach M",
        "# (`elmai elm build` does both). SATM has no DATM: no DATM_MODE to set.",
        "set -euo pipefail",
        "test -x ./xmlchange || { echo 'run this inside a CIME case directory' >&2; exit 1; }",
        f"./xmlchange ELM_USRDAT_NAME={usrdat_name}",
        f"./xmlchange ATM_DOMAIN_PATH={d},LND_DOMAIN_PATH={d}",
        f"./xmlchange ATM_DOMAIN_FILE={domain.name},LND_DOMAIN_FILE={domain.name}",
        "./xmlchange MOSART_MODE=NULL",
        f"./xmlchange RUN_STARTDATE={RUN_STARTDATE}",
        f"./xmlchange STOP_OPTION=nyears,STOP_N={years},REST_OPTION=nyears,REST_N={years}",
        "./xmlchange ELM_FORCE_COLDSTART=on",
        "./xmlchange DOUT_S=FALSE,SAVE_TIMING=FALSE",
        "# MPI tasks: `elmai elm build --ntasks N` sets ELMAI_NTASKS (before case.setup: a later",
        "# ./case.setup --reset drops the CPL_BYPASS line below)",
        './xmlchange NTASKS="${ELMAI_NTASKS:-1}",NTHRDS=1',
        "# classic NetCDF through netcdf-c: no PnetCDF needed on a workstation",
        "./xmlchange PIO_TYPENAME=netcdf",
    ]
    if ad_spinup:
        lines.append("./xmlchange --append ELM_BLDNML_OPTS='-bgc_spinup on'")
    lines += [
        "# before case.setup: it builds the namelists, and ELM_USRDAT has no default fsurdat",
        f"cp {nl} user_nl_elm",
        "./case.setup",
        "# CPL_BYPASS (cpl/lnd_import_export.F90, main/atm2lndType.F90, main/elm_driver.F90): OLMT's way",
        "test -f cmake_macros/universal.cmake || { echo 'no cmake_macros/universal.cmake' >&2; exit 1; }",
        "grep -q -- '-DCPL_BYPASS' cmake_macros/universal.cmake || "
        "echo 'string(APPEND CPPDEFS \" -DCPL_BYPASS\")' >> cmake_macros/universal.cmake",
        "./preview_namelists",
        "",
    ]
    return "\n".join(lines)
