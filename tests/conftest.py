"""Shared fixtures: ELM-layout restarts in every NetCDF format, written both by elmai and
independently by netCDF4-python, plus the real data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from elmai.io.sample_restart import make_sample_restart

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FORMATS = ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA", "NETCDF4"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow") or os.environ.get("ELMAI_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow or ELMAI_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path} (tests use ../shared beside the checkout)")
    return path


def rewrite_with_netcdf4(src: Path, dst: Path, fmt: str) -> None:
    """Copy a file with netCDF4-python alone: an independent writer for reader tests."""
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(dst, "w", format=fmt) as b:
        a.set_auto_maskandscale(False)
        b.set_fill_off()
        for name, dim in a.dimensions.items():
            b.createDimension(name, None if dim.isunlimited() else len(dim))
        b.setncatts({k: a.getncattr(k) for k in a.ncattrs()})
        for name, var in a.variables.items():
            fill = var.getncattr("_FillValue") if "_FillValue" in var.ncattrs() else None
            out = b.createVariable(name, var.dtype, var.dimensions, fill_value=fill)
            out.setncatts({k: var.getncattr(k) for k in var.ncattrs() if k != "_FillValue"})
        for name, var in a.variables.items():
            b.variables[name].set_auto_maskandscale(False)
            b.variables[name][...] = var[...]


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("restarts")


WRITERS = [(w, f) for w in ("elmai", "nc4py") for f in FORMATS]


def make_restart(directory: Path, writer: str, fmt: str) -> Path:
    """A restart in format `fmt` written by elmai ("elmai") or netCDF4-python ("nc4py")."""
    path = directory / f"{writer}_{fmt}.elm.r.0021-01-01-00000.nc"
    if path.exists():
        return path
    if writer == "elmai":
        make_sample_restart(path, ngridcells=40, format=fmt, record_dim=True, seed=1)
    else:
        base = directory / "base_for_nc4py.nc"
        if not base.exists():
            make_sample_restart(base, ngridcells=30, format="NETCDF4", record_dim=True, seed=2)
        rewrite_with_netcdf4(base, path, fmt)
    return path


@pytest.fixture(scope="session", params=WRITERS, ids=[f"{w}-{f}" for w, f in WRITERS])
def any_restart(request: pytest.FixtureRequest, sample_dir: Path) -> Path:
    """An ELM-layout restart with a record dimension, for each writer and format."""
    return make_restart(sample_dir, *request.param)


@pytest.fixture(scope="session", params=FORMATS)
def elmai_restart(request: pytest.FixtureRequest, sample_dir: Path) -> Path:
    return make_restart(sample_dir, "elmai", request.param)


def read_all_netcdf4(path: Path) -> dict[str, np.ndarray]:
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        ds.set_auto_chartostring(False)
        return {name: np.asarray(var[...]) for name, var in ds.variables.items()}


@pytest.fixture(scope="session")
def trained_small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spin-up model briefly trained on a 10 deg testbed world (exported, sidecar beside)."""
    from elmai.apps.testbed.run import run_testbed
    from elmai.data import build_dataset
    from elmai.training.config import TrainConfig
    from elmai.training.export import export
    from elmai.training.trainer import train

    root = tmp_path_factory.mktemp("small_model")
    run_testbed(root / "case", resolution=10.0, years=4, forcing_years=4, equilibrium=True, progress=False)
    build_dataset(root / "case", 5, root / "ds.nc")
    cfg = TrainConfig(dataset=str(root / "ds.nc"), out=str(root / "run"), epochs=4, batch_size=32, lr=0.003)
    train(cfg, progress=False)
    export(root / "run" / "best.pt", root / "model.pt")
    return root / "model.pt"
