"""PI3NN against known noise: coverage, heteroscedastic width, nested levels, OOD widening,
any torch regressor as the mean; the UCI loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from elmai.apps.uq import PI3NN, picp_mpiw, uci
from elmai.apps.uq.uci import load_uci
from elmai.errors import DataNotFoundError
from tests.conftest import ROOT, shared_data


def sample(n: int, seed: int, lo: float = -1.0, hi: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, (n, 1))
    sigma = 0.05 + 0.3 * np.abs(x[:, 0])  # noise grows away from 0
    return x, np.sin(3 * x[:, 0]) + sigma * rng.standard_normal(n), sigma


@pytest.fixture(scope="module")
def fitted() -> PI3NN:
    x, y, _ = sample(3000, 0)
    return PI3NN(epochs=60, hidden=32).fit(x, y)


def test_coverage_matches_the_level_on_new_data(fitted: PI3NN) -> None:
    x, y, _ = sample(20000, 1)
    for level in (0.5, 0.9, 0.95):
        p, _ = picp_mpiw(y, *fitted.interval(x, level))
        assert abs(p - level) < 0.03, (level, p)


def test_cross_fitted_mean_calibrates_on_every_point_and_covers() -> None:
    x, y, _ = sample(600, 5)  # small, as the UCI sets: out-of-fold residuals of all points calibrate
    model = PI3NN(epochs=80, hidden=32, folds=5).fit(x, y)
    assert model.y_cal.numel() == 600 and len(model.mean_net.nets) == 5
    xt, yt, _ = sample(20000, 6)
    p, _ = picp_mpiw(yt, *model.interval(xt, 0.95))
    assert abs(p - 0.95) < 0.03, p


def test_width_follows_the_noise_and_levels_nest(fitted: PI3NN) -> None:
    x = np.array([[0.0], [0.9], [-0.9]])
    widths = {}
    previous = None
    for level in (0.5, 0.8, 0.95, 0.99):
        lo, hi = fitted.interval(x, level)
        assert (lo <= hi).all()  # never cross
        if previous is not None:  # a higher level contains the lower one
            assert (lo <= previous[0] + 1e-6).all() and (hi >= previous[1] - 1e-6).all()
        previous = (lo, hi)
        widths[level] = hi - lo
    assert widths[0.95][1] > 2 * widths[0.95][0] and widths[0.95][2] > 2 * widths[0.95][0]
    # the 95% width at |x| = 0.9 is near the Gaussian 2 x 1.96 sigma (sigma = 0.32)
    assert widths[0.95][1] == pytest.approx(2 * 1.96 * 0.32, rel=0.35)


def test_intervals_widen_out_of_distribution(fitted: PI3NN) -> None:
    x_in, _, _ = sample(2000, 2)
    x_out = np.random.default_rng(3).uniform(3.0, 4.0, (2000, 1))
    _, w_in = picp_mpiw(np.zeros(2000), *fitted.interval(x_in))
    _, w_out = picp_mpiw(np.zeros(2000), *fitted.interval(x_out))
    assert w_out > 2 * w_in


def test_any_torch_regressor_serves_as_the_mean() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, (2000, 2))
    y = 1.5 * x[:, 0] - 0.5 * x[:, 1] + 0.2 * rng.standard_normal(2000)
    mean = torch.nn.Linear(2, 1)
    with torch.no_grad():
        mean.weight[:] = torch.tensor([[1.5, -0.5]])
        mean.bias.zero_()
    model = PI3NN(epochs=40, hidden=16).fit(x, y, mean_net=mean)
    x2 = rng.uniform(-2, 2, (5000, 2))
    y2 = 1.5 * x2[:, 0] - 0.5 * x2[:, 1] + 0.2 * rng.standard_normal(5000)
    p, w = picp_mpiw(y2, *model.interval(x2))
    assert abs(p - 0.95) < 0.03 and w == pytest.approx(2 * 1.96 * 0.2, rel=0.2)


@pytest.mark.parametrize(
    ("name", "shape"),
    [("boston", (506, 13)), ("concrete", (1030, 8)), ("energy", (768, 8)), ("yacht", (308, 6))],
)
def test_uci_sets_load_as_published(name: str, shape: tuple[int, int]) -> None:
    x, y = load_uci(name, shared_data("uci"))
    assert x.shape == shape and y.shape == (shape[0],) and np.isfinite(x).all() and np.isfinite(y).all()


def test_uci_data_folder_comes_from_elmai_data_or_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ELMAI_SHARED_DATA", raising=False)
    monkeypatch.setenv("ELMAI_DATA", str(tmp_path))
    assert uci.data_dir() == tmp_path
    with pytest.raises(DataNotFoundError, match="ELMAI_DATA") as e:
        load_uci("boston")  # not in that folder: the message names where it looked
    assert str(tmp_path / "uci" / "boston-housing") in str(e.value)
    assert isinstance(e.value, FileNotFoundError)
    assert uci.data_dir(tmp_path / "x") == tmp_path / "x"  # an argument wins
    monkeypatch.delenv("ELMAI_DATA")
    assert uci.data_dir() == ROOT.parent / "shared" / "data"  # a source checkout's fallback
    monkeypatch.setattr(uci, "source_checkout", lambda: None)  # an installed wheel: no guess
    with pytest.raises(DataNotFoundError, match="set ELMAI_DATA"):
        uci.data_dir()
    with pytest.raises(DataNotFoundError, match="unknown UCI set 'iris'"):
        load_uci("iris", tmp_path)
