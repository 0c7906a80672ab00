"""`elmai testbed run`: inputs, restarts and the spin-up log from the command line, and a
continuation from its own restart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np

import elmai
from elmai.apps.testbed.run import run_testbed


def test_cli_run_writes_elm_files_and_a_clean_log(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "elmai", "testbed", "run", "--resolution", "10", "--years", "3",
           "--restart-years", "2", "--forcing-years", "2", "--case", "tb", "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "balance failures: 0" in done.stdout
    names = {p.name for p in out.iterdir()}
    assert {"surfdata_10deg.nc", "tb.datm.forcing.nc", "clm_params.nc", "spinup_log.json"} <= names
    assert {"tb.elm.r.0002-01-01-00000.nc", "tb.elm.r.0004-01-01-00000.nc"} <= names
    log = json.loads((out / "spinup_log.json").read_text())
    assert [y["year"] for y in log["years"]] == [1, 2, 3] and log["balance_failures"] == 0
    assert all(0 <= y["disequilibrium_area"] <= 1 for y in log["years"])
    assert log["years"][-1]["gpp_pgc"] > 0
    for restart in ("tb.elm.r.0002-01-01-00000.nc", "tb.elm.r.0004-01-01-00000.nc"):
        report = elmai.check_restart(out / restart)
        assert report.ok, report.table()
    with netCDF4.Dataset(out / "clm_params.nc") as ds:
        assert ds["leafcn"][1] == 35.0 and "k_s4" in ds.variables


def test_continue_from_a_restart(tmp_path: Path) -> None:
    first = run_testbed(tmp_path / "a", resolution=10, years=2, forcing_years=3, progress=False)
    again = run_testbed(
        tmp_path / "b",
        resolution=10,
        years=1,
        forcing_years=3,
        start_from=first.restarts[-1],
        first_year=3,
        progress=False,
    )
    assert again.years[0].year == 3 and again.balance_failures == 0
    assert Path(again.restarts[-1]).name == "elmai_testbed.elm.r.0004-01-01-00000.nc"
    # a straight 3-year run reaches the same state
    straight = run_testbed(tmp_path / "c", resolution=10, years=3, forcing_years=3, progress=False)
    diff = elmai.io.diff_restarts(again.restarts[-1], straight.restarts[-1])
    assert [v.name for v in diff.variables if v.status != "equal"] == []


def test_ad_run_writes_ad_restarts(tmp_path: Path) -> None:
    result = run_testbed(tmp_path, resolution=10, years=2, forcing_years=2, spinup="ad", progress=False)
    assert result.balance_failures == 0
    with elmai.open_restart(result.restarts[-1]) as r:
        assert int(r.read("spinup_state")) == 1
    assert elmai.check_restart(result.restarts[-1]).ok


def test_monthly_history_files(tmp_path: Path) -> None:
    result = run_testbed(tmp_path, resolution=10, years=2, forcing_years=2, history_years=1, progress=False)
    files = sorted(p.name for p in tmp_path.glob("*.elm.h0.*.nc"))
    assert files == [f"elmai_testbed.elm.h0.0002-{m:02d}.nc" for m in range(1, 13)]
    with netCDF4.Dataset(tmp_path / files[-1]) as ds, netCDF4.Dataset(result.restarts[-1]) as rst:
        ds.set_auto_mask(False)
        assert ds.dimensions["lndgrid"].size == result.ngrid and ds.dimensions["levdcmp"].size == 15
        assert ds["GPP"].units == "gC/m^2/s" and ds["time"].calendar == "noleap"
        nee, nep = ds["NEE"][0], ds["NEP"][0]
        assert abs(nee + nep).max() < 1e-9 * max(abs(nee).max(), 1e-30)
        er, ar, hr = ds["ER"][0], ds["AR"][0], ds["HR"][0]
        np.testing.assert_allclose(er, ar + hr, rtol=1e-6)
        # December's states are the next restart's natural columns (float32 in history, as ELM)
        rst.set_auto_mask(False)
        natural = np.nonzero(rst["cols1d_ityp"][...] == 1)[0]
        natural = natural[np.argsort(rst["cols1d_gridcell_index"][...][natural])]
        np.testing.assert_allclose(ds["TOTECOSYSC"][0], rst["totcolc"][...][natural], rtol=1e-6)
        soil4 = rst["soil4c_vr"][...][natural]
        np.testing.assert_allclose(ds["SOIL4C_vr"][0].T, soil4, rtol=1e-6, atol=1e-30)
        assert np.all(ds["SOIL4C_vr"][0][10:] == 0)
        t, w, o = (ds[f"{x}_SCALAR"][0] for x in "TWO")
        assert t.shape == (15, result.ngrid) and np.all(t[10:] == np.float32(1e36)) and np.all(o[:10] == 1)
        assert np.all((t[:10] > 0) & (t[:10] < 10)) and np.all((w[:10] > 0) & (w[:10] <= 1))
        assert ds["T_SCALAR"].long_name == "temperature inhibition of decomposition"


def test_cli_layout_options_and_a_continuation_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "rich"
    cmd = [sys.executable, "-m", "elmai", "testbed", "run", "--resolution", "10", "--years", "2",
           "--forcing-years", "2", "--topounits", "2", "--crop", "--glacier-cells",
           "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = out / "elmai_testbed.elm.r.0003-01-01-00000.nc"
    with netCDF4.Dataset(final) as ds:
        assert ds.getncattr("testbed_topounits") == 2 and ds.getncattr("testbed_crop") == 1
        assert ds.dimensions["topounit"].size == 2 * ds.dimensions["gridcell"].size
        assert 2 in ds["land1d_ityplun"][:] and 3 in ds["land1d_ityplun"][:]
    with netCDF4.Dataset(out / "surfdata_10deg.nc") as surf:
        assert float(surf["PCT_GLACIER"][:].max()) == 100.0 and float(surf["PCT_CROP"][:].max()) > 0
    # continuing without the options takes them from the restart: same files as a straight run
    again = run_testbed(tmp_path / "b", resolution=10, years=1, forcing_years=2, start_from=str(final),
                        first_year=3, progress=False)  # fmt: skip
    straight = run_testbed(tmp_path / "c", resolution=10, years=3, forcing_years=2, topounits=2, crop=True,
                           glacier_cells=True, progress=False)  # fmt: skip
    diff = elmai.io.diff_restarts(again.restarts[-1], straight.restarts[-1])
    assert [v.name for v in diff.variables if v.status != "equal"] == []
