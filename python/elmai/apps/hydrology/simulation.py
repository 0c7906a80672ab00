"""Simulation mode (no observed streamflow as input): train an LSTM or transformer on
forcing + static attributes over the training basins and period, score every basin on the
test period against the day-of-year climatology, write metrics.json, the CDF plot and
resolved_config.yaml into the run folder."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from elmai.apps.hydrology import caravan
from elmai.apps.hydrology.config import HydrologyConfig
from elmai.apps.hydrology.dataset import Prepared, eval_ends, gather, prepare, training_windows
from elmai.apps.hydrology.evaluate import per_basin, summary
from elmai.apps.timeseries.metrics import climatology


def select_basins(cfg: HydrologyConfig) -> list[str] | None:
    d = cfg.data
    if "basins" in d:
        return [str(b) for b in d["basins"]]
    if "basin_file" in d:
        return caravan.read_basin_list(d["basin_file"])
    return None


def load_data(cfg: HydrologyConfig) -> caravan.Caravan:
    d = cfg.data
    data = caravan.load(d.get("netcdf"), select_basins(cfg), d["static"], d.get("attribute_csvs"))
    if "n_basins" in d and d["n_basins"] < len(data.basins):  # the reduced configuration
        rng = np.random.default_rng(d["basin_seed"])
        keep = sorted(rng.choice(len(data.basins), d["n_basins"], replace=False).tolist())
        data = data.subset([data.basins[i] for i in keep])
    return data


def predict(model, p: Prepared, basins: np.ndarray, period: slice, seq: int, last: int, batch: int = 64):
    """Predictions (target units) of `basins` over `period`: windows whose last `last` days
    tile the period; basin x period-length array."""
    import torch

    ends = eval_ends(period, seq, last)
    out = np.full((len(basins), period.stop - period.start), np.nan, np.float32)
    model.eval()
    pairs = np.array([(b, e) for b in basins for e in ends])
    with torch.no_grad():
        for i in range(0, len(pairs), batch):
            chunk = pairs[i : i + batch]
            x, s, _ = gather(p, chunk, seq)
            pred = model(torch.from_numpy(x), torch.from_numpy(s)).numpy()[:, -last:]
            for (b, e), row in zip(chunk, pred, strict=True):
                days = np.arange(e - last + 1, e + 1)
                ok = days >= period.start
                out[np.searchsorted(basins, b), days[ok] - period.start] = row[ok]
    return p.y_scaler.invert(out)


def run_simulation(
    cfg: HydrologyConfig, overwrite: bool = False, log: Callable[[str], None] | None = print
) -> dict:
    import torch

    from elmai import config_file as cf
    from elmai.apps.hydrology.models import build
    from elmai.apps.hydrology.train import fit

    t_start = time.perf_counter()
    tr = cfg.training
    torch.set_num_threads(tr["threads"])
    record = cf.prepare_output(cfg.out, cfg, overwrite=overwrite, kind="hydrology-simulation")
    data = load_data(cfg)
    seq, last = tr["seq_length"], tr["predict_last"]
    train = data.index(*cfg.periods["train"])
    test = data.index(*cfg.periods["test"])
    lo = min(train.start, test.start) - seq + 1
    used = slice(max(0, lo), max(train.stop, test.stop))
    basins = np.arange(len(data.basins))
    p = prepare(data, cfg.data["dynamic"], cfg.data["static"], cfg.data["target"], basins, train, used)
    pairs = training_windows(p.y, basins, train, seq, last)
    bstd = torch.from_numpy(p.basin_std)

    def batch(rng: np.random.Generator):
        pick = pairs[rng.integers(0, len(pairs), tr["batch_size"])]
        x, s, y = gather(p, pick, seq)
        y[:, :-last] = np.nan  # the first days of a window are warm-up: not in the loss
        return (torch.from_numpy(x), torch.from_numpy(s)), torch.from_numpy(y), bstd[pick[:, 0]]

    torch.manual_seed(tr["seed"])
    m = cfg.model
    model = build(
        m["type"], p.x.shape[-1], p.static.shape[-1], m["hidden"], m["dropout"], last, m.get("span", 60)
    )
    cf.write_resolved(cfg.out, record)
    history = fit(model, batch, tr["epochs"], tr["steps_per_epoch"], tr["lr"], tr["seed"], log, tr["device"])
    model.to("cpu")  # scoring and saving on the CPU
    sim = predict(model, p, basins, test, seq, last)
    obs = p.q[:, test]
    doy = data.doy()
    clim = climatology(p.q, doy, np.arange(train.start, train.stop), smooth=15)[:, test]
    scores = {"model": per_basin(sim, obs, data.basins), "climatology": per_basin(clim, obs, data.basins)}
    out = Path(cfg.out)
    from elmai.apps.hydrology.plots import nse_cdf

    nse_cdf(
        {
            k: [s["nse"] for s in v.values()]
            for k, v in (
                ("model " + m["type"], scores["model"]),
                ("day-of-year climatology", scores["climatology"]),
            )
        },
        out / "nse_cdf.png",
        f"{cfg.name}: test {cfg.periods['test'][0]}..{cfg.periods['test'][1]}, {len(data.basins)} basins",
    )
    result = {
        "name": cfg.name,
        "model": m["type"],
        "basins": len(data.basins),
        "periods": cfg.periods,
        "summary": {k: summary(v) for k, v in scores.items()},
        "median_nse": {k: summary(v)["nse"]["median"] for k, v in scores.items()},
        "per_basin": scores,
        "missing_target_days_test": int(np.isnan(obs).sum()),
        "history": history,
        "parameters": int(sum(t.numel() for t in model.parameters())),
        "wall_seconds": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=1))
    torch.save(model.state_dict(), out / "model.pt")
    return result
