"""`elmai refine`: the Newton step from a restart and the restart one forcing cycle later.

The judge is the testbed's matrix equilibrium (an independent solver): a restart whose
slow pools are a few percent off it, run for one cycle and refined, must land an order of
magnitude closer. The wood cycle map is checked against its closed form, and bad inputs
get clear errors with nothing written."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from elmai.apps.testbed.run import run_testbed
from elmai.apps.testbed.verify import verify
from elmai.data import features as F
from elmai.errors import ElmaiError
from elmai.io.elm_params import default_params
from elmai.io.soil_levels import DZSOI_DECOMP
from elmai.spinup.merge import ALL_POOLS
from elmai.spinup.newton import newton_pools, wood_map
from elmai.spinup.refine import refine_spinup
from elmai.spinup.run import write_checked

ELMAI = str(Path(sys.executable).with_name("elmai"))
CYCLE = 4
SLOW = ("cwd", "soil3", "soil4")
DEAD = [F.PFT_POOLS.index(v) for v in ("deadstemc", "deadcrootc")]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def slow_errors(cells: F.CellPools, truth: F.CellPools) -> np.ndarray:
    """Relative errors of the column stocks of CWD, soil3, soil4 and of dead wood."""
    out = []
    for pool in SLOW:
        k = F.SOIL_POOLS.index(pool)
        a, b = cells.soil[..., k] @ DZSOI_DECOMP, truth.soil[..., k] @ DZSOI_DECOMP
        out.append(np.abs(a - b)[b > 1.0] / b[b > 1.0])
    a, b = cells.pft[..., DEAD], truth.pft[..., DEAD]
    out.append(np.abs(a - b)[b > 1.0] / b[b > 1.0])
    return np.concatenate(out)


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The matrix equilibrium of a 10 deg world, its slow pools moved by +-3% per column
    (smoothly over levels, as an AI error is), and one forcing cycle run from there."""
    root = tmp_path_factory.mktemp("refine")
    case = root / "case"
    run_testbed(case, resolution=10.0, years=CYCLE, forcing_years=CYCLE, equilibrium=True, progress=False)
    eq = case / f"elmai_testbed.equilibrium.elm.r.{CYCLE + 1:04d}-01-01-00000.nc"
    cells = F.read_cell_pools(eq)
    rng = np.random.default_rng(3)
    soil, pft = cells.soil.copy(), cells.pft.copy()
    for pool in SLOW:
        k = F.SOIL_POOLS.index(pool)
        soil[..., k] *= 1 + rng.uniform(-0.03, 0.03, (soil.shape[0], 1))
    pft[..., DEAD] *= 1 + rng.uniform(-0.03, 0.03, (pft.shape[0], pft.shape[1], 1))
    start = case / f"off.elm.r.{CYCLE + 1:04d}-01-01-00000.nc"
    note = "test: slow pools moved off equilibrium"
    write_checked(eq, start, cells, pft, soil, default_params(), note, False, pools=ALL_POOLS)
    run = verify(start, CYCLE, root / "cycle", progress=False)
    end = Path(run.restarts[-1])
    return {"root": root, "eq": eq, "start": start, "end": end}


def test_wood_cycle_map_matches_its_closed_form() -> None:
    prm = default_params()
    t, a, m = 7.0, prm.ctc["lwtop_ann"], prm.ctc["r_mort"]
    assert (a, m) == (0.7, 0.02)  # clm_params_c211124vpft.nc
    p = wood_map(t, prm)
    np.testing.assert_allclose(p[0], [np.exp(-(a + m) * t), 0.0], atol=1e-14)
    np.testing.assert_allclose(p[1], [np.exp(-m * t) * (1 - np.exp(-a * t)), np.exp(-m * t)], rtol=1e-12)


