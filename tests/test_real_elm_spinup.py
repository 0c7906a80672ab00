"""The product's main job on a REAL ELM restart (../shared/data/elm: OLMT Kougarok,
ICB1850CNPRDCTCBC, ELM 341537c; 4 landunits, 16 columns, 32 pfts, zero-weight pfts with
ELM's seed pools, floating soil C:P): `elmai spinup` writes a restart in which only the
spun-up pools (decomposing pools and dead wood), their N and P and ELM's totals changed
(netCDF4-python is the independent reader), N and P as ELM keeps them, and `elmai refine`
runs on the same layout."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pytest

import elmai
from elmai.data import features as F
from elmai.errors import ParameterFileError
from elmai.io import elm_names as N
from elmai.io.elm_params import read_params
from elmai.io.soil_levels import DZSOI_DECOMP
from elmai.spinup import ai_spinup
from elmai.spinup.refine import refine_spinup
from tests.conftest import shared_data
from tests.real_elm_case import PARAMS, make_case

SLOW_C = ("deadstemc", "deadcrootc", "cwdc_vr", "soil3c_vr", "soil4c_vr")  # moved 1% in the refine test
TOTALS = ("totvegc", "totlitc", "totsomc", "totcolc", "totcoln", "totsomp", "totlitp", "totcolp", "cwdp")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def allowed_changes() -> set[str]:
    slow = {"deadstem", "deadcroot"}
    pft = {f"{p}{e}" for p in slow for e in "cnp"}
    soil = {N.vr_pool(p, e) for p in N.CTC_POOLS for e in "cnp"}
    return pft | soil | set(TOTALS)


@pytest.fixture(scope="module")
def real_case(tmp_path_factory: pytest.TempPathFactory, trained_small_model: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("kougarok")
    restart = make_case(shared_data("elm"), folder)
    return {"restart": restart, "model": trained_small_model, "folder": folder}


def test_the_real_restart_reads_as_one_natural_vegetation_column() -> None:
    cells = F.read_cell_pools(shared_data("elm", "site_fullrun_docker_tr_demo_fini.nc"))
    assert cells.layout == {
        "gridcells": 1,
        "natural_vegetation_columns": 1,
        "crop_columns": 0,
        "special_columns": 15,
        "gridcells_without_natural_vegetation": 0,
    }
    with netCDF4.Dataset(shared_data("elm", "site_fullrun_docker_tr_demo_fini.nc")) as ds:
        np.testing.assert_array_equal(cells.weight[0], ds["pfts1d_wtcol"][:17])
        np.testing.assert_array_equal(cells.soil[0, :, 7], ds["soil4c_vr"][0, :10])
    # the restart's scalaravg_col (from the case's AD phase) is a valid climatological scalar
    assert cells.scalaravg is not None and 0 < cells.scalaravg[0, 3] < 1


def test_spinup_changes_only_the_slow_pools_and_totals_as_elm_keeps_them(
    real_case: dict, tmp_path: Path
) -> None:
    early, out = real_case["restart"], tmp_path / "ai.elm.r.0601-01-01-00000.nc"
    before = sha(early)
    res = ai_spinup(early, real_case["model"], out, force=True)
    assert sha(early) == before
    assert res.layout["special_columns"] == 15
    prm = read_params(real_case["folder"] / PARAMS)
    with netCDF4.Dataset(early) as e0, netCDF4.Dataset(out) as e1:
        e0.set_auto_mask(False)
        e1.set_auto_mask(False)
        changed = {name for name in e0.variables if not same(e0[name][:], e1[name][:])}
        assert changed <= allowed_changes(), changed - allowed_changes()
        assert {"soil4c_vr", "totsomc", "totcolc"} <= changed
        # soil C:N fixed (cn_s), soil C:P as the early file held it (ELM's floats: 359.99 stays)
        for k, pool in ((2, "soil3"), (3, "soil4")):
            c1, n1, p1 = (np.asarray(e1[N.vr_pool(pool, el)][0, :10]) for el in "cnp")
            c0, p0 = (
                np.asarray(e0[N.vr_pool(pool, "c")][0, :10]),
                np.asarray(e0[N.vr_pool(pool, "p")][0, :10]),
            )
            held = (c1 > 0) & (c0 > 0)
            assert held.sum() >= 5
            np.testing.assert_allclose(c1[held] / n1[held], prm.soil_cn[k], rtol=1e-12)
            np.testing.assert_allclose(c1[held] / p1[held], c0[held] / p0[held], rtol=1e-12)
        # seed pools of zero-weight pfts stay, pft 0 (bare ground) too
        w = np.asarray(e0["pfts1d_wtcol"][:])
        zero = np.flatnonzero((w == 0) & (np.asarray(e0["pfts1d_column_index"][:]) == 1))
        for name in ("deadstemc", "leafc", "leafc_storage", "totvegc"):
            np.testing.assert_array_equal(np.asarray(e1[name][:])[zero], np.asarray(e0[name][:])[zero])
        # totals moved by exactly the change of their pools
        d = {
            N.vr_pool(pool, e): (
                np.asarray(e1[N.vr_pool(pool, e)][0, :10]) - np.asarray(e0[N.vr_pool(pool, e)][0, :10])
            )
            @ DZSOI_DECOMP
            for pool in N.CTC_POOLS
            for e in "cp"
        }

        def change(pools: tuple[str, ...], e: str) -> float:
            return sum(d[N.vr_pool(p, e)] for p in pools)

        som, litter = N.SOM_POOLS, N.LITTER_POOLS
        np.testing.assert_allclose(e1["totsomc"][0] - e0["totsomc"][0], change(som, "c"), rtol=1e-9)
        np.testing.assert_allclose(e1["totlitc"][0] - e0["totlitc"][0], change(litter, "c"), rtol=1e-9)
        np.testing.assert_allclose(e1["totsomp"][0] - e0["totsomp"][0], change(som, "p"), rtol=1e-9)
        np.testing.assert_allclose(e1["cwdp"][0] - e0["cwdp"][0], d["cwdp_vr"], rtol=1e-9)
        wood = sum(np.asarray(e1[v][:]) - np.asarray(e0[v][:]) for v in ("deadstemc", "deadcrootc"))
        np.testing.assert_allclose(
            np.asarray(e1["totvegc"][:]) - np.asarray(e0["totvegc"][:]), wood, atol=1e-9
        )
        col = np.asarray(e0["pfts1d_column_index"][:]) == 1
        d_veg = (wood * w)[col].sum()
        np.testing.assert_allclose(
            e1["totcolc"][0] - e0["totcolc"][0],
            d_veg + change(N.CTC_POOLS, "c"),
            rtol=1e-9,
        )
        # special (urban) columns untouched
        np.testing.assert_array_equal(np.asarray(e1["soil4c_vr"][1:]), np.asarray(e0["soil4c_vr"][1:]))


def test_refine_runs_on_the_real_layout(real_case: dict, tmp_path: Path) -> None:
    """No ELM here: the 'cycle later' restart is the AI restart with its slow pools moved
    1% and its date 20 years on; refine must keep the layout's rules (only pools and totals
    change, special columns and seed pools untouched) and take the file's scalaravg_col."""
    ai = tmp_path / "ai.elm.r.0601-01-01-00000.nc"
    ai_spinup(real_case["restart"], real_case["model"], ai, force=True)
    shutil.copyfile(real_case["folder"] / PARAMS, tmp_path / PARAMS)
    end = tmp_path / "cycle" / "case.elm.r.0621-01-01-00000.nc"
    end.parent.mkdir()
    shutil.copyfile(ai, end)
    with netCDF4.Dataset(end, "r+") as ds:
        ds["timemgr_rst_curr_ymd"][...] = 6210101
        for name in SLOW_C:
            ds[name][...] = ds[name][:] * 1.01
    out = tmp_path / "refined.elm.r.0601-01-01-00000.nc"
    res = refine_spinup(ai, end, out, force=True)
    assert res.rate_source == "scalaravg_col" and res.years == 20
    with netCDF4.Dataset(ai) as e0, netCDF4.Dataset(out) as e1:
        e0.set_auto_mask(False)
        e1.set_auto_mask(False)
        np.testing.assert_array_equal(np.asarray(e1["soil4c_vr"][1:]), np.asarray(e0["soil4c_vr"][1:]))
        np.testing.assert_array_equal(np.asarray(e1["leafc_storage"][:]), np.asarray(e0["leafc_storage"][:]))
        assert e1["soil4c_vr"][0, 0] > e0["soil4c_vr"][0, 0]  # heading up: the step follows the 1% rise


def test_a_missing_parameter_file_is_an_error_naming_where_elmai_looked(
    real_case: dict, tmp_path: Path
) -> None:
    lonely = tmp_path / "case.elm.r.0601-01-01-00000.nc"
    shutil.copyfile(real_case["restart"], lonely)
    for name in ("surfdata_kougarok.nc", "OLMT_AK-K64G_ICB1850CNPRDCTCBC.datm.forcing.nc"):
        shutil.copyfile(real_case["folder"] / name, tmp_path / name)
    with pytest.raises(ParameterFileError, match=str(tmp_path)):
        ai_spinup(lonely, real_case["model"], tmp_path / "out.nc")
    assert not (tmp_path / "out.nc").exists()
    assert elmai.__name__ == "elmai"
