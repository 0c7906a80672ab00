"""Ensembles, emulators, DBUQ, MCMC and Sobol indices, against exact answers: a
linear-Gaussian posterior, AR(1) autocorrelation, the Ishigami function's indices, and
the testbed itself for the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch

from elmai.apps.testbed.ensemble import Ensemble, apply, draw, read_param_list, run_ensemble
from elmai.apps.uq.dbuq import DBUQ, DBUQConfig
from elmai.apps.uq.emulator import PCA, EmulatorConfig, load, predict, r2, save, train_emulator
from elmai.apps.uq.mcmc import ess, run_until_ess
from elmai.apps.uq.priors import GaussianPrior, UniformPrior, gaussian_log_likelihood
from elmai.apps.uq.sobol import sobol_indices
from elmai.errors import ElmaiError
from tests.conftest import shared_data
from tests.mpi_helpers import ELMAI, mpirun

ROOT = Path(__file__).resolve().parents[1]
PARAM_LIST = ROOT / "configs" / "ensemble_params.txt"

# y = A theta + noise, theta ~ N(0, I): the posterior is Gaussian and known exactly
A = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, -0.5], [0.3, 0.0, 1.0], [1.0, 1.0, 1.0]])
SIGMA = np.full(4, 0.5)


def exact_posterior(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cov = np.linalg.inv(np.eye(3) + A.T @ np.diag(SIGMA**-2) @ A)
    return cov @ A.T @ (obs / SIGMA**2), np.sqrt(np.diag(cov))


@pytest.fixture(scope="module")
def linear_dbuq() -> DBUQ:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(10000, 3))
    return DBUQ(theta, theta @ A.T, SIGMA, DBUQConfig(labels=3000)).fit()


@pytest.mark.parametrize("case", [0, 1])
def test_dbuq_and_mcmc_match_the_exact_linear_gaussian_posterior(linear_dbuq: DBUQ, case: int) -> None:
    # two observations, one trained generator: amortisation
    rng = np.random.default_rng(10 + case)
    obs = A @ rng.normal(size=3) + rng.normal(size=4) * SIGMA
    mean, std = exact_posterior(obs)
    d = linear_dbuq.sample(obs, 5000, seed=case)
    prior = GaussianPrior(np.zeros(3), np.eye(3))

    def log_post(x: np.ndarray) -> np.ndarray:
        return prior.log_prob(x) + gaussian_log_likelihood(x @ A.T, obs, SIGMA)

    mc = run_until_ess(log_post, rng.normal(size=(8, 3)), np.full(3, 0.3), 2000, burn=1000, block=1000)
    assert mc.ess.min() >= 2000
    for label, s in (("DBUQ", d), ("MCMC", mc.flat)):
        assert np.all(np.abs(s.mean(0) - mean) <= 0.1 * std), (label, s.mean(0), mean)
        assert np.all(np.abs(s.std(0) - std) <= 0.1 * std), (label, s.std(0), std)


def test_dbuq_with_many_observations_some_constant() -> None:
    # 60 outputs (10 never vary, as a desert's GPP): conditioned on principal components
    rng = np.random.default_rng(3)
    a = np.vstack([rng.normal(size=(50, 2)) / np.sqrt(10), np.zeros((10, 2))])
    sigma = np.full(60, 1.0)
    theta = rng.normal(size=(10000, 2))
    db = DBUQ(theta, theta @ a.T, sigma, DBUQConfig(labels=3000))
    assert db.basis is not None and db.basis.shape[0] <= 32
    db.fit()
    obs = a @ np.array([0.7, -0.4]) + rng.normal(size=60) * sigma
    cov = np.linalg.inv(np.eye(2) + a.T @ a)
    mean, std = cov @ a.T @ obs, np.sqrt(np.diag(cov))
    s = db.sample(obs, 5000)
    assert np.all(np.abs(s.mean(0) - mean) <= 0.1 * std) and np.all(np.abs(s.std(0) - std) <= 0.1 * std)


def test_dbuq_in_a_box_matches_the_exact_truncated_normal_posterior() -> None:
    # theta ~ U(0, 1)^2, y = theta + N(0, 0.1^2): the posterior is a normal truncated to the
    # box, known exactly; one observation inside, one near the edges (Gaussianised coordinates)
    from scipy.stats import truncnorm

    rng = np.random.default_rng(4)
    theta = rng.random((10000, 2))
    sd = 0.1
    db = DBUQ(theta, theta, sd, bounds=(np.zeros(2), np.ones(2))).fit()
    # a posterior cut by the box's edge is the hardest shape for the generator: its spread
    # is held to 20% there (the MLP generator without bounds: 12%, and 8% of its samples
    # fell outside the box)
    for obs, tol in ((np.array([0.55, 0.35]), 0.1), (np.array([0.04, 0.97]), 0.2)):
        exact = truncnorm((0 - obs) / sd, (1 - obs) / sd, loc=obs, scale=sd)
        s = db.sample(obs, 5000)
        assert s.min() >= 0 and s.max() <= 1, "samples left the prior's box"
        assert np.all(np.abs(s.mean(0) - exact.mean()) <= 0.1 * exact.std()), (obs, s.mean(0), exact.mean())
        assert np.all(np.abs(s.std(0) - exact.std()) <= tol * exact.std()), (obs, s.std(0), exact.std())
    with pytest.raises(ElmaiError, match="bounds"):
        DBUQ(theta, theta, sd, bounds=(np.zeros(2), np.full(2, 0.5)))


def test_random_features_fit_a_smooth_map_and_pick_their_ridge() -> None:
    from elmai.ml.random_features import RandomFeatureConfig, fit_random_features

    rng = np.random.default_rng(5)
    x = rng.normal(size=(2000, 3))
    y = np.stack([np.sin(x[:, 0]) * x[:, 1], np.tanh(x[:, 2]) + 0.5 * x[:, 0]], axis=1)
    net, info = fit_random_features(x, y + 0.01 * rng.normal(size=y.shape), RandomFeatureConfig(features=256))
    xt = rng.normal(size=(500, 3))
    yt = np.stack([np.sin(xt[:, 0]) * xt[:, 1], np.tanh(xt[:, 2]) + 0.5 * xt[:, 0]], axis=1)
    pred = net(torch.as_tensor(xt, dtype=torch.float32)).double().numpy()
    assert r2(pred, yt) > 0.99 and info["ridge"] in RandomFeatureConfig().ridges
    with pytest.raises(ElmaiError, match="random features"):
        fit_random_features(x[:5], y[:5])


def test_dbuq_refuses_bad_input(linear_dbuq: DBUQ) -> None:
    with pytest.raises(ElmaiError, match="shape"):
        linear_dbuq.sample(np.zeros(3), 10)
    with pytest.raises(ElmaiError, match="NaN"):
        linear_dbuq.sample(np.array([0.0, np.nan, 0.0, 0.0]), 10)
    with pytest.raises(ElmaiError, match="sigma"):
        DBUQ(np.zeros((5, 2)), np.zeros((5, 1)), 0.0)
    with pytest.raises(ElmaiError, match="NaN"):
        DBUQ(np.full((5, 2), np.nan), np.zeros((5, 1)), 1.0)


def test_calibrate_refuses_too_few_joint_samples() -> None:
    from elmai.apps.uq.calibration import calibrate

    em = torch.nn.Linear(2, 3)
    with pytest.raises(ElmaiError, match="joint samples, got 10"):
        calibrate(em, UniformPrior(np.zeros(2), np.ones(2)), np.zeros(3), 1.0, ["a", "b"], joint=10)


def test_ess_of_an_ar1_chain_matches_its_integrated_autocorrelation_time() -> None:
    rng = np.random.default_rng(0)
    phi, n, chains = 0.9, 20000, 4
    x = np.zeros((chains, n, 1))
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + rng.normal(size=(chains, 1))
    expected = chains * n * (1 - phi) / (1 + phi)
    assert abs(ess(x)[0] / expected - 1) < 0.15
    iid = rng.normal(size=(chains, n, 2))
    assert np.all(np.abs(ess(iid) / (chains * n) - 1) < 0.15)


def test_uniform_prior_is_zero_outside_its_box() -> None:
    p = UniformPrior(np.zeros(2), np.array([1.0, 2.0]))
    lp = p.log_prob(np.array([[0.5, 1.0], [1.5, 1.0], [0.5, -0.1]]))
    assert lp[0] == pytest.approx(-np.log(2.0)) and np.isneginf(lp[1:]).all()
    s = p.sample(1000, np.random.default_rng(0))
    assert np.isfinite(p.log_prob(s)).all()


def test_sobol_indices_of_the_ishigami_function() -> None:
    # analytic indices for a = 7, b = 0.1 on [-pi, pi]^3
    def ishigami(x: np.ndarray) -> np.ndarray:
        return (np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0]))[:, None]

    res = sobol_indices(ishigami, ["x1", "x2", "x3"], np.full(3, -np.pi), np.full(3, np.pi), n=4096)
    np.testing.assert_allclose(res.first[0], [0.3139, 0.4424, 0.0], atol=0.04)
    np.testing.assert_allclose(res.total[0], [0.5576, 0.4424, 0.2437], atol=0.04)


def test_pca_keeps_the_variance_asked_for_and_reconstructs() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 200)) + 0.001 * rng.normal(size=(50, 200))
    pca = PCA.fit(y, 0.999)
    assert pca.k == 3 and pca.explained.sum() >= 0.999
    assert np.abs(pca.reconstruct(pca.scores(y)) - y).max() < 0.02
    full = PCA.fit(y, 1.0)
    np.testing.assert_allclose(full.reconstruct(full.scores(y)), y, atol=1e-9)


# -- the testbed ensemble ------------------------------------------------------------------
def test_param_list_errors_name_file_and_line(tmp_path: Path) -> None:
    cases = {
        "nonsense_param 1 2\n": "not a parameter",
        "slatop 2 1\n": "min < max",
        "slatop 1\n": "expected",
        "q10_hr 3 1 2\n": "PFT index",
        "slatop x 2\n": "line 1",
        "# only a comment\n": "no parameters",
    }
    for i, (text, message) in enumerate(cases.items()):
        f = tmp_path / f"p{i}.txt"
        f.write_text(text)
        with pytest.raises(ElmaiError, match=message) as e:
            read_param_list(f)
        assert str(f) in str(e.value)


def test_parameter_sets_apply_as_documented() -> None:
    from elmai.io.elm_params import default_params

    specs = read_param_list(PARAM_LIST)
    base = default_params()
    values = np.array([s.low for s in specs])
    p = apply(base, specs, values)
    np.testing.assert_allclose(p.pft["slatop"], base.pft["slatop"] * 0.5)  # scaled, all PFTs
    assert p.ctc["q10_hr"] == 1.3  # scalar: the value
    assert p.pft["stem_leaf"][4] == 0.5 and p.pft["stem_leaf"][1] == base.pft["stem_leaf"][1]  # one PFT
    assert base.pft["slatop"][1] == 0.01  # the base is untouched
    lhs = draw(specs, 10, seed=1, latin=True)
    unit = (lhs - values) / np.array([s.high - s.low for s in specs])
    for j in range(len(specs)):  # a Latin hypercube: one draw in each tenth of every range
        assert sorted(np.floor(unit[:, j] * 10).astype(int)) == list(range(10))


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ensemble")
    mpirun(
        2,
        "testbed",
        "ensemble",
        "--param-list",
        str(PARAM_LIST),
        "--n",
        "60",
        "--years",
        "4",
        "--out",
        str(out),
        "--lhs",
    )
    return out / "ensemble.nc"


def test_ensemble_under_mpirun_equals_serial_runs_and_file_is_readable(ensemble: Path) -> None:
    specs = read_param_list(PARAM_LIST)
    serial = run_ensemble(specs, 60, None, years=4, latin=True, progress=False)
    assert serial is not None
    with netCDF4.Dataset(ensemble) as ds:  # independent reader
        assert ds.getncattr("param_names").split() == [s.label for s in specs]
        np.testing.assert_array_equal(ds["parameters"][:], draw(specs, 60, latin=True))
        for name in ("GPP", "NEE"):
            assert ds[name].dimensions == ("member", "year", "gridcell")
            np.testing.assert_allclose(ds[name][:], serial.outputs[name], rtol=1e-12)
    gpp = serial.outputs["GPP"]
    assert (gpp >= 0).all() and np.isfinite(serial.outputs["NEE"]).all()
    # members differ because their parameters do
    assert np.std(gpp[:, -1].sum(-1)) / np.mean(gpp[:, -1].sum(-1)) > 0.02


def test_reduced_emulator_reproduces_held_out_runs(ensemble: Path, tmp_path: Path) -> None:
    ens = Ensemble.load(ensemble)
    y = ens.flat("GPP")
    em, summary = train_emulator(ens.params[:50], y[:50], ens.low, ens.high, EmulatorConfig(reduce=True))
    assert summary["components"] < 20 and summary["explained_variance"] >= 0.999
    assert r2(predict(em, ens.params[50:]), y[50:]) > 0.9
    save(em, tmp_path / "em.pt", ens.names, "GPP", summary)
    scripted, meta = load(tmp_path / "em.pt")
    x = torch.as_tensor(ens.params[50:], dtype=torch.float32)
    torch.testing.assert_close(scripted(x), em(x))
    assert meta["names"] == ens.names and meta["output"] == "GPP"
    with pytest.raises(ElmaiError, match="does not exist"):
        load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ElmaiError, match="not a TorchScript emulator"):
        load(tmp_path / "junk.pt")


def test_cli_emulate_sobol_and_calibrate_on_a_testbed_ensemble(ensemble: Path, tmp_path: Path) -> None:
    import subprocess

    em_dir = tmp_path / "em"
    mpirun(
        2,
        "uq",
        "emulate",
        "train",
        "--ensemble",
        str(ensemble),
        "--out",
        str(em_dir),
        "--test",
        "10",
        "--epochs",
        "400",
    )
    summary = json.loads((em_dir / "emulator.json").read_text())
    assert summary["reduced"] and summary["test_r2"] > 0.8
    assert (em_dir / "fit.png").stat().st_size > 0

    def run(*args: str) -> str:
        proc = subprocess.run([ELMAI, *args], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        return proc.stdout

    run(
        "uq",
        "emulate",
        "sobol",
        "--emulator",
        str(em_dir / "emulator.pt"),
        "--ensemble",
        str(ensemble),
        "--n",
        "256",
        "--out",
        str(tmp_path / "sobol"),
    )
    sob = json.loads((tmp_path / "sobol" / "sobol.json").read_text())["year 4"]
    # the soil parameters cannot change GPP: the emulator must have learned that
    assert sob["q10_hr"]["ST"] < 0.05 and sob["k_s1"]["ST"] < 0.05
    assert max(v["ST"] for v in sob.values()) == max(
        sob["slatop_scale"]["ST"], sob["froot_leaf_scale"]["ST"], sob["leaf_long_scale"]["ST"]
    )

    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3\n")
    proc = subprocess.run(
        [
            ELMAI,
            "uq",
            "calibrate",
            "--emulator",
            str(em_dir / "emulator.pt"),
            "--obs",
            str(bad),
            "--sigma",
            "1",
            "--out",
            str(tmp_path / "c"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "observation has 3 values" in proc.stderr


def test_ozark_dbuq_agrees_with_mcmc_and_covers_the_truth(tmp_path: Path) -> None:
    from elmai.apps.uq.calibration import calibrate, load_ozark, plot

    ens = load_ozark(shared_data("genai4uq_elm"))
    y, theta = ens.flat("EFLX_LH_TOT"), ens.params
    member = 974  # GenAI4UQ's example member, held out of the emulator
    keep = np.arange(ens.nmember) != member
    torch.manual_seed(0)
    em, _ = train_emulator(theta[keep][:900], y[keep][:900], ens.low, ens.high, EmulatorConfig(reduce=False))
    assert r2(predict(em, theta[keep][900:]), y[keep][900:]) > 0.98
    obs = y[member] + np.random.default_rng(1).normal(size=5)
    cal = calibrate(
        em,
        UniformPrior(ens.low, ens.high),
        obs,
        1.0,
        ens.names,
        truth=theta[member],
        progress=False,
    )
    s = cal.summary
    assert s["max_mean_difference_prior_range"] < 0.1
    # spreads too: most parameters are barely informed (posterior ~ prior), one is pinned
    ratio = np.array(s["dbuq_std"]) / np.array(s["mcmc_std"])
    assert 0.85 < np.median(ratio) < 1.15 and ratio.min() > 0.7 and ratio.max() < 1.5, ratio
    assert all(s["truth_in_95_interval"]["dbuq"]) and all(s["truth_in_95_interval"]["mcmc"])
    assert s["mcmc_ess_min"] >= 2000
    assert all(Path(p).stat().st_size > 0 for p in plot(cal, em, tmp_path))
