"""The testbed restart against a real ELM restart (OLMT Kougarok, ELM 341537c, in
../shared/data/elm): the same dimension names, the same dims, dtypes and attribute names for
every variable both hold, subgrid maps 1-based and consistent (checked on both files), pft-
level totvegc and column totals equal to ELM's formulas recomputed with netCDF4-python, and
a two-topounit + crop + glacier-cell world written and read back exactly."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.apps.testbed.dynamics import State
from elmai.apps.testbed.restart import read_testbed_state, write_testbed_restart
from elmai.apps.testbed.world import World
from elmai.io import elm_names as N
from elmai.io.soil_levels import DZSOI_DECOMP

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "elm" / "site_fullrun_docker_tr_demo_fini.nc"
needs_real = pytest.mark.skipif(not REAL.exists(), reason="the real ELM restart is not here")
FIELDS = ("veg_c", "soil_c", "soil_n", "soil_p", "sminn", "sminp")


def _world_restart(tmp: Path, **options) -> tuple[World, State, Path]:
    world = World.build(10.0, forcing_years=2, seed=3, **options)
    model = world.model()
    state = State.bare(world.grid.ngrid)
    model.advance(state, world.climate, 0, 2)
    path = tmp / "tb.elm.r.0003-01-01-00000.nc"
    write_testbed_restart(path, world.grid, model, state, 3, "tb", {"seed": np.int32(3)}, world.layout())
    return world, state, path


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory):
    return _world_restart(tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory):
    return _world_restart(tmp_path_factory.mktemp("rich"), topounits=2, crop=True, glacier_cells=True)


def _open(path: Path) -> netCDF4.Dataset:
    ds = netCDF4.Dataset(path)
    ds.set_auto_mask(False)
    return ds


def _read(ds: netCDF4.Dataset, name: str) -> np.ndarray:
    return np.asarray(ds[name][...])


@needs_real
def test_dimensions_variables_and_attributes_match_elm(plain) -> None:
    with _open(REAL) as real, _open(plain[2]) as tb:
        assert set(tb.dimensions) <= set(real.dimensions)
        entity = {"gridcell", "topounit", "landunit", "column", "pft"}
        for name, dim in tb.dimensions.items():
            if name not in entity:
                assert len(dim) == len(real.dimensions[name]), name
        shared = [v for v in tb.variables if v in real.variables]
        assert len(shared) > 150
        for name in shared:
            a, b = real[name], tb[name]
            assert a.dimensions == b.dimensions, name
            assert a.dtype == b.dtype, name
            assert list(a.ncattrs()) == list(b.ncattrs()), name
        extra = set(tb.variables) - set(real.variables)
        assert extra == {"sminn", "sminp"}  # testbed-only: an exact continuation
        assert "cwdc" not in tb.variables and "cwdc" not in real.variables
        for name in N.ELM_NAN_DIAGNOSTICS:
            assert tb[name].dimensions == real[name].dimensions and np.isnan(_read(tb, name)).all()
        missing = {a for a in real.ncattrs() if a not in tb.ncattrs()}
        assert missing <= {"username", "host"}
        assert tb.data_model == real.data_model


def check_subgrid(ds: netCDF4.Dataset) -> None:
    """ELM's subgrid invariants, for the real file and the testbed's alike."""
    ng, nt, nl, nc, npft = (
        len(ds.dimensions[d]) for d in ("gridcell", "topounit", "landunit", "column", "pft")
    )
    r = {k: _read(ds, k) for k in ds.variables if k[:7] in ("topo1d_", "land1d_", "cols1d_", "pfts1d_")}
    for prefix, size in (("topo1d", ng), ("land1d", ng), ("cols1d", ng), ("pfts1d", ng)):
        idx = r[f"{prefix}_gridcell_index"]
        assert idx.min() == 1 and idx.max() == size  # 1-based, every gridcell used
    cl, pc, pl = r["cols1d_landunit_index"] - 1, r["pfts1d_column_index"] - 1, r["pfts1d_landunit_index"] - 1
    assert cl.min() == 0 and cl.max() == nl - 1 and pc.min() == 0 and pc.max() == nc - 1
    np.testing.assert_array_equal(r["cols1d_gridcell_index"], r["land1d_gridcell_index"][cl])
    np.testing.assert_array_equal(r["cols1d_topounit_index"], r["land1d_topounit_index"][cl])
    np.testing.assert_array_equal(pl, cl[pc])
    np.testing.assert_array_equal(r["pfts1d_topounit_index"], r["cols1d_topounit_index"][pc])
    np.testing.assert_array_equal(
        r["land1d_gridcell_index"], r["topo1d_gridcell_index"][r["land1d_topounit_index"] - 1]
    )
    np.testing.assert_array_equal(r["cols1d_ityplun"], r["land1d_ityplun"][cl])
    np.testing.assert_array_equal(r["pfts1d_itypcol"], r["cols1d_ityp"][pc])
    assert nt == r["topo1d_gridcell_index"].size
    # weights: landunits sum to 1 per gridcell, columns per landunit, pfts per column
    np.testing.assert_allclose(np.bincount(r["land1d_gridcell_index"] - 1, r["land1d_wtxy"]), 1, rtol=1e-6)
    np.testing.assert_allclose(np.bincount(cl, r["cols1d_wtlnd"], nl), 1, rtol=1e-6)
    np.testing.assert_allclose(np.bincount(pc, r["pfts1d_wtcol"], nc), 1, rtol=1e-6)
    np.testing.assert_allclose(r["cols1d_wtxy"], r["land1d_wtxy"][cl] * r["cols1d_wtlnd"], atol=1e-7)
    np.testing.assert_allclose(r["pfts1d_wtxy"], r["cols1d_wtxy"][pc] * r["pfts1d_wtcol"], atol=1e-7)
    np.testing.assert_allclose(r["pfts1d_wtlnd"], r["cols1d_wtlnd"][pc] * r["pfts1d_wtcol"], atol=1e-7)
    # one natural column per topounit holding all natural pfts; urban landunits: 5 columns, 1 pft each
    lt = r["land1d_ityplun"]
    natural = np.nonzero(lt == N.ISTSOIL)[0]
    assert natural.size == nt and np.all(np.bincount(cl, minlength=nl)[natural] == 1)
    per_col = np.bincount(pc, minlength=nc)
    natcol = np.nonzero(r["cols1d_ityp"] == N.ISTSOIL)[0]
    assert np.all(np.isin(per_col[natcol], (15, 17)))
    for ltype in N.URBAN_LANDUNITS:
        cols = np.nonzero(r["cols1d_ityplun"] == ltype)[0]
        assert cols.size == 5 * nt and np.all(per_col[cols] == 1)
        np.testing.assert_array_equal(r["cols1d_ityp"][cols], np.tile(N.URBAN_COLUMN_TYPES, nt))
    special = ~np.isin(r["pfts1d_ityplun"], (N.ISTSOIL, N.ISTCROP))
    assert np.all(r["pfts1d_itypveg"][special] == 0)
    # activity (subgridWeightsMod): a pft is active on an active column with wtcol > 0
    active_p = (r["cols1d_active"][pc] == 1) & (r["pfts1d_wtcol"] > 0)
    np.testing.assert_array_equal(r["pfts1d_active"] == 1, active_p)


@needs_real
def test_subgrid_rules_hold_on_the_real_file() -> None:
    with _open(REAL) as real:
        check_subgrid(real)


def test_subgrid_of_the_testbed(plain, rich) -> None:
    for _, _, path in (plain, rich):
        with _open(path) as ds:
            check_subgrid(ds)


def elm_totals(ds: netCDF4.Dataset) -> dict[str, np.ndarray]:
    """ELM's summaries (VegetationDataType veg_cs_summary, ColumnDataType col_*_summary)
    recomputed from the pools of a restart."""
    g = {k: _read(ds, k) for k in ds.variables}
    pc, wt = g["pfts1d_column_index"] - 1, g["pfts1d_wtcol"]
    nc = len(ds.dimensions["column"])
    totvegc = sum(g[n] for n in N.pft_pool_names("c")) + g["gresp_storage"] + g["gresp_xfer"] + g["cpool"]

    def p2c(x: np.ndarray) -> np.ndarray:
        return np.bincount(pc, x * wt, nc)

    def stock(name: str) -> np.ndarray:
        return g[name][:, : N.NLEVDECOMP] @ DZSOI_DECOMP

    out = {"totvegc": totvegc}
    for e in "cnp":
        out[f"totlit{e}"] = sum(stock(f"litr{i}{e}_vr") for i in (1, 2, 3))
        out[f"totsom{e}"] = sum(stock(f"soil{i}{e}_vr") for i in (1, 2, 3, 4))
        out[f"cwd{e}"] = stock(f"cwd{e}_vr")
    out["totcolc"] = p2c(totvegc + g["xsmrpool"]) + out["cwdc"] + out["totlitc"] + out["totsomc"]
    vegn = sum(g[n] for n in N.pft_pool_names("n"))
    vegp = sum(g[n] for n in N.pft_pool_names("p"))
    sminn = stock("sminn_vr")
    sminp = stock("solutionp_vr") + stock("labilep_vr") + stock("secondp_vr")
    out["totcoln"] = p2c(vegn) + out["cwdn"] + out["totlitn"] + out["totsomn"] + sminn
    out["totcolp"] = p2c(vegp) + out["cwdp"] + out["totlitp"] + out["totsomp"] + sminp
    return out


def test_totals_are_elms_formulas(plain, rich) -> None:
    for _, _, path in (plain, rich):
        with _open(path) as ds:
            assert ds["totvegc"].dimensions == ("pft",)
            for name, expected in elm_totals(ds).items():
                if name in ds.variables:
                    np.testing.assert_allclose(_read(ds, name), expected, rtol=1e-12, atol=1e-9, err_msg=name)
            special = ~np.isin(_read(ds, "cols1d_ityplun"), N.BGC_LANDUNITS)
            for name in ("totcolc", "totsomc", "soil4c_vr", "cwdc_vr", "sminn_vr"):
                assert np.all(_read(ds, name)[special] == 0), name
            assert np.all(_read(ds, "scalaravg_col")[special] == N.SPVAL)


@needs_real
def test_real_file_totals_follow_the_same_formulas() -> None:
    """The formulas hold on ELM's own file on active pfts and columns (ELM summarises over
    its active filters only: the zero-weight pfts' seed pools leave a stale totvegc)."""
    with _open(REAL) as real:
        totals = elm_totals(real)
        active = {"pft": _read(real, "pfts1d_active") == 1, "column": _read(real, "cols1d_active") == 1}
        for name in ("totvegc", "totsomc", "totlitc", "totcolc", "totsomp", "totlitp", "cwdp"):
            on = active[real[name].dimensions[0]]
            np.testing.assert_allclose(
                _read(real, name)[on], totals[name][on], rtol=1e-6, atol=1e-6, err_msg=name
            )


