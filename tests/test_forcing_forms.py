"""ELM's real forcing forms (cpl_bypass all_hourly.nc and zone files, datm streams, monthly
files) and both surfdata layouts, read by elmai.io.forcing / elmai.io.surface and checked
against netCDF4-python reading the same files."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.apps.testbed import forcing_forms as W
from elmai.data import features as F
from elmai.errors import ElmaiError, ElmaiFileError, InvalidValueError, ShapeError, VariableNotFoundError
from elmai.io.forcing import FORCING_VARS, forcing_climatology, write_climatology
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.surface import read_surface

ROOT = Path(__file__).resolve().parents[1]
ELMAI = ROOT / ".venv" / "bin" / "elmai"
DPM = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
BASE = {
    "TBOT": 280.0,
    "PRECTmms": 3e-5,
    "FSDS": 180.0,
    "FLDS": 300.0,
    "QBOT": 0.006,
    "PSRF": 95000.0,
    "WIND": 4.0,
}

# cells asked for (longitudes -180..180 while the files store 0..360)
LAT = np.array([12.0, 30.0, -40.0, 61.0])
LON = np.array([-100.0, 20.0, 170.0, -5.0])


def _series(nt: int, ng: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(nt)[:, None]
    out = {}
    for v, b in BASE.items():
        seasonal = 1 + 0.2 * np.sin(2 * np.pi * t / nt * 2)
        out[v] = b * seasonal * (1 + 0.05 * rng.standard_normal((nt, ng)))
    out["FSDS"] = np.maximum(out["FSDS"], 0.0)
    out["PRECTmms"] = np.maximum(out["PRECTmms"], 0.0)
    return out


def _nearest(plat, plon, lat, lon):
    d = (plat[None] - lat[:, None]) ** 2 + (
        (np.abs((plon[None] - lon[:, None] + 180) % 360 - 180)) * np.cos(np.radians(lat[:, None]))
    ) ** 2
    return d.argmin(axis=1)


def _monthly_by_index(x: np.ndarray, spd: int) -> np.ndarray:
    """(ntime, ncell) -> (ncell, 12): mean over years of calendar-month means, noleap."""
    ny = x.shape[0] // (365 * spd)
    edges = np.concatenate([[0], np.cumsum(DPM)]) * spd
    y = x.reshape(ny, 365 * spd, -1)
    return np.stack([y[:, edges[m] : edges[m + 1]].mean(axis=1).mean(axis=0) for m in range(12)], axis=1)


def _nc4_cpl(path: Path, var: str, cells) -> np.ndarray:
    """Reference: netCDF4 raw shorts decoded by hand as ELM does (stored * sf + ao)."""
    with netCDF4.Dataset(path) as ds:
        v = ds[var]
        v.set_auto_maskandscale(False)
        raw = v[:]
        assert v.dimensions == ("gridcell", "DTIME") and raw.dtype == np.int16
        return (raw[cells].astype(np.float64) * float(v.scale_factor) + float(v.add_offset)).T


# -- cpl_bypass --------------------------------------------------------------------------------
@pytest.mark.parametrize("spd", [24, 8])
def test_all_hourly_matches_netcdf4(tmp_path: Path, spd: int) -> None:
    ng, ny = 6, 2
    plat = np.array([12.2, 30.1, -39.8, 61.0, 0.0, 45.0])
    plon = np.array([-99.9, 20.2, 170.1, -5.1, 90.0, -120.0])
    ser = _series(ny * 365 * spd, ng)
    path = tmp_path / "all_hourly.nc"
    W.write_all_hourly(path, ser, plat, plon, start_year=1991, steps_per_day=spd)
    with netCDF4.Dataset(path) as ds:
        assert ds["LONGXY"][:].min() >= 0  # stored 0..360 as OLMT writes them
        assert int(ds["start_year"][0]) == 1991 and int(ds["end_year"][0]) == 1992
        assert ds["DTIME"].calendar == "noleap"
        cells = _nearest(ds["LATIXY"][:], ds["LONGXY"][:], LAT, LON)
    got = forcing_climatology(tmp_path, LAT, LON, progress=False)
    assert got.shape == (LAT.size, 12, len(FORCING_VARS))
    for k, v in enumerate(FORCING_VARS):
        ref = _monthly_by_index(_nc4_cpl(path, v, cells), spd)
        np.testing.assert_allclose(got[:, :, k], ref, rtol=1e-12, err_msg=v)
    # packing is OLMT's: the decoded values are within half a quantum of the originals
    raw = ser["TBOT"][:, cells]
    np.testing.assert_allclose(got[:, :, 0], _monthly_by_index(raw, spd), atol=0.05)


def test_cpl_bypass_blocks_of_cells_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Series decode a block of cells at a time: blocks of 2 cells give the same answer."""
    import elmai.io.forcing as forcing

    spd, ng = 8, 5
    ser = _series(365 * spd, ng, seed=7)
    plat, plon = np.linspace(-50, 60, ng), np.linspace(0, 300, ng)
    W.write_all_hourly(tmp_path / "all_hourly.nc", ser, plat, plon, steps_per_day=spd)
    whole = forcing_climatology(tmp_path, plat, plon, progress=False)
    monkeypatch.setattr(forcing, "CPL_BLOCK_VALUES", 2 * 365 * spd)
    np.testing.assert_allclose(forcing_climatology(tmp_path, plat, plon, progress=False), whole, rtol=1e-14)


