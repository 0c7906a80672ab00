"""`elmai elm build/run` helpers that need no E3SM checkout: the CIME machine elmai writes,
how a run's command lines are formed, and how ELM's log is read (lines in the form
components/elm/src/biogeochem/EcosystemBalanceCheckMod.F90 and biogeophys/BalanceCheckMod.F90
write them). The build and the runs themselves are in test_elm_case.py::test_elm_builds_and_runs
(ELMAI_E3SM)."""

from __future__ import annotations

import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.apps.elm_runner import e3sm
from elmai.errors import InvalidArgumentError

SITES = [("site 1 (lat 37, lon 111)", 37.0, 111.0), ("site 2 (lat 7, lon 359)", 7.0, 359.0)]

# as ELM writes them (write(iulog,*) puts a leading blank and list-directed spacing)
LOG = """\
 --WARNING-- skipping CN balance check for first timestep
 WARNING:  water balance error   nstep=        4711  local indexc=           3  errh2o=   2.1E-005
 column cbalance error =   1.234567890000000E-003           5
 Latdeg,Londeg         =    7.0000000000000000        359.00000000000000
 input                 =   1.0
 ENDRUN:
 ERROR: Unknown error submitted to shr_abort_abort.
"""


def test_log_failures_and_warnings_are_told_apart_and_sited() -> None:
    failures, warnings = e3sm.problems_in_log(LOG, SITES)
    assert len(warnings) == 1 and "water balance error" in warnings[0]
    assert failures[0].startswith("column cbalance error") and failures[0].endswith(
        "[site 2 (lat 7, lon 359)]"
    )
    assert any("ENDRUN" in f for f in failures) and any("shr_abort" in f for f in failures)
    assert not any("skipping" in x for x in failures + warnings)


def test_a_clean_log_has_no_problems() -> None:
    # ELM lists its history fields in the log: a field named *_BALANCE_ERROR is not an error
    clean = (
        "    438 CMASS_BALANCE_ERROR              gC/m^2\n"
        "         28  CMASS_BALANCE_ERROR                                                        1  A\n"
        " Successfully wrote out restart data at nstep = 17520\n --WARNING-- skipping CN balance check\n"
    )
    assert e3sm.problems_in_log(clean, SITES) == ([], [])


def _restart(path: Path, ymd: int) -> Path:
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("gridcell", 2)
        ds.createVariable("timemgr_rst_curr_ymd", "i4")[...] = ymd
    return path


def test_restart_date_keeps_the_forcing_cycle_aligned(tmp_path: Path) -> None:
    assert e3sm.restart_date(_restart(tmp_path / "r.nc", 210101)) == "0021-01-01"
    with netCDF4.Dataset(tmp_path / "bad.nc", "w") as ds:
        ds.createDimension("gridcell", 2)
    with pytest.raises(InvalidArgumentError, match="timemgr_rst_curr_ymd"):
        e3sm.restart_date(tmp_path / "bad.nc")


def test_run_steps(tmp_path: Path) -> None:
    r = _restart(tmp_path / "r.nc", 410101)
    cold = [s.argv for s in e3sm.run_steps(tmp_path, 100, None)]
    assert cold[0] == [
        "./xmlchange",
        "STOP_OPTION=nyears,STOP_N=100,REST_OPTION=nyears,REST_N=100,CONTINUE_RUN=FALSE",
    ]
    assert cold[1] == ["./xmlchange", "ELM_FORCE_COLDSTART=on,RUN_STARTDATE=0001-01-01"]
    warm = [s.argv for s in e3sm.run_steps(tmp_path, 21, r, restart_every=20)]
    assert "REST_N=20" in warm[0][1] and "STOP_N=21" in warm[0][1]
    assert warm[1] == ["./xmlchange", "ELM_FORCE_COLDSTART=off,RUN_STARTDATE=0041-01-01"]
    assert warm[-1] == ["./case.submit", "--no-batch"]


NO_NETCDF_DEV = shutil.which("nc-config") is None or shutil.which("nf-config") is None


@pytest.mark.skipif(NO_NETCDF_DEV, reason="netCDF-C/-Fortran development files (nc-config, nf-config) absent")
def test_machine_files(tmp_path: Path) -> None:
    folder = e3sm.write_machine(tmp_path, tmp_path / "inputdata")
    xml = (folder / "config_machines.xml").read_text()
    assert f'MACH="{e3sm.MACHINE}"' in xml and "<NETCDF_PATH>" not in xml
    prefix = folder / "netcdf"
    assert f'<env name="NETCDF_PATH">{prefix}</env>' in xml
    # the links lead to the real library, header and nc-config
    assert any((prefix / "lib").glob("libnetcdf.so*")) and (prefix / "include" / "netcdf.h").exists()
    assert (prefix / "bin" / "nc-config").exists()
    macros = (folder / "cmake_macros" / f"{e3sm.MACHINE}.cmake").read_text()
    assert "-Wl,--no-as-needed" in macros and "-DOMPI_OMIT_MPI1_COMPAT_DECLS=0" in macros
    assert "-lnetcdff" in macros
    assert "--bind-to none" in xml  # two cases at once must not share core 0
    # writing it again (a rebuild) replaces the links
    e3sm.write_machine(tmp_path, tmp_path / "inputdata")
    assert (prefix / "include" / "netcdf.h").exists()


def test_site_metrics_from_h0(tmp_path: Path) -> None:
    """Drift is CTSM's (same forcing year one cycle apart), fluxes in gC/m2/yr."""
    from elmai.apps.elm_runner.loop import SECONDS_PER_YEAR, STOCKS, site_metrics

    cycle, files = 2, []
    for m in range(12 * (cycle + 1)):
        f = tmp_path / f"case.elm.h0.{m // 12 + 1:04d}-{m % 12 + 1:02d}.nc"
        with netCDF4.Dataset(f, "w") as ds:
            ds.createDimension("time", None)
            ds.createDimension("lndgrid", 2)
            for n in STOCKS:
                ds.createVariable(n, "f4", ("time", "lndgrid"))[0] = np.array([1000.0, 500.0]) + m / 12 * 3.0
            ds.createVariable("NEE", "f4", ("time", "lndgrid"))[0] = np.array([1e-7, -1e-7])
            ds.createVariable("GPP", "f4", ("time", "lndgrid"))[0] = np.array([3e-5, 1e-5])
        files.append(f)
    out = site_metrics(files, cycle)
    assert out["years"] == cycle + 1
    assert np.allclose(out["drift_TOTECOSYSC"], [3.0, 3.0], atol=1e-3)
    assert np.allclose(out["mean_NEE"], [1e-7 * SECONDS_PER_YEAR, -1e-7 * SECONDS_PER_YEAR], rtol=1e-5)


def test_steps_log_everything_and_echo_cime_milestones(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = "echo 'Building mct with output to file x'; echo 'noise'; echo 'Component mct build complete'"
    e3sm._execute([e3sm.Step("build", ["bash", "-c", script], tmp_path)], tmp_path / "logs")
    out = capsys.readouterr().out
    assert "Building mct" in out and "Component mct build complete" in out and "noise" not in out
    assert (tmp_path / "logs" / "build.log").read_text().splitlines()[1] == "noise"
    with pytest.raises(e3sm.RunError, match="see .*failing.log"):
        e3sm._execute([e3sm.Step("failing", ["bash", "-c", "exit 3"], tmp_path)], tmp_path / "logs")
