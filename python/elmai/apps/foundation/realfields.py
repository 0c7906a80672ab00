"""A small real-data demonstration, not a foundation-model result: CF-NetCDF gridded
fields read onto the model's channels (names mapped, units converted, longitudes put in
0..360 order, missing values NaN), and a next-month forecast fine-tuned on them. The
default is the COADS marine climatology at 2 deg (Debian package ferret-datasets: air
temperature, specific humidity, wind speed and sea-level pressure, 12 months): the
pretrained model takes this subset of its variables as it is (variable aggregation),
although it never saw an ocean cell."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from elmai.apps.foundation.metrics import rmse
from elmai.apps.foundation.model import FoundationViT
from elmai.apps.foundation.objective import lat_weights, weighted_mse
from elmai.apps.foundation.variables import forward_transform
from elmai.errors import ElmaiFileError, ShapeError, VariableNotFoundError

__all__ = ["COADS", "COADS_FILE", "read_cf_maps", "real_forecast_demo"]

COADS_FILE = Path("/usr/share/ferret-vis/data/coads_climatology.cdf")
# file variable -> (channel, conversion to the channel's units)
COADS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "AIRT": ("TBOT", lambda x: x + 273.15),  # deg C -> K
    "SPEH": ("QBOT", lambda x: x / 1000.0),  # g/kg -> kg/kg
    "WSPD": ("WIND", lambda x: x),  # m/s
    "SLP": ("PSRF", lambda x: x * 100.0),  # mb -> Pa (sea level: a proxy of surface pressure)
}


def read_cf_maps(
    path: str | os.PathLike[str], mapping: dict, grid: tuple[int, int]
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(time, channel, lat, lon) in the channels' units with NaN where missing, the channel
    names and the latitudes; the file's grid must be the model's."""
    import netCDF4

    path = Path(path)
    if not path.is_file():
        raise ElmaiFileError(
            f"real-data file '{path}' does not exist (Debian: apt-get install ferret-datasets)"
        )
    maps, names = [], []
    with netCDF4.Dataset(path) as nc:
        for var, (channel, convert) in mapping.items():
            if var not in nc.variables:
                raise VariableNotFoundError(
                    f"'{path}': no variable '{var}' (it has {', '.join(nc.variables)})"
                )
            v = nc[var]
            if v.ndim != 3 or tuple(v.shape[1:]) != tuple(grid):
                raise ShapeError(
                    f"'{path}': variable '{var}' has shape {tuple(v.shape)}, "
                    f"the model wants (time, {grid[0]}, {grid[1]})"
                )
            lat_name, lon_name = v.dimensions[1], v.dimensions[2]
            lat, lon = np.asarray(nc[lat_name][:], float), np.asarray(nc[lon_name][:], float) % 360.0
            data = np.asarray(v[:].astype(np.float64).filled(np.nan))
            order_lon, order_lat = np.argsort(lon), np.argsort(lat)
            maps.append(convert(data[:, order_lat][:, :, order_lon]))
            names.append(channel)
    return np.stack(maps, axis=1), names, lat[order_lat]


def real_forecast_demo(
    model: FoundationViT,
    blob: dict,
    path: str | os.PathLike[str] = COADS_FILE,
    mapping: dict | None = None,
    steps: int = 30,
    test_months: tuple[int, ...] = (8, 9, 10, 11),
    seed: int = 0,
) -> dict:
    """Fine-tune on the month-to-month transitions into the other months, score the
    transitions into `test_months` (raw units, latitude-weighted, cells with every field)
    against persistence."""
    raw, names, lat = read_cf_maps(path, mapping or COADS, model.grid)
    idx = [blob["variables"].index(n) for n in names]
    mean = np.asarray(blob["mean"])[idx].reshape(1, -1, 1, 1)
    std = np.asarray(blob["std"])[idx].reshape(1, -1, 1, 1)
    valid = np.isfinite(raw).all(axis=(0, 1))
    z = np.where(valid, (forward_transform(raw, names, axis=1) - mean) / std, 0.0).astype(np.float32)
    nt = raw.shape[0]
    weights = lat_weights(lat, valid)
    train = [t for t in range(nt) if (t + 1) % nt not in test_months]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    t0 = time.perf_counter()
    for step in range(steps):
        pick = np.random.default_rng([seed, step]).choice(train, size=4)
        x = torch.from_numpy(z[pick])
        y = torch.from_numpy(z[(pick + 1) % nt])
        loss = weighted_mse(model(x, names, torch.ones(len(pick)), names), y, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - t0
    src = np.array([(m - 1) % nt for m in test_months])
    with torch.no_grad():
        pred = model(torch.from_numpy(z[src]), names, torch.ones(len(src)), names).numpy()
    pred_raw = np.where(valid, 0.0, np.nan) + (
        pred * std + mean
    )  # standardised -> raw (no log channels here)
    target = np.where(valid, raw[np.array(test_months)], np.nan)
    persist = np.where(valid, raw[src], np.nan)
    out = {
        "file": str(path),
        "label": "small real-data demonstration, not a foundation-model result",
        "cells": int(valid.sum()),
        "train_transitions": len(train),
        "test_months": list(test_months),
        "finetune_seconds": seconds,
        "variables": {},
    }
    for j, n in enumerate(names):
        v, p = rmse(pred_raw[:, j], target[:, j], lat), rmse(persist[:, j], target[:, j], lat)
        out["variables"][n] = {
            "vit_rmse": v,
            "persistence_rmse": p,
            "rmse_vs_persistence": v / p if p > 0 else float("inf"),
        }
    return out