def test_two_topounits_crop_and_glacier_cells(rich) -> None:
    world, state, path = rich
    ng = world.grid.ngrid
    with _open(path) as ds:
        assert len(ds.dimensions["topounit"]) == 2 * ng
        lt, active = _read(ds, "land1d_ityplun"), _read(ds, "land1d_active")
        wt, lg = _read(ds, "land1d_wtxy"), _read(ds, "land1d_gridcell_index") - 1
        # crop landunit per topounit: c3_crop and c3_irrigated columns (type 200 + cft), zero pools
        crop_cols = np.nonzero(_read(ds, "cols1d_ityplun") == N.ISTCROP)[0]
        assert crop_cols.size == 2 * 2 * ng
        assert set(_read(ds, "cols1d_ityp")[crop_cols]) == {215, 216}
        assert np.all(_read(ds, "totcolc")[crop_cols] == 0)
        crop_pfts = _read(ds, "pfts1d_ityplun") == N.ISTCROP
        assert set(_read(ds, "pfts1d_itypveg")[crop_pfts]) == {15, 16}
        assert ds.getncattr("cft_lb") == 15 and ds.getncattr("cft_ub") == 16
        # the natural column holds pfts 0..14 only
        natp = _read(ds, "pfts1d_itypcol") == N.ISTSOIL
        assert _read(ds, "pfts1d_itypveg")[natp].max() == 14
        # glacier-only gridcells: a zero-weight, inactive natural landunit and a glacier of weight 1
        glacier_only = np.bincount(lg[lt == N.ISTICE], wt[lt == N.ISTICE], ng) > 1 - 1e-9
        assert glacier_only.any() and not glacier_only.all()
        nat = lt == N.ISTSOIL
        assert np.all(active[nat][glacier_only[lg[nat]]] == 0)
        assert np.all(active[nat][~glacier_only[lg[nat]]] == 1)
        assert np.any((lt == N.ISTDLAK) | (lt == N.ISTWET))
        # both topounits' natural columns carry the gridcell's state
        ncols = np.nonzero(_read(ds, "cols1d_ityp") == N.ISTSOIL)[0]
        cg = _read(ds, "cols1d_gridcell_index")[ncols] - 1
        soil4 = _read(ds, "soil4c_vr")[ncols, :10]
        np.testing.assert_array_equal(soil4, state.soil_c[7][cg])
    back = read_testbed_state(path, world.model())
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(back, name), getattr(state, name), err_msg=name)


def test_surface_landunit_percentages(rich, tmp_path: Path) -> None:
    from elmai.apps.testbed.files import write_surface

    world = rich[0]
    path = tmp_path / "surf.nc"
    write_surface(path, world.grid, world.surface)
    with _open(path) as ds:
        land = world.grid.land
        total = sum(
            _read(ds, n)[land] for n in ("PCT_NATVEG", "PCT_CROP", "PCT_LAKE", "PCT_WETLAND", "PCT_GLACIER")
        )
        total = total + _read(ds, "PCT_URBAN").sum(axis=0)[land]
        np.testing.assert_allclose(total, 100.0, atol=1e-9)
        assert ds["PCT_URBAN"].dimensions == ("numurbl", "lsmlat", "lsmlon")
        np.testing.assert_allclose(_read(ds, "PCT_CFT").sum(axis=0)[land], 100.0, atol=1e-9)


def test_elmai_check_passes_on_every_layout(plain, rich) -> None:
    import elmai

    for _, _, path in (plain, rich):
        report = elmai.check_restart(path)
        assert report.ok, report.table()
