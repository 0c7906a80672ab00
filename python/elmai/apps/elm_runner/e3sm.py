"""Drivers that build and run ELM for a case written by `elmai elm case`, with E3SM's CIME
(tested where ELMAI_E3SM names a checkout: tests/test_elm_case.py).

Nothing is written into the E3SM checkout: the case, build and run folders are under the
case's --out folder (CIME builds out of tree; bytecode writing is switched off). On a
workstation elmai writes a CIME machine (MACHINE, gnu + OpenMPI/MPICH, netCDF from
nc-config/nf-config) into OUT/machines and passes it with --extra-machines-dir; on an HPC
system give --machine NAME of a machine E3SM supports.

Steps (each logged to OUT/logs/<step>.log):
  1. create_newcase --case OUT/case --compset ICB1850CNPRDCTCBC --res ELM_USRDAT
  2. OUT/case_setup.sh inside the case (xmlchange lines, case.setup, CPL_BYPASS, user_nl_elm)
  3. case.build
`run` then sets STOP_N/REST_N (and finidat for a restart) and calls case.submit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from elmai.apps.elm_runner import COMPSET
from elmai.errors import ElmaiFileError, InputNotFoundError, InvalidArgumentError, RunError

ENV_VAR = "ELMAI_E3SM"
MACHINE = "elmai-linux"
SUBMODULES = ("cime", "externals/scorpio", "externals/mct")
TOOLS = {
    "gfortran": "GNU Fortran (Debian: gfortran)",
    "mpif90": "MPI Fortran compiler wrapper (Debian: libopenmpi-dev or libmpich-dev)",
    "mpirun": "MPI launcher (Debian: openmpi-bin or mpich)",
    "nf-config": "netCDF-Fortran (Debian: libnetcdff-dev)",
    "nc-config": "netCDF-C (Debian: libnetcdf-dev)",
    "cmake": "CMake (Debian: cmake)",
    "make": "GNU make (Debian: make)",
    "perl": "Perl, for ELM's build-namelist (Debian: perl)",
    "xmllint": "CIME validates its XML with it (Debian: libxml2-utils)",
}
PERL_MODULES = {"XML::LibXML": "Debian: libxml-libxml-perl"}


@dataclass
class Step:
    name: str
    argv: list[str]
    cwd: Path

    def shell(self) -> str:
        import shlex

        return f"(cd {shlex.quote(str(self.cwd))} && {shlex.join(self.argv)})"


def find_e3sm(path: str | os.PathLike[str] | None) -> Path:
    """The E3SM checkout: `path`, else $ELMAI_E3SM."""
    given = path if path is not None else os.environ.get(ENV_VAR)
    if not given:
        raise InputNotFoundError(
            f"no E3SM checkout: pass --e3sm PATH or set {ENV_VAR} to a clone of https://github.com/"
            "E3SM-Project/E3SM with its submodules (git submodule update --init --recursive)"
        )
    p = Path(given).expanduser()
    if not p.is_dir():
        raise InputNotFoundError(f"E3SM checkout '{p}' (--e3sm or {ENV_VAR}) is not a folder")
    return p


def missing_prerequisites(e3sm: Path, which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """Everything a build needs that is not there, one line each (empty when ready)."""
    missing = []
    if not (e3sm / "components" / "elm" / "src").is_dir():
        missing.append(f"'{e3sm}' is not an E3SM checkout (no components/elm/src)")
    empty = [sub for sub in SUBMODULES if not (e3sm / sub).is_dir() or not any((e3sm / sub).iterdir())]
    if empty:
        missing.append(
            f"empty submodule(s) {', '.join(empty)}: run `git submodule update --init --recursive` in {e3sm}"
        )
    if (e3sm / "cime").is_dir() and any((e3sm / "cime").iterdir()):
        if not (e3sm / "cime" / "scripts" / "create_newcase").exists():
            missing.append(f"{e3sm}/cime/scripts/create_newcase is missing")
    for tool, what in TOOLS.items():
        if which(tool) is None:
            missing.append(f"{tool} not on PATH: {what}")
    if which("perl") is not None:
        for module, hint in PERL_MODULES.items():
            if subprocess.run(["perl", f"-M{module}", "-e", "1"], capture_output=True).returncode != 0:
                missing.append(f"Perl module {module} ({hint})")
    return missing


def check_prerequisites(e3sm: Path) -> None:
    missing = missing_prerequisites(e3sm)
    if missing:
        raise RunError("cannot build ELM, missing: " + "; ".join(missing))


def _config(tool: str, flag: str) -> str:
    out = subprocess.run([tool, flag], capture_output=True, text=True)
    if out.returncode != 0:
        raise RunError(f"`{tool} {flag}` failed: {out.stderr.strip()}")
    return out.stdout.strip()


def netcdf_prefix(folder: Path) -> Path:
    """One prefix (bin, include, lib) for netCDF-C and -Fortran, made of symlinks.

    SCORPIO's and E3SM's CMake find netCDF under NETCDF_PATH/lib, but Debian keeps the
    libraries under the multiarch folder (/usr/lib/x86_64-linux-gnu) that `nc-config --prefix`
    does not name. A prefix of links to where nc-config/nf-config say things are serves
    both without touching the system."""
    prefix = folder / "netcdf"
    prefix.mkdir(parents=True, exist_ok=True)
    links = {
        "bin": Path(shutil.which("nc-config") or "/usr/bin/nc-config").parent,
        "include": Path(_config("nc-config", "--includedir")),
        "lib": Path(_config("nc-config", "--libdir")),
    }
    fortran_include = Path(_config("nf-config", "--includedir"))
    if not (fortran_include / "netcdf.mod").exists() or fortran_include != links["include"]:
        # netcdf.mod elsewhere than netcdf.h: give the Fortran side a prefix of its own
        links["include_fortran"] = fortran_include
    for name, target in links.items():
        link = prefix / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    return prefix


def write_machine(out: Path, inputdata: Path) -> Path:
    """A CIME machine for this workstation in OUT/machines (config_machines.xml +
    cmake_macros/MACHINE.cmake), modelled on E3SM's linux-generic machine."""
    folder = out / "machines"
    (folder / "cmake_macros").mkdir(parents=True, exist_ok=True)
    scratch = out / "cime_output"
    prefix = netcdf_prefix(folder)
    ncpu = os.cpu_count() or 1
    root_env = ""
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # OpenMPI refuses root unless told
        root_env = ('      <env name="OMPI_ALLOW_RUN_AS_ROOT">1</env>\n'
                    '      <env name="OMPI_ALLOW_RUN_AS_ROOT_CONFIRM">1</env>\n')  # fmt: skip
    xml = f"""<?xml version="1.0"?>
<config_machines version="2.0">
  <machine MACH="{MACHINE}">
    <DESC>Linux workstation, written by elmai elm build</DESC>
    <NODENAME_REGEX>none</NODENAME_REGEX>
    <OS>LINUX</OS>
    <COMPILERS>gnu</COMPILERS>
    <MPILIBS>openmpi,mpich</MPILIBS>
    <CIME_OUTPUT_ROOT>{scratch}</CIME_OUTPUT_ROOT>
    <DIN_LOC_ROOT>{inputdata}</DIN_LOC_ROOT>
    <DIN_LOC_ROOT_CLMFORC>{inputdata}/atm/datm7</DIN_LOC_ROOT_CLMFORC>
    <DOUT_S_ROOT>{scratch}/archive/$CASE</DOUT_S_ROOT>
    <BASELINE_ROOT>{scratch}/baselines</BASELINE_ROOT>
    <CCSM_CPRNC>$CCSMROOT/tools/cprnc/build/cprnc</CCSM_CPRNC>
    <GMAKE>make</GMAKE>
    <GMAKE_J>{ncpu}</GMAKE_J>
    <TESTS>e3sm_developer</TESTS>
    <BATCH_SYSTEM>none</BATCH_SYSTEM>
    <SUPPORTED_BY>elmai</SUPPORTED_BY>
    <MAX_TASKS_PER_NODE>{ncpu}</MAX_TASKS_PER_NODE>
    <MAX_MPITASKS_PER_NODE>{ncpu}</MAX_MPITASKS_PER_NODE>
    <mpirun mpilib="default">
      <executable>mpirun</executable>
      <arguments>
        <arg name="num_tasks"> -np {{{{ total_tasks }}}}</arg>
      </arguments>
    </mpirun>
    <!-- Open MPI binds rank 0 of every mpirun to core 0: two site cases run at once would
         share one core (measured: 51 s instead of 16 s per simulated year each) -->
    <mpirun mpilib="openmpi">
      <executable>mpirun</executable>
      <arguments>
        <arg name="num_tasks"> -np {{{{ total_tasks }}}}</arg>
        <arg name="binding"> --bind-to none</arg>
      </arguments>
    </mpirun>
    <module_system type="none"/>
    <RUNDIR>{scratch}/$CASE/run</RUNDIR>
    <EXEROOT>{scratch}/$CASE/bld</EXEROOT>
    <environment_variables>
      <env name="NETCDF_PATH">{prefix}</env>
      <env name="NETCDF_C_PATH">{prefix}</env>
      <env name="NETCDF_FORTRAN_PATH">{prefix}</env>
{root_env}    </environment_variables>
  </machine>
</config_machines>
"""
    (folder / "config_machines.xml").write_text(xml)
    macros = (
        "# written by elmai elm build: netCDF as nf-config/nc-config report it, LAPACK/BLAS from the system\n"
        f'string(APPEND SLIBS " {_config("nf-config", "--flibs")} {_config("nc-config", "--libs")}")\n'
        "# e3sm.exe links netCDF before the static PIO libraries that call it; a linker that drops\n"
        "# shared libraries not needed so far (--as-needed) then fails with 'DSO missing'\n"
        'string(APPEND CMAKE_EXE_LINKER_FLAGS " -Wl,--no-as-needed")\n'
        'string(APPEND SLIBS " -llapack -lblas")\n'
        "# SCORPIO calls MPI_Type_hvector, which Open MPI 4 hides from mpi.h (MPI-1, removed in\n"
        "# MPI-3) but still exports: declare it again instead of patching the checkout\n"
        'string(APPEND CPPDEFS " -DOMPI_OMIT_MPI1_COMPAT_DECLS=0")\n'
    )
    (folder / "cmake_macros" / f"{MACHINE}.cmake").write_text(macros)
    return folder