def _esat(tc, c):
    return 100 * sum(ck * tc**k for k, ck in enumerate(c))


def test_all_hourly_rh_and_missing_flds(tmp_path: Path) -> None:
    """Site files carry RH (ELM converts it to QBOT with T and P); FLDS absent is derived."""
    spd, ng = 24, 2
    ser = _series(365 * spd, ng, seed=3)
    ser["RH"] = np.clip(60 + 10 * np.random.default_rng(1).standard_normal(ser["TBOT"].shape), 1, 100)
    ser["TBOT"] = ser["TBOT"] - 10.0  # some steps below freezing: ice branch
    del ser["QBOT"], ser["FLDS"]
    path = tmp_path / "all_hourly.nc"
    W.write_all_hourly(path, ser, np.array([10.0, 50.0]), np.array([5.0, 6.0]), steps_per_day=spd)
    got = forcing_climatology(path, np.array([50.0]), np.array([6.0]), progress=False)
    t, p, rh = (_nc4_cpl(path, v, [1])[:, 0] for v in ("TBOT", "PSRF", "RH"))
    a = (6.107799961, 4.436518521e-01, 1.428945805e-02, 2.650648471e-04, 3.031240396e-06, 2.034080948e-08,
         6.136820929e-11)  # fmt: skip
    b = (6.109177956, 5.034698970e-01, 1.886013408e-02, 4.176223716e-04, 5.824720280e-06, 4.838803174e-08,
         1.838826904e-10)  # fmt: skip
    tc = np.clip(t - 273.15, -50, 50)
    e = np.where(t > 273.15, _esat(tc, a), _esat(tc, b))
    q = 0.622 * e / (p - 0.378 * e) * rh / 100
    ev = p * q / (0.622 + 0.378 * q)
    flds = (0.70 + 5.95e-05 * 0.01 * ev * np.exp(1500.0 / t)) * 5.67e-8 * t**4
    np.testing.assert_allclose(
        got[0, :, FORCING_VARS.index("QBOT")], _monthly_by_index(q[:, None], spd)[0], rtol=1e-10
    )
    np.testing.assert_allclose(
        got[0, :, FORCING_VARS.index("FLDS")], _monthly_by_index(flds[:, None], spd)[0], rtol=1e-10
    )


