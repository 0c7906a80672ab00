"""Issue 26, data and metrics: the Caravan loader on the real shared file, bad input as
one-line errors naming file/basin/variable/date, normalisation from training data only,
masked loss, strict config, and the metrics against hand-computed values."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.apps.hydrology import caravan
from elmai.apps.hydrology.config import HydrologyConfig
from elmai.apps.hydrology.dataset import prepare
from elmai.apps.timeseries.metrics import alpha_nse, beta_nse, hydro_scores, kge, nse, peak_timing
from elmai.errors import ConfigError, InvalidArgumentError, InvalidValueError, VariableNotFoundError
from tests.conftest import ROOT, shared_data

BASINS = ["01022500", "09107000", "02064000"]


@pytest.fixture(scope="module")
def folder() -> Path:
    return shared_data("caravan_camels")


@pytest.fixture(scope="module")
def data(folder: Path) -> caravan.Caravan:
    return caravan.load(folder / caravan.NETCDF, BASINS, ["p_mean", "area", "for_pc_sse"])


def test_loader_reads_the_real_file(folder: Path) -> None:
    d = caravan.read_netcdf(folder / caravan.NETCDF)
    assert len(d.basins) == 422 and "09107000" in d.basins
    assert str(d.dates[0]) == "1981-01-01" and str(d.dates[-1]) == "2014-12-31" and len(d.dates) == 12418
    assert d.series["streamflow"].shape == (422, 12418)
    with netCDF4.Dataset(folder / caravan.NETCDF) as ds:  # independent read of one value
        i = list(ds["gauge_id"][:]).index("09107000")
        ref = float(ds["temperature_2m_mean"][i, 100])
    assert d.series["temperature_2m_mean"][d.basins.index("09107000"), 100] == pytest.approx(ref)


def test_attributes_by_name_match_the_csv(folder: Path, data: caravan.Caravan) -> None:
    with open(folder / "attributes_caravan_camels.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["gauge_id"] == "camels_09107000")
    assert data.attributes["p_mean"][1] == pytest.approx(float(row["p_mean"]), rel=1e-6)
    assert data.attribute_files["for_pc_sse"].name == "attributes_hydroatlas_camels.csv"


def test_any_caravan_file_round_trips(tmp_path: Path, data: caravan.Caravan) -> None:
    """A Caravan-format file written here with netCDF4 alone (ids with Caravan's prefix)."""
    path = tmp_path / "mini.nc"
    n = 400
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("basin", 2)
        ds.createDimension("date", n)
        g = ds.createVariable("gauge_id", str, ("basin",))
        g[0], g[1] = "camels_01022500", "camels_09107000"
        t = ds.createVariable("date", "i4", ("date",))
        t.units = "days since 1990-01-01"
        t[:] = np.arange(n)
        for v in (*caravan.FORCING, caravan.TARGET):
            ds.createVariable(v, "f4", ("basin", "date"), fill_value=np.nan)[:] = data.series[v][:2, :n]
    d = caravan.read_netcdf(path)
    assert d.basins == ["01022500", "09107000"] and str(d.dates[0]) == "1990-01-01"
    np.testing.assert_array_equal(d.series["streamflow"], data.series["streamflow"][:2, :n])


def test_bad_input_is_one_line_naming_file_basin_variable_date(folder: Path, data: caravan.Caravan) -> None:
    nc = str(folder / caravan.NETCDF)
    with pytest.raises(
        InvalidArgumentError, match=r"caravan_camels_us.nc: basin '99999999' is not in the file"
    ):
        caravan.load(nc, ["99999999"])
    with pytest.raises(VariableNotFoundError, match="attribute 'no_such_attr' is in none of"):
        caravan.load(nc, BASINS[:1], ["no_such_attr"])
    with pytest.raises(InvalidArgumentError, match=r"period 1970-01-01\.\.1980-12-31 is outside the data"):
        data.index("1970-01-01", "1980-12-31")
    bad = data.subset(BASINS)
    bad.series["temperature_2m_mean"] = bad.series["temperature_2m_mean"].copy()
    bad.series["temperature_2m_mean"][1, 366] = np.nan
    with pytest.raises(InvalidValueError) as e:
        bad.check_forcing(list(caravan.FORCING), 0, 1000)
    msg = str(e.value)
    assert "\n" not in msg and all(s in msg for s in (nc, "temperature_2m_mean", "09107000", "1982-01-02"))
    bad.series["streamflow"] = bad.series["streamflow"].copy()
    bad.series["streamflow"][2, 8000:8500] = np.nan
    assert np.isfinite(bad.series["streamflow"][:2, 8000:8500]).any(axis=1).all()
    with pytest.raises(
        InvalidValueError, match="'streamflow' of basin 02064000 is NaN on every day 2002-11-27"
    ):
        bad.check_target(8000, 8500)
    gaps = data.check_target(0, 12418)  # gaps elsewhere are counted, not errors
    assert gaps == {b: int(np.isnan(data.series["streamflow"][i]).sum()) for i, b in enumerate(BASINS)}


def test_normalisation_uses_training_basins_and_dates_only(data: caravan.Caravan) -> None:
    train = data.index("1999-10-01", "2008-09-30")
    p = prepare(data, list(caravan.FORCING), ["p_mean", "area"], "streamflow", np.array([0, 1]), train,
                slice(0, 12418))  # fmt: skip
    raw = data.series["total_precipitation_sum"][:2, train]
    assert p.x_scaler.mean[0] == pytest.approx(raw.mean(), rel=1e-5)
    assert p.s_scaler.mean[1] == pytest.approx(data.attributes["area"][:2].mean(), rel=1e-6)
    assert p.y_scaler.mean == pytest.approx(np.nanmean(data.series["streamflow"][:2, train]), rel=1e-5)
    other = data.subset(BASINS)  # test-period and third-basin values cannot move the statistics
    other.series = {k: v.copy() for k, v in data.series.items()}
    other.series["total_precipitation_sum"][:, : train.start] *= 10
    other.series["total_precipitation_sum"][2] *= 10
    q = prepare(other, list(caravan.FORCING), [], "streamflow", np.array([0, 1]), train, slice(0, 12418))
    np.testing.assert_allclose(q.x_scaler.mean, p.x_scaler.mean)
    assert np.isnan(p.y).any()  # missing streamflow stays missing (masked later)


def test_masked_nse_loss_skips_missing_targets() -> None:
    import torch

    from elmai.apps.hydrology.train import nse_loss

    pred = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], requires_grad=True)
    target = torch.tensor([[1.5, float("nan"), 2.0], [1.0, float("nan"), float("nan")]])
    std = torch.tensor([0.9, 1.9])
    loss = nse_loss(pred, target, std)
    hand = (0.25 / 1.0**2 + 1.0 / 1.0**2 + 1.0 / 2.0**2) / 3  # (std + 0.1)^2 = 1 and 4
    assert loss.item() == pytest.approx(hand)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[0, 1] == 0