def _case_inputs(out: Path) -> dict:
    manifest = out / "inputs.json"
    if not manifest.is_file():
        raise InputNotFoundError(
            f"'{out}' holds no case inputs ({manifest.name}): run "
            f"`elmai elm case --world RUN --sites N --out {out}` first"
        )
    return json.loads(manifest.read_text())


BYPASS_MACRO = "-DCPL_BYPASS"


def check_bypass_macros(case: Path) -> None:
    """Refuse a case whose cmake macros lost CPL_BYPASS: `./case.setup --reset` (after an
    ./xmlchange NTASKS=...) rewrites cmake_macros/universal.cmake without the line the case
    set-up appended, so the next clean build would not read the site forcing."""
    macros = case / "cmake_macros" / "universal.cmake"
    if not macros.is_file() or BYPASS_MACRO not in macros.read_text():
        raise RunError(
            f"the case '{case}' has no {BYPASS_MACRO} in {macros.relative_to(case)} (./case.setup --reset "
            f"drops it): run `echo 'string(APPEND CPPDEFS \" {BYPASS_MACRO}\")' >> {macros}` and rebuild "
            "(./case.build --clean-all && ./case.build), or build anew with `elmai elm build --ntasks N`"
        )


def build_steps(e3sm: Path, out: Path, machine: str | None, mpilib: str, ntasks: int = 1) -> list[Step]:
    case = out / "case"
    argv = [str(e3sm / "cime" / "scripts" / "create_newcase"), "--case", str(case), "--compset", COMPSET,
            "--res", "ELM_USRDAT", "--driver", "mct", "--compiler", "gnu", "--mpilib", mpilib,
            "--output-root", str(out / "cime_output")]  # fmt: skip
    if machine is None:
        argv += ["--machine", MACHINE, "--extra-machines-dir", str(out / "machines")]
    else:
        argv += ["--machine", machine]
    return [
        Step("create_newcase", argv, out),
        Step("case_setup", ["env", f"ELMAI_NTASKS={ntasks}", "bash", str((out / "case_setup.sh").resolve())],
             case),  # fmt: skip
        Step("case_build", ["./case.build"], case),
    ]