def test_cpl_bypass_zone_files(tmp_path: Path) -> None:
    spd, ny, ng = 8, 2, 7
    rng = np.random.default_rng(5)
    plat, plon = rng.uniform(-60, 70, ng), rng.uniform(0, 360, ng)
    plat[:4], plon[:4] = LAT + 0.1, (LON + 360) % 360
    ser = _series(ny * 365 * spd, ng, seed=2)
    files = W.write_cpl_bypass_files(tmp_path, ser, plat, plon, start_year=1901, steps_per_day=spd, zones=3)
    assert files[0].name == "GSWP3_TBOT_1901-1902_z01.nc"
    assert (tmp_path / "zone_mappings.txt").exists()
    got = forcing_climatology(tmp_path, LAT, LON, progress=False)
    zones = np.array_split(np.arange(ng), 3)
    for c in range(4):
        z = next(k for k, g in enumerate(zones) if c in g)
        idx = int(np.flatnonzero(zones[z] == c)[0])
        for k, v in enumerate(FORCING_VARS):
            ref = _monthly_by_index(
                _nc4_cpl(tmp_path / f"GSWP3_{v}_1901-1902_z{z + 1:02d}.nc", v, [idx]), spd
            )
            np.testing.assert_allclose(got[c, :, k], ref[0], rtol=1e-12, err_msg=f"{v} cell {c}")
    # without zone_mappings.txt the files' own LONGXY/LATIXY place the cells
    (tmp_path / "zone_mappings.txt").unlink()
    np.testing.assert_allclose(forcing_climatology(tmp_path, LAT, LON, progress=False), got, rtol=1e-14)


# -- datm streams ------------------------------------------------------------------------------
def _datm(tmp_path: Path, spd: int = 8, ny: int = 2, with_flds: bool = True, seed: int = 0):
    glat = np.arange(-60.0, 75.0, 15.0)
    glon = np.arange(0.0, 360.0, 20.0)
    nt = ny * 365 * spd
    rng = np.random.default_rng(seed)
    ser = {}
    for v, b in BASE.items():
        ser[v] = (b * (1 + 0.05 * rng.standard_normal((nt, glat.size, glon.size)))).astype(np.float32)
    W.write_datm_streams(tmp_path, ser, glat, glon, start_year=2001, steps_per_day=spd, with_flds=with_flds)
    return glat, glon


def _nc4_datm(folder: Path, stream: str, var: str, j, i, years) -> np.ndarray:
    """(ncell, 12) reference: netCDF4 (auto mask) monthly means of every step, then over years."""
    out = np.zeros((len(j), 12))
    for y in years:
        for m in range(12):
            (p,) = folder.glob(f"clmforc.*.{stream}.{y:04d}-{m + 1:02d}.nc")
            with netCDF4.Dataset(p) as ds:
                assert ds[var].dimensions == ("time", "lat", "lon")
                assert ds["LONGXY"].dimensions == ("lat", "lon") and ds["time"].calendar == "noleap"
                x = np.asarray(ds[var][:], np.float64)[:, j, i]
            out[:, m] += x.mean(axis=0)
    return out / len(years)