def test_refine_lands_ten_times_closer_to_the_matrix_equilibrium(perturbed: dict, tmp_path: Path) -> None:
    start, end, eq = perturbed["start"], perturbed["end"], perturbed["eq"]
    before = {p: sha(p) for p in (start, end)}
    out = tmp_path / "refined.elm.r.0005-01-01-00000.nc"
    res = refine_spinup(start, end, out)
    assert res.checks_ok and res.years == CYCLE
    assert res.rate_source.startswith("h0 scalars")  # the cycle run's history
    assert {p: sha(p) for p in (start, end)} == before
    truth = F.read_cell_pools(eq)
    err_start = slow_errors(F.read_cell_pools(start), truth)
    err_refined = slow_errors(F.read_cell_pools(out), truth)
    assert np.median(err_start) > 0.01
    assert np.median(err_refined) < 0.1 * np.median(err_start)
    assert np.percentile(err_refined, 97) < 0.1 * np.percentile(err_start, 97)
    assert res.change["soil4"]["median"] > 0.005  # the step moved the slow pools, by about the error
    # solving the columns a few at a time changes nothing
    c0, c1 = F.read_cell_pools(start), F.read_cell_pools(end)
    rate = F.decomposition_rates(default_params(), None, c0.scalaravg)  # the other source of rates
    whole = newton_pools(c0, c1, rate, default_params(), CYCLE)
    chunked = newton_pools(c0, c1, rate, default_params(), CYCLE, chunk=7)
    for a, b in zip(whole[:2], chunked[:2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_cli_refine_and_its_errors(perturbed: dict, tmp_path: Path) -> None:
    start, end = perturbed["start"], perturbed["end"]
    out = tmp_path / "cli.nc"
    proc = subprocess.run(
        [ELMAI, "refine", "--start", str(start), "--end", str(end), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "soil4" in proc.stdout and f"wrote {out}" in proc.stdout and out.exists()
    with pytest.raises(ElmaiError, match="never modifies its input"):
        refine_spinup(start, end, start)
    with pytest.raises(ElmaiError, match="must be later"):
        refine_spinup(end, start, tmp_path / "x.nc")
    ad = tmp_path / "ad"
    run_testbed(ad, resolution=10.0, years=CYCLE, forcing_years=CYCLE, spinup="ad", progress=False)
    ad_start = ad / f"elmai_testbed.elm.r.{CYCLE + 1:04d}-01-01-00000.nc"
    # an AD-mode start is the AD route's (ELM leaves AD when the cycle starts); the cycle
    # itself must be native
    with pytest.raises(ElmaiError, match="AD-mode.*native mode"):
        refine_spinup(start, ad_start, tmp_path / "y.nc", years=CYCLE)
    other = tmp_path / "coarse"
    run_testbed(other, resolution=20.0, years=CYCLE * 2, forcing_years=CYCLE, progress=False)
    with pytest.raises(ElmaiError, match="not the same grid"):
        refine_spinup(start, next(other.glob("*.elm.r.*.nc")), tmp_path / "z.nc")
    assert not any(tmp_path.glob("[xyz].nc")) and not any(tmp_path.glob(".*unchecked"))


def test_matrix_exponential_matches_scipy_and_ignores_its_neighbours() -> None:
    """refine's numpy expm against scipy.linalg.expm (an independent Pade implementation),
    on cascade-like matrices from slow to stiff; a matrix's result is the same alone or in
    a stack with others."""
    from scipy.linalg import expm as scipy_expm

    from elmai.spinup.newton import expm

    rng = np.random.default_rng(0)
    n = 40
    for scale in (0.05, 3.0, 300.0):
        a = rng.uniform(0, 1, (6, n, n)) * scale / n - np.eye(n) * scale * rng.uniform(0.5, 1.5, (6, 1, 1))
        got = expm(a)
        for g, m in zip(got, a, strict=True):
            ref = scipy_expm(m)
            np.testing.assert_allclose(g, ref, rtol=1e-11, atol=1e-13 * np.abs(ref).max())
        np.testing.assert_array_equal(expm(a[2:3]), got[2:3])


def test_a_frozen_column_keeps_its_cycle_end_state_instead_of_a_singular_solve(perturbed: dict) -> None:
    """ELM's decomposition scalars are 0 all year in frozen soils (real ELM sites at 73 N and
    69 S): those pool levels do not relax, P - I is singular there, and the step keeps the
    state the cycle ended in; the other columns are solved as before."""
    start, end = F.read_cell_pools(perturbed["start"]), F.read_cell_pools(perturbed["end"])
    prm = default_params()
    rate = F.decomposition_rates(prm, None, None, np.full(start.soil.shape[:2], 0.5))
    _, base_soil, _ = newton_pools(start, end, rate, prm, CYCLE)
    frozen = rate.copy()
    frozen[0] = 0.0  # every pool level of column 0
    frozen[1, 5:] = 0.0  # the deep levels of column 1
    pft, soil, _ = newton_pools(start, end, frozen, prm, CYCLE)
    assert np.isfinite(soil).all() and np.isfinite(pft).all()
    np.testing.assert_allclose(soil[0], np.maximum(end.soil[0], 0.0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(soil[1, 5:], np.maximum(end.soil[1, 5:], 0.0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(soil[2:], base_soil[2:], rtol=1e-12)