def test_metrics_against_hand_computed_values() -> None:
    obs = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    sim = np.array([1.0, 3.0, 3.0, 3.0, 7.0])
    # mean(obs) = 2.5, SSE = 0 + 1 + 0 + 1 = 2, sum (o - mean)^2 = 5 -> NSE 0.6
    assert nse(sim, obs) == pytest.approx(0.6)
    s, o = sim[:4], obs[:4]
    # var(sim) = (2.25 + 3 * 0.25) / 4 = 0.75, var(obs) = 1.25 -> alpha = sqrt(0.6)
    assert alpha_nse(sim, obs) == pytest.approx(math.sqrt(0.6))
    assert beta_nse(sim, obs) == pytest.approx((2.5 - 2.5) / math.sqrt(1.25))
    # cov = 2.25 - 0.25 + 0.25 + 0.75 = 3 (sums), r = 3 / sqrt(3 * 5) = sqrt(0.6); beta = 1
    assert np.corrcoef(s, o)[0, 1] == pytest.approx(math.sqrt(0.6))
    assert kge(sim, obs) == pytest.approx(1 - math.sqrt(2 * (math.sqrt(0.6) - 1) ** 2))
    assert set(hydro_scores(sim, obs)) == {"nse", "kge", "alpha_nse", "beta_nse", "peak_timing"}


def test_peak_timing_finds_the_shift() -> None:
    t = np.arange(400, dtype=float)
    obs = np.exp(-(((t - 100) / 3) ** 2)) + np.exp(-(((t - 300) / 3) ** 2))
    assert peak_timing(obs, obs) == 0
    assert peak_timing(np.roll(obs, 2), obs) == 2  # simulated peaks 2 days late
    assert peak_timing(np.roll(obs, 5), obs) == 3  # beyond the +-3 day window: the window edge
    gap = obs.copy()
    gap[299] = np.nan  # a gap inside the window skips that peak
    assert peak_timing(np.roll(obs, 1), gap) == 1


def test_config_is_strict_and_defaults_to_the_nh_periods(tmp_path: Path) -> None:
    f = tmp_path / "run.yaml"
    f.write_text("name: x\ntraining: {epochs: 1, epochz: 2}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'training.epochz'; allowed in training: batch_size"):
        HydrologyConfig.load(f)
    f.write_text("name: x\nmodel: {type: gru}\n")
    with pytest.raises(ConfigError, match="model.type must be one of lstm, transformer"):
        HydrologyConfig.load(f)
    f.write_text("name: x\nperiods: {test: [1989-10-01]}\n")
    with pytest.raises(ConfigError, match=r"periods.test must be \[start, end\]"):
        HydrologyConfig.load(f)
    f.write_text("name: x\ndata: {n_basins: 3}\nout: r\n")
    cfg = HydrologyConfig.load(f)
    assert cfg.periods["validation"] == ["1981-01-01", "1989-09-30"] and cfg.out == str(tmp_path / "r")


def test_cli_bad_config_is_one_line_and_startup_has_no_torch(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\nmodle: {}\n")
    done = subprocess.run([sys.executable, "-m", "elmai", "hydrology", "train", "--config", str(f)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "'modle'" in done.stderr
    done = subprocess.run([sys.executable, "-m", "elmai", "hydrology", "info", "--basins", "1234"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert done.returncode != 0 and "basin '1234' is not in the file" in done.stderr
    code = "import sys, elmai.cli; elmai.cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False"