def test_datm_streams_match_netcdf4(tmp_path: Path) -> None:
    glat, glon = _datm(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 * 12 * 3 and "clmforc.GSWP3.c2011.0.5x0.5.TPQWL.2001-01.nc" in names
    got = forcing_climatology(tmp_path, LAT, LON, progress=False)
    j = np.abs(glat[None] - LAT[:, None]).argmin(axis=1)
    i = np.abs((glon[None] - LON[:, None] + 180) % 360 - 180).argmin(axis=1)
    streams = {"FSDS": "Solr", "PRECTmms": "Prec"}
    for k, v in enumerate(FORCING_VARS):
        ref = _nc4_datm(tmp_path, streams.get(v, "TPQWL"), v, j, i, [2001, 2002])
        np.testing.assert_allclose(got[:, :, k], ref, rtol=1e-12, err_msg=v)


def test_datm_without_flds_derives_it_like_datm(tmp_path: Path) -> None:
    glat, glon = _datm(tmp_path, spd=4, ny=1, with_flds=False)
    got = forcing_climatology(tmp_path, LAT[:1], LON[:1], progress=False)
    j = [int(np.abs(glat - LAT[0]).argmin())]
    i = [int(np.abs((glon - LON[0] + 180) % 360 - 180).argmin())]
    clim = np.zeros(12)
    for m in range(12):
        (p,) = tmp_path.glob(f"clmforc.*.TPQWL.2001-{m + 1:02d}.nc")
        with netCDF4.Dataset(p) as ds:
            assert "FLDS" not in ds.variables
            t, q, ps = (np.asarray(ds[v][:, j[0], i[0]], np.float64) for v in ("TBOT", "QBOT", "PSRF"))
        e = ps * q / (0.622 + 0.378 * q)
        clim[m] = ((0.70 + 5.95e-05 * 0.01 * e * np.exp(1500.0 / t)) * 5.67e-8 * t**4).mean()
    np.testing.assert_allclose(got[0, :, FORCING_VARS.index("FLDS")], clim, rtol=1e-12)


# -- monthly and climatology files, features ---------------------------------------------------
def _monthly_file(path: Path, ny: int = 2) -> tuple[np.ndarray, np.ndarray, dict]:
    lat, lon = np.array([-30.0, 0.0, 30.0, 60.0]), np.arange(-180.0, 180.0, 45.0)
    rng = np.random.default_rng(9)
    data = {v: (b * (1 + 0.1 * rng.standard_normal((ny * 12, lat.size, lon.size)))) for v, b in BASE.items()}
    variables = {"lat": (("lat",), lat), "lon": (("lon",), lon)}
    for v, x in data.items():
        variables[v] = (("time", "lat", "lon"), x.astype(np.float32), {"_FillValue": np.float32(1e36)})
    write_netcdf(path, variables, unlimited=["time"])
    return lat, lon, data


def test_monthly_form_and_climatology_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "case.datm.forcing.nc"
    glat, glon, _ = _monthly_file(path)
    got = F.read_forcing(path, LAT, LON)
    j = np.abs(glat[None] - LAT[:, None]).argmin(axis=1)
    i = np.abs((glon[None] - LON[:, None] + 180) % 360 - 180).argmin(axis=1)
    with netCDF4.Dataset(path) as ds:
        for k, v in enumerate(FORCING_VARS):
            x = np.asarray(ds[v][:], np.float64)[:, j, i]
            np.testing.assert_allclose(got[:, :, k], x.reshape(2, 12, -1).mean(axis=0).T, rtol=1e-12)
    out = tmp_path / "clim.nc"
    write_climatology(out, got, LAT, LON)
    np.testing.assert_array_equal(forcing_climatology(out, LAT + 0.2, LON + 360), got)


# -- surface data ------------------------------------------------------------------------------
def _surf(path: Path, one_d: bool) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = np.array([-30.0, 0.0, 30.0, 60.0]), np.arange(0.0, 360.0, 45.0)
    lon2, lat2 = np.meshgrid(lon, lat)
    rng = np.random.default_rng(4)
    shp = lat2.shape
    fields = {
        "AREA": rng.uniform(1e3, 1e4, shp),
        "LANDFRAC_PFT": rng.uniform(0.2, 1, shp),
        "PCT_SAND": rng.uniform(0, 80, (10, *shp)),
        "PCT_CLAY": rng.uniform(0, 50, (10, *shp)),
        "ORGANIC": rng.uniform(0, 130, (10, *shp)),
        "PCT_NAT_PFT": rng.uniform(0, 100, (17, *shp)),
    }
    lead = {
        "PCT_SAND": ("nlevsoi",),
        "PCT_CLAY": ("nlevsoi",),
        "ORGANIC": ("nlevsoi",),
        "PCT_NAT_PFT": ("natpft",),
    }
    grid = ("gridcell",) if one_d else ("lsmlat", "lsmlon")
    variables = {
        "LATIXY": (grid, lat2.ravel() if one_d else lat2),
        "LONGXY": (grid, lon2.ravel() if one_d else lon2),
    }
    for name, x in fields.items():
        x = x.reshape(*x.shape[: x.ndim - 2], -1) if one_d else x
        variables[name] = (lead.get(name, ()) + grid, x)
    write_netcdf(path, variables)
    return lat2.ravel(), lon2.ravel()


@pytest.mark.parametrize("one_d", [False, True])
def test_surface_layouts_match_netcdf4(tmp_path: Path, one_d: bool) -> None:
    path = tmp_path / "surfdata.nc"
    plat, plon = _surf(path, one_d)
    s = read_surface(path, LAT, LON)
    assert s.layout == ("1d" if one_d else "2d")
    flat = _nearest(plat, plon, LAT, LON)
    with netCDF4.Dataset(path) as ds:
        for name, got in (("AREA", s.area), ("PCT_SAND", s.pct_sand), ("PCT_NAT_PFT", s.pct_nat_pft)):
            x = np.asarray(ds[name][:])
            x = x.reshape(*x.shape[: x.ndim - (1 if one_d else 2)], -1)[..., flat]
            np.testing.assert_array_equal(got, x)
    static, area = F.read_static(path, LAT, LON, np.ones((LAT.size, 12, len(FORCING_VARS))))
    np.testing.assert_allclose(area, s.area * s.landfrac * 1e6)
    np.testing.assert_allclose(static[:, F.STATIC_VARS.index("pct_sand")], s.pct_sand[:3].mean(axis=0))


def test_surface_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.nc"
    write_netcdf(path, {"LATIXY": (("gridcell",), np.zeros(2)), "LONGXY": (("gridcell",), np.zeros(2))})
    with pytest.raises(VariableNotFoundError, match="AREA"):
        read_surface(path, LAT, LON)


# -- errors ------------------------------------------------------------------------------------
def test_missing_variable_named(tmp_path: Path) -> None:
    ser = _series(365 * 24, 2)
    del ser["WIND"]
    W.write_all_hourly(tmp_path / "all_hourly.nc", ser, np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(VariableNotFoundError, match=r"all_hourly.nc.*WIND"):
        forcing_climatology(tmp_path, LAT, LON, progress=False)


def test_non_whole_years(tmp_path: Path) -> None:
    ser = {v: x[: 300 * 24] for v, x in _series(365 * 24, 1).items()}
    W.write_all_hourly(tmp_path / "all_hourly.nc", ser, np.array([0.0]), np.array([0.0]))
    with pytest.raises(ShapeError, match="not whole 365-day years"):
        forcing_climatology(tmp_path, LAT, LON, progress=False)


def test_nan_names_file_variable_and_cell(tmp_path: Path) -> None:
    glat, glon = _datm(tmp_path, spd=4, ny=1)
    p = next(tmp_path.glob("clmforc.*.TPQWL.2001-03.nc"))
    j = int(np.abs(glat - LAT[2]).argmin())
    i = int(np.abs((glon - LON[2] + 180) % 360 - 180).argmin())
    with netCDF4.Dataset(p, "a") as ds:
        ds["QBOT"][5, j, i] = np.nan
    with pytest.raises(InvalidValueError, match=r"TPQWL.2001-03.nc' variable QBOT.*gridcell 2"):
        forcing_climatology(tmp_path, LAT, LON, progress=False)
    with netCDF4.Dataset(p, "a") as ds:
        ds["QBOT"][5, j, i] = 1e36  # the fill value
    with pytest.raises(InvalidValueError, match="gridcell 2"):
        forcing_climatology(tmp_path, LAT, LON, progress=False)


def test_missing_month_and_truncated_file(tmp_path: Path) -> None:
    _datm(tmp_path, spd=4, ny=1)
    p = next(tmp_path.glob("clmforc.*.Prec.2001-07.nc"))
    data = p.read_bytes()
    p.unlink()
    with pytest.raises(ElmaiFileError, match=r"2001-07 of stream Prec.*Prec.2001-07.nc"):
        forcing_climatology(tmp_path, LAT, LON, progress=False)
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(ElmaiError, match="Prec.2001-07.nc"):
        forcing_climatology(tmp_path, LAT, LON, progress=False)
    p.write_bytes(b"not a netcdf file")
    with pytest.raises(ElmaiError, match="Prec.2001-07.nc"):
        forcing_climatology(tmp_path, LAT, LON, progress=False)
    with pytest.raises(ElmaiError, match="holds no forcing"):
        forcing_climatology(tmp_path / "..", LAT, LON)


# -- CLI and memory ----------------------------------------------------------------------------
def test_cli_end_to_end(tmp_path: Path) -> None:
    forc = tmp_path / "datm"
    _datm(forc, spd=4, ny=1)
    out = tmp_path / "clim.nc"
    args = ["--lat", *map(str, LAT), "--lon", *map(str, LON)]
    r = subprocess.run([str(ELMAI), "forcing", "climatology", str(forc), "--out", str(out), *args],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "4 gridcells" in r.stdout and "datm" in r.stdout
    direct = forcing_climatology(forc, LAT, LON, progress=False)
    with netCDF4.Dataset(out) as ds:
        assert ds["TBOT"].dimensions == ("time", "gridcell")
        np.testing.assert_allclose(np.asarray(ds["TBOT"][:]).T, direct[:, :, 0], rtol=1e-15)
    # the output is itself a forcing input (what --forcing of spinup/dataset build takes)
    np.testing.assert_array_equal(F.read_forcing(out, LAT, LON), direct)
    # errors exit 2 with a message naming the problem
    cmd = [str(ELMAI), "forcing", "climatology", str(tmp_path / "nope"), "--out", str(out), *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_cli_cells_from_restart(tmp_path: Path) -> None:
    from elmai.io.restart import open_restart
    from elmai.io.sample_restart import make_sample_restart

    rst = tmp_path / "r.nc"
    make_sample_restart(rst, ngridcells=5)
    with open_restart(rst) as r:
        lat, lon = r.subgrid.gridcell_lat, r.subgrid.gridcell_lon
    forc = tmp_path / "f.datm.forcing.nc"
    _monthly_file(forc, ny=1)
    out = tmp_path / "clim.nc"
    r = subprocess.run([sys.executable, "-m", "elmai", "forcing", "climatology", str(forc), "--out", str(out),
                        "--restart", str(rst), "--no-progress"], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(forcing_climatology(out, lat, lon), forcing_climatology(forc, lat, lon))


def test_memory_bounded_by_one_file(tmp_path: Path) -> None:
    """Reading 36 monthly files peaks at about what one file's variable takes, not 36 x."""
    glat, glon = np.arange(-89.5, 90, 3.0), np.arange(0.5, 360, 3.0)
    spd, nt = 8, 365 * 8
    rng = np.random.default_rng(0)
    ser = {v: np.full((nt, glat.size, glon.size), b, np.float32) for v, b in BASE.items()}
    ser["TBOT"] += rng.standard_normal(ser["TBOT"].shape).astype(np.float32)
    W.write_datm_streams(tmp_path, ser, glat, glon, steps_per_day=spd)
    del ser
    one_var = 31 * spd * glat.size * glon.size * 4  # largest variable of one file, as stored
    lat, lon = rng.uniform(-80, 80, 500), rng.uniform(0, 360, 500)
    tracemalloc.start()
    forcing_climatology(tmp_path, lat, lon, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert peak < 4 * one_var, (peak, one_var)
    assert peak < total / 8, (peak, total)


@pytest.mark.parametrize("form", ["cpl_bypass", "datm"])
def test_testbed_writes_real_forcing_forms_that_spinup_reads(
    form: str, tmp_path: Path, trained_small_model: Path
) -> None:
    """A testbed run writes its forcing in a real ELM form; its climatology equals the
    monthly file's (packing aside) and `elmai spinup --forcing DIR` runs on it."""
    from elmai.apps.testbed.run import run_testbed
    from elmai.data import features as F
    from elmai.spinup import ai_spinup

    case = tmp_path / "case"
    run_testbed(case, resolution=20.0, years=2, forcing_years=1, progress=False, forcing_form=form)
    raw = case / f"forcing_{form}"
    early = case / "elmai_testbed.elm.r.0003-01-01-00000.nc"
    cells = F.read_cell_pools(early)
    monthly = F.read_forcing(case / "elmai_testbed.datm.forcing.nc", cells.lat, cells.lon)
    from_raw = F.read_forcing(raw, cells.lat, cells.lon)
    # int16 packing (cpl_bypass) and float32 (datm) cost at most ~1e-4 of each variable's range
    span = monthly.max(axis=(0, 1)) - monthly.min(axis=(0, 1))
    assert (np.abs(from_raw - monthly).max(axis=(0, 1)) / span).max() < 1e-3
    res = ai_spinup(early, trained_small_model, tmp_path / "ai.nc", forcing=str(raw), force=True)
    assert res.cells == cells.lat.size