# CIME's own milestones, echoed while a step runs (the rest goes to the step's log only)
_PROGRESS = ("Building ", "Component ", "Total build time", "MODEL BUILD HAS FINISHED", "MODEL EXECUTION",
             "ERROR", "Creating Case directory", "Creating batch scripts")  # fmt: skip


def _execute(steps: list[Step], logs: Path, env: dict[str, str] | None = None) -> None:
    """Run the steps in order, each into logs/<name>.log, echoing CIME's milestones (which
    component is building, done, model execution) so that a 4-minute build shows progress."""
    import getpass
    import time

    logs.mkdir(parents=True, exist_ok=True)
    # no __pycache__ in the checkout; CIME records $USER, which containers often leave unset
    user = os.environ.get("USER") or getpass.getuser()
    env = env or os.environ | {"PYTHONDONTWRITEBYTECODE": "1", "USER": user}
    for step in steps:
        log = logs / f"{step.name}.log"
        print(f"elmai elm: {step.name} (log: {log})", flush=True)
        t0 = time.time()
        with open(log, "w") as f:
            proc = subprocess.Popen(
                step.argv, cwd=step.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                f.write(line)
                if any(marker in line for marker in _PROGRESS):  # CIME prefixes some with a time stamp
                    print(f"  [{time.time() - t0:5.0f} s] {line.strip()[:150]}", flush=True)
            rc = proc.wait()
        if rc != 0:
            raise RunError(f"{step.name} failed (exit {rc}); see {log}")


def build(
    e3sm: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    *,
    machine: str | None = None,
    mpilib: str = "openmpi",
    inputdata: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    ntasks: int = 1,
) -> list[Step]:
    """Create, set up and build the case in OUT/case with `ntasks` MPI tasks (set before
    case.setup); `dry_run` checks and returns the steps."""
    if ntasks < 1:
        raise InvalidArgumentError(f"--ntasks must be at least 1, not {ntasks}")
    root = find_e3sm(e3sm)
    out = Path(out).resolve()
    _case_inputs(out)
    check_prerequisites(root)
    if (out / "case").exists():
        raise ElmaiFileError(f"'{out / 'case'}' exists: remove it to rebuild, or use another --out")
    steps = build_steps(root, out, machine, mpilib, ntasks)
    if dry_run:
        return steps
    if machine is None:
        write_machine(out, Path(inputdata).resolve() if inputdata else out / "inputdata")
    _execute(steps[:-1], out / "logs")
    check_bypass_macros(out / "case")  # the set-up must have left it before the build
    _execute(steps[-1:], out / "logs")
    return steps


def clone_built(source: str | os.PathLike[str], out: str | os.PathLike[str], e3sm: str | None = None) -> Path:
    """The case of the `elm case` folder `out` as a clone of the built case `source`
    (CIME create_clone --keepexe): the same ELM executable, this folder's sites, inputs and
    namelists, its own run directory. Every site case of one compset and task count
    compiles the same ELM, so an ensemble builds once (minutes) and clones (seconds)."""
    import getpass

    root = find_e3sm(e3sm)
    src, out = find_case(source), Path(out).resolve()
    _case_inputs(out)
    case = out / "case"
    if case.exists():
        raise ElmaiFileError(f"'{case}' exists: remove it to clone anew, or use another folder")
    env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1", "USER": os.environ.get("USER") or getpass.getuser()}
    argv = [str(root / "cime" / "scripts" / "create_clone"), "--case", str(case), "--clone", str(src),
            "--keepexe", "--cime-output-root", str(out / "cime_output")]  # fmt: skip
    _execute([Step("create_clone", argv, out)], out / "logs", env)
    # the clone keeps the source's run directory and has no cmake macros of its own
    shutil.copytree(src / "cmake_macros", case / "cmake_macros", dirs_exist_ok=True)
    rundir = out / "cime_output" / "case" / "run"
    rundir.mkdir(parents=True, exist_ok=True)
    steps = [
        Step("xmlchange_rundir", ["./xmlchange", f"RUNDIR={rundir}"], case),
        Step("case_setup", ["bash", str((out / "case_setup.sh").resolve())], case),
    ]
    _execute(steps, out / "logs", env)
    check_bypass_macros(case)
    return case


def find_case(path: str | os.PathLike[str]) -> Path:
    """The CIME case: `path` itself or `path`/case (the folder `elm build` used)."""
    p = Path(path).resolve()
    for cand in (p, p / "case"):
        if (cand / "case.submit").exists():
            return cand
    raise InputNotFoundError(
        f"no CIME case at '{p}' (no case.submit there or in {p / 'case'}): build it first with "
        f"`elmai elm build --e3sm PATH --out {p}` (or set {ENV_VAR})"
    )


def _gridcells_of(case: Path) -> int | None:
    try:
        manifest = _case_inputs(case.parent)
    except InputNotFoundError:
        return None
    return len(manifest.get("sites", [])) or None


def _restart_gridcells(path: Path) -> int:
    import netCDF4

    with netCDF4.Dataset(path) as ds:
        if "gridcell" not in ds.dimensions:
            raise InvalidArgumentError(f"--restart '{path}' has no 'gridcell' dimension: not an ELM restart")
        return len(ds.dimensions["gridcell"])


def _set_finidat(case: Path, restart: Path | None) -> None:
    nl = case / "user_nl_elm"
    lines = [ln for ln in nl.read_text().splitlines() if not ln.strip().startswith("finidat")]
    if restart is not None:
        lines.append(f" finidat = '{restart}'")
    tmp = nl.with_name(".user_nl_elm.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, nl)


AD_OPTION = "-bgc_spinup on"


def restart_date(path: Path) -> str:
    """The model date a restart was written at (timemgr_rst_curr_ymd) as YYYY-MM-DD: ELM
    continues from it, so the cpl_bypass forcing cycle stays aligned."""
    import netCDF4

    with netCDF4.Dataset(path) as ds:
        if "timemgr_rst_curr_ymd" not in ds.variables:
            raise InvalidArgumentError(f"--restart '{path}' has no timemgr_rst_curr_ymd: not an ELM restart")
        ymd = int(ds.variables["timemgr_rst_curr_ymd"][...])
    return f"{ymd // 10000:04d}-{ymd // 100 % 100:02d}-{ymd % 100:02d}"


def _bldnml_opts(case: Path, mode: str | None) -> str | None:
    """ELM_BLDNML_OPTS with -bgc_spinup on (mode 'ad') or without it ('native')."""
    if mode is None:
        return None
    out = subprocess.run(
        ["./xmlquery", "--value", "ELM_BLDNML_OPTS"], cwd=case, capture_output=True, text=True
    )
    opts = " ".join(out.stdout.replace(AD_OPTION, " ").split())
    return f"{opts} {AD_OPTION}" if mode == "ad" else opts


def run_steps(
    case: Path, years: int, restart: Path | None, mode: str | None = None, restart_every: int | None = None
) -> list[Step]:
    every = restart_every or years
    stop = f"STOP_OPTION=nyears,STOP_N={years},REST_OPTION=nyears,REST_N={every},CONTINUE_RUN=FALSE"
    start = "ELM_FORCE_COLDSTART=on,RUN_STARTDATE=0001-01-01"
    if restart is not None:
        start = f"ELM_FORCE_COLDSTART=off,RUN_STARTDATE={restart_date(restart)}"
    steps = [
        Step("xmlchange", ["./xmlchange", stop], case),
        Step("xmlchange_start", ["./xmlchange", start], case),
    ]
    opts = _bldnml_opts(case, mode)
    if opts is not None:
        steps.append(Step("xmlchange_mode", ["./xmlchange", f"ELM_BLDNML_OPTS={opts}"], case))
    # --no-batch: ELM runs in the foreground (a no-op on a workstation; inside an HPC allocation
    # it runs there instead of queueing a job elm run could not wait for)
    steps.append(Step("case_submit", ["./case.submit", "--no-batch"], case))
    return steps


def _rundir(case: Path) -> Path:
    out = subprocess.run(["./xmlquery", "--value", "RUNDIR"], cwd=case, capture_output=True, text=True)
    return Path(out.stdout.strip())


def _lnd_log(rundir: Path, since: float) -> str:
    """ELM's land log of the run that started after `since` (plain or gzipped)."""
    import gzip

    logs = sorted(
        (p for p in rundir.glob("lnd.log.*") if p.stat().st_mtime >= since), key=lambda p: p.stat().st_mtime
    )
    if not logs:
        return ""
    last = logs[-1]
    return gzip.open(last, "rt").read() if last.suffix == ".gz" else last.read_text()


Site = tuple[str, float, float]  # name, lat, lon


def _sites(case: Path) -> list[Site]:
    try:
        sites = _case_inputs(case.parent).get("sites", [])
    except InputNotFoundError:
        return []
    return [(f"site {s['site']} (lat {s['lat']:g}, lon {s['lon']:g})", s["lat"], s["lon"]) for s in sites]


def problems_in_log(text: str, sites: list[Site]) -> tuple[list[str], list[str]]:
    """(failures, warnings) in ELM's land log. Failures: the balance errors that stop ELM
    (EcosystemBalanceCheckMod 'column cbalance error = ...', 'grid nbalance error', ...),
    endrun and 'elm model is stopping'. Warnings: BalanceCheckMod's 'WARNING: ... balance
    error' lines, printed below the stopping threshold. A failure is given the site nearest
    to the 'Latdeg,Londeg' line ELM prints after it."""
    import re

    lines = text.splitlines()
    failures: list[str] = []
    warnings: list[str] = []
    for k, line in enumerate(lines):
        low = line.lower()
        if "skipping" in low:
            continue
        if "balance error" in low:
            where = ""
            for nxt in lines[k + 1 : k + 4]:
                m = re.search(r"latdeg,londeg\s*=\s*([-\d.eE+]+)\s+([-\d.eE+]+)", nxt, flags=re.I)
                if m:
                    where = f" [{_nearest_site(float(m.group(1)), float(m.group(2)), sites)}]"
                    break
            (warnings if "warning" in low else failures).append(" ".join(line.split()) + where)
        elif "endrun" in low or "elm model is stopping" in low or "shr_abort" in low:
            failures.append(" ".join(line.split()))
    return failures, warnings


def _nearest_site(lat: float, lon: float, sites: list[Site]) -> str:
    if not sites:
        return f"lat {lat:g}, lon {lon:g}"
    return min(sites, key=lambda s: (s[1] - lat) ** 2 + ((s[2] - lon + 180) % 360 - 180) ** 2)[0]


@dataclass
class RunRecord:
    folder: Path
    years: int
    mode: str | None
    restart: str | None
    wall_s: float
    restarts: list[str]
    history: list[str]
    problems: list[str]
    warnings: list[str]


def _collect(case: Path, rundir: Path, since: float, label: str) -> Path:
    """Move this run's restarts, h0 files and logs from RUNDIR into OUT/runs/LABEL."""
    dest = case.parent / "runs" / label
    dest.mkdir(parents=True, exist_ok=True)
    for pattern in ("*.elm.r.*.nc", "*.elm.h0.*.nc", "lnd.log.*", "e3sm.log.*", "cpl.log.*"):
        for f in rundir.glob(pattern):
            if f.stat().st_mtime >= since:
                shutil.move(str(f), dest / f.name)
    return dest


def run(
    case: str | os.PathLike[str],
    years: int,
    restart: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    mode: str | None = None,
    label: str | None = None,
    restart_every: int | None = None,
) -> list[Step] | RunRecord:
    """Run the built case `years` years, from a cold start or from `restart` (finidat), in AD
    or native mode (`mode`; None keeps the case's). Its restarts, h0 files and logs go to
    OUT/runs/LABEL; ELM's balance-check failures and endrun messages raise RunError."""
    import time

    if years < 1:
        raise InvalidArgumentError(f"--years must be at least 1, not {years}")
    if mode not in (None, "ad", "native"):
        raise InvalidArgumentError(f"--mode must be 'ad' or 'native', not {mode!r}")
    where = find_case(case)
    rpath = None
    if restart is not None:
        rpath = Path(restart).resolve()
        if not rpath.is_file():
            raise InputNotFoundError(f"--restart '{rpath}' does not exist")
        want, have = _gridcells_of(where), _restart_gridcells(rpath)
        if want is not None and want != have:
            raise InvalidArgumentError(
                f"--restart '{rpath}' has {have} gridcells but the case has {want} sites: give a restart "
                "of this case's gridcells (e.g. one ELM wrote for it)"
            )
    status = subprocess.run(
        ["./xmlquery", "--value", "BUILD_COMPLETE"], cwd=where, capture_output=True, text=True
    )
    if status.stdout.strip().upper() != "TRUE":
        raise RunError(
            f"the case '{where}' is not built (BUILD_COMPLETE != TRUE): run `elmai elm build` first"
        )
    check_bypass_macros(where)
    steps = run_steps(where, years, rpath, mode, restart_every)
    if dry_run:
        return steps
    _set_finidat(where, rpath)
    rundir = _rundir(where)
    label = label or time.strftime("run-%Y%m%d-%H%M%S")
    t0 = time.time()
    _execute(steps, where.parent / "logs" / label)
    wall = time.time() - t0
    text = _lnd_log(rundir, t0)
    problems, warnings = problems_in_log(text, _sites(where))
    finished = "Successfully wrote out restart data" in text or "SUCCESSFUL TERMINATION" in text
    dest = _collect(where, rundir, t0, label)
    record = RunRecord(
        folder=dest, years=years, mode=mode, restart=str(rpath) if rpath else None, wall_s=wall,
        restarts=sorted(f.name for f in dest.glob("*.elm.r.*.nc")),
        history=sorted(f.name for f in dest.glob("*.elm.h0.*.nc")), problems=problems, warnings=warnings,
    )  # fmt: skip
    (dest / "run.json").write_text(json.dumps(record.__dict__, default=str, indent=2) + "\n")
    if problems or not finished or not record.restarts:
        detail = "; ".join(problems[:5]) or "no restart written"
        raise RunError(f"ELM run '{label}' failed: {detail} (logs in {dest})")
    return record
