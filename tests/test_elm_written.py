"""Restarts written by real ELM (E3SM 75e17cc, ICB1850CNPRDCTCBC, ../shared/data/elm/
elm_written; issue 30): `elmai check` passes every one (warnings allowed and stated),
`elmai spinup` works from the native one and from AD year 40 and its output passes check,
`elmai refine` accepts the AD route's restarts, and AD year 10 gets a one-line reason.
The independent reference is ELM itself: it wrote these files without a balance error
and read them back."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.checks import check_restart
from elmai.io.elm_params import read_params
from elmai.spinup.merge import Stoichiometry
from elmai.spinup.refine import refine_spinup
from elmai.spinup.run import ai_spinup
from tests.conftest import shared_data

ELMAI = str(Path(sys.executable).with_name("elmai"))
WRITTEN = ("elm", "elm_written")
FILES = {
    "ad4/ad_year10": "ad4/ad_year10.elm.r.0011-01-01-00000.nc",
    "ad4/ad_year40": "ad4/ad_year40.elm.r.0041-01-01-00000.nc",
    "ad4/native_after_ad": "ad4/native_after_ad.elm.r.0042-01-01-00000.nc",
    "s16/native_year2": "s16/native_year2.elm.r.0003-01-01-00000.nc",
    "s16/ad_year10": "s16/ad_year10.elm.r.0011-01-01-00000.nc",
}
# what each file may warn about (ELM runs on it): floating soil C:P, AD scalaravg_col of 0
ALLOWED_WARNINGS = {
    "ad4/ad_year10": {"spinup_state"},
    "ad4/ad_year40": set(),
    "ad4/native_after_ad": set(),
    "s16/native_year2": {"soil_cp"},
    "s16/ad_year10": {"soil_cp", "spinup_state"},
}


@pytest.fixture(scope="module")
def folder() -> Path:
    return shared_data(*WRITTEN)


@pytest.fixture(scope="module")
def params_file() -> Path:
    return shared_data("elm", "clm_params_c211124vpft.nc")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", list(FILES))
def test_check_passes_every_elm_written_file(folder: Path, params_file: Path, name: str) -> None:
    path = folder / FILES[name]
    report = check_restart(path, read_params(params_file))
    assert report.ok, report.table()
    assert set(report.warning_counts) <= ALLOWED_WARNINGS[name], report.table()
    with netCDF4.Dataset(path) as ds:
        state = int(ds["spinup_state"][...])
        lun = ds["cols1d_ityplun"][...]
        scal = np.asarray(ds["scalaravg_col"][...])[lun == 1]
    note = report.notes["spinup_state"]
    if state == 1 and (scal == 0).any():  # ELM resets it to 0 every step before AD year 20
        assert "cannot leave AD before year 20" in note
    elif state == 1:
        assert "leave AD" in note
    else:
        assert note.startswith("normal-mode restart")
    # the CLI agrees: exit 0
    proc = subprocess.run(
        [ELMAI, "check", str(path), "--params", str(params_file)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_glacier_p_totals_follow_elms_soil_filter(folder: Path, params_file: Path) -> None:
    """Leaving AD puts mineral P on every column (col_ps_restart) while col_ps_summary sums
    soil columns only: ELM's glacier totcolp stays 0 with P beneath it. Not a failure; the
    same mismatch on a soil column is."""
    path = folder / FILES["ad4/native_after_ad"]
    with netCDF4.Dataset(path) as ds:
        lun = ds["cols1d_ityplun"][...]
        totcolp = ds["totcolp"][...]
        labile = ds["labilep_vr"][...] if "labilep_vr" in ds.variables else None
    glacier = np.flatnonzero(lun == 3)
    assert glacier.size and (totcolp[glacier] == 0).all()
    if labile is not None:
        assert labile[glacier].max() > 0
    assert check_restart(path, read_params(params_file)).counts["totals"] == 0


def test_spinup_from_elms_native_restart(folder: Path, params_file: Path, tmp_path: Path) -> None:
    s16 = folder / "s16"
    restart = folder / FILES["s16/native_year2"]
    before = sha256(restart)
    out = tmp_path / "ai.nc"
    res = ai_spinup(
        restart, _shipped(), out,
        surfdata=str(s16 / "surfdata_16x1pt_elmai_simyr1850.nc"), forcing=str(s16 / "cpl_bypass"),
        params=str(params_file), history=[str(p) for p in sorted((s16 / "h0_year2").glob("*.nc"))],
    )  # fmt: skip
    assert res.checks_ok and res.cells == 16
    assert sha256(restart) == before  # the input is never modified
    report = check_restart(out, read_params(params_file))
    assert report.ok, report.table()
    with netCDF4.Dataset(out) as ds:
        assert int(ds["spinup_state"][...]) == 0


def test_spinup_from_ad_year40_keeps_ad_for_elms_own_exit(
    folder: Path, params_file: Path, tmp_path: Path
) -> None:
    """ad4 ships no forcing: the s16 cpl_bypass serves by nearest site (two ad4 sites are s16
    sites). The AI restart stays in AD mode with pools stored as ELM stores them in AD: a
    native ELM run leaves AD from it (factor / scalaravg_col, dead wood x mortality)."""
    restart = folder / FILES["ad4/ad_year40"]
    out = tmp_path / "ai_ad.nc"
    prm = read_params(params_file)
    res = ai_spinup(
        restart, _shipped(), out, surfdata=str(folder / "ad4" / "surfdata_4x1pt_elmai_simyr1850.nc"),
        forcing=str(folder / "s16" / "cpl_bypass"), params=str(params_file), force=True,
    )  # fmt: skip
    assert res.checks_ok
    report = check_restart(out, prm)
    assert report.ok, report.table()
    with netCDF4.Dataset(restart) as src, netCDF4.Dataset(out) as ds:
        assert int(ds["spinup_state"][...]) == 1
        scal = np.asarray(src["scalaravg_col"][...])[0, :10]
        factor = Stoichiometry.from_params(prm).ad_factors[7]
        # soil4 as ELM will read it on leaving AD equals the normal-mode pool written
        s4 = np.asarray(ds["soil4c_vr"][...])[0, :10]
    assert (scal == 1.0).all()  # ELM set it to 1 at these cold sites (< 1e-3 from year 40)
    assert factor > 1 and np.all(s4 >= 0)
    assert "leave AD" in report.notes["spinup_state"]


def test_refine_accepts_the_ad_route(folder: Path, params_file: Path, tmp_path: Path) -> None:
    """ELM's AD year-40 restart, then ELM's own first native year from it: refine takes the
    AD start as ELM took it out of AD and writes a file that passes check."""
    out = tmp_path / "refined.nc"
    res = refine_spinup(
        folder / FILES["ad4/ad_year40"], folder / FILES["ad4/native_after_ad"], out,
        params=str(params_file), forcing=str(folder / "s16" / "cpl_bypass"), force=True,
    )  # fmt: skip
    assert res.years == 1.0 and out.exists()
    assert check_restart(out, read_params(params_file)).ok


def test_ad_year10_gets_a_one_line_reason(folder: Path, params_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "never.nc"
    proc = subprocess.run(
        [ELMAI, "spinup", "--restart", str(folder / FILES["ad4/ad_year10"]), "--out", str(out),
         "--surfdata", str(folder / "ad4" / "surfdata_4x1pt_elmai_simyr1850.nc"),
         "--forcing", str(folder / "s16" / "cpl_bypass"), "--params", str(params_file)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1 and not out.exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "scalaravg_col = 0" in lines[0] and "AD year 20" in lines[0] and "ad_year10" in lines[0]


def test_spinup_reports_input_failures_one_line_each(folder: Path, params_file: Path, tmp_path: Path) -> None:
    """A broken input is an input problem, found before the model runs: one line per failure."""
    bad = tmp_path / "bad.elm.r.0003-01-01-00000.nc"
    with (
        netCDF4.Dataset(folder / FILES["s16/native_year2"]) as src,
        netCDF4.Dataset(bad, "w", format=src.file_format) as dst,
    ):
        for d, dim in src.dimensions.items():
            dst.createDimension(d, None if dim.isunlimited() else len(dim))
        dst.setncatts({a: src.getncattr(a) for a in src.ncattrs()})
        for n, v in src.variables.items():
            w = dst.createVariable(n, v.dtype, v.dimensions)
            w.setncatts({a: v.getncattr(a) for a in v.ncattrs() if a != "_FillValue"})
            src_v = v[...]
            if n == "soil3c_vr":
                src_v[1, 2] = -7.0
                src_v[2, 3] = -8.0
            w[...] = src_v
    s16 = folder / "s16"
    proc = subprocess.run(
        [ELMAI, "spinup", "--restart", str(bad), "--out", str(tmp_path / "ai.nc"),
         "--surfdata", str(s16 / "surfdata_16x1pt_elmai_simyr1850.nc"), "--forcing", str(s16 / "cpl_bypass"),
         "--params", str(params_file)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1 and not (tmp_path / "ai.nc").exists()
    lines = proc.stderr.strip().splitlines()
    assert "input restart" in lines[0] and "input problem" in lines[0]
    assert any("non_negative: soil3c_vr[column=1, levgrnd=2] = -7" in line for line in lines[1:])
    assert any("soil3c_vr[column=2, levgrnd=3] = -8" in line for line in lines[1:])
    assert all(len(line) < 400 for line in lines)


def _shipped() -> str:
    from elmai.pretrained import default_model

    return str(default_model())


def test_spinup_opens_its_input_once_and_reads_the_sidecar_once(
    folder: Path, params_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spin-up's stages share one open Restart and one sidecar record (counted by
    wrapping the real readers; the compiled check and writer open the file on their own)."""
    import elmai.artifact as artifact
    import elmai.data.features as features
    import elmai.spinup.run as run
    from elmai.io.restart import open_restart

    opened: list[Path] = []
    sidecars: list[Path] = []
    real_sidecar = artifact.load_sidecar

    def counting_open(path, *args, **kwargs):
        opened.append(Path(path))
        return open_restart(path, *args, **kwargs)

    def counting_sidecar(path):
        sidecars.append(Path(path))
        return real_sidecar(path)

    for module in (run, features):
        monkeypatch.setattr(module, "open_restart", counting_open)
    monkeypatch.setattr(artifact, "load_sidecar", counting_sidecar)
    s16 = folder / "s16"
    restart = folder / FILES["s16/native_year2"]
    ai_spinup(
        restart, _shipped(), tmp_path / "ai.nc",
        surfdata=str(s16 / "surfdata_16x1pt_elmai_simyr1850.nc"), forcing=str(s16 / "cpl_bypass"),
        params=str(params_file), history=[str(p) for p in sorted((s16 / "h0_year2").glob("*.nc"))],
    )  # fmt: skip
    assert opened.count(restart) == 1, opened
    assert len(sidecars) == 1
