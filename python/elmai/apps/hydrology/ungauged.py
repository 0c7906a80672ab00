"""Ungauged basins (Geo-RS-LSTM, Tayal et al., ERL 2024): k-fold cross-validation over
basins. Each fold trains on the other basins in the training years and is judged on its
held-out basins in the later years. Four input sets, same LSTM:
- lstm: forcing only;
- geo_lstm: + catchment attributes (climate indices, terrain, soils, area);
- rs_lstm: + satellite-derived attributes, not images (HydroATLAS land cover, snow cover,
  glacier, forest, cropland, ... derived from remote sensing; no imagery is offline);
- geo_rs_lstm: both."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

GEO = [
    "p_mean",
    "pet_mean",
    "aridity",
    "frac_snow",
    "seasonality",
    "high_prec_freq",
    "low_prec_freq",
    "area",
    "ele_mt_sav",
    "slp_dg_sav",
    "cly_pc_sav",
    "snd_pc_sav",
    "kar_pc_sse",
]
# HydroATLAS columns derived from satellite products: GLC2000 land cover classes, MODIS snow
# cover, forest / cropland / pasture / urban / irrigated / glacier / lake extent, GLWD wetlands
RS = [
    "for_pc_sse",
    "crp_pc_sse",
    "pst_pc_sse",
    "urb_pc_sse",
    "ire_pc_sse",
    "gla_pc_sse",
    "lka_pc_sse",
    "snw_pc_syr",
    "wet_pc_sg1",
    "glc_pc_s01",
    "glc_pc_s05",
    "glc_pc_s11",
    "glc_pc_s13",
    "glc_pc_s16",
]
INPUT_SETS = {"lstm": [], "geo_lstm": GEO, "rs_lstm": RS, "geo_rs_lstm": GEO + RS}
PERIODS = {"train": ("1981-01-01", "2007-12-31"), "test": ("2008-01-01", "2014-12-31")}
LABEL = "satellite-derived attributes, not images"


def folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """Held-out basin positions of each of `k` folds (a seeded permutation, split evenly)."""
    return np.array_split(np.random.default_rng(seed).permutation(n), k)


def run_ungauged(
    data,
    dynamic: list[str],
    k: int,
    models: list[str],
    seq: int,
    last: int,
    hidden: int,
    epochs: int,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    n_folds_run: int | None = None,
    log: Callable[[str], None] | None = print,
) -> dict:
    """Per model and fold the held-out basins' test NSEs; `n_folds_run` < k runs only the
    first folds (the reduced configuration)."""
    import torch

    from elmai.apps.hydrology.dataset import gather, prepare, training_windows
    from elmai.apps.hydrology.evaluate import per_basin
    from elmai.apps.hydrology.models import LSTMSim
    from elmai.apps.hydrology.simulation import predict
    from elmai.apps.hydrology.train import fit

    train = data.index(*PERIODS["train"])
    test = data.index(*PERIODS["test"])
    held = folds(len(data.basins), k, seed)
    out: dict = {name: {"folds": []} for name in models}
    for f, test_b in enumerate(held[: n_folds_run or k]):
        train_b = np.setdiff1d(np.arange(len(data.basins)), test_b)
        for name in models:
            static = INPUT_SETS[name]
            p = prepare(data, dynamic, static, "streamflow", train_b, train, slice(0, test.stop))
            pairs = training_windows(p.y, train_b, train, seq, last)
            bstd = torch.from_numpy(p.basin_std)

            def batch(rng: np.random.Generator, p=p, pairs=pairs, bstd=bstd):
                pick = pairs[rng.integers(0, len(pairs), batch_size)]
                x, s, y = gather(p, pick, seq)
                y[:, :-last] = np.nan
                return (torch.from_numpy(x), torch.from_numpy(s)), torch.from_numpy(y), bstd[pick[:, 0]]

            torch.manual_seed(seed + f)
            model = LSTMSim(p.x.shape[-1], p.static.shape[-1], hidden)
            if log:
                log(
                    f"ungauged fold {f + 1}/{k} {name}: {len(train_b)} training basins, "
                    f"{len(test_b)} held out"
                )
            hist = fit(model, batch, epochs, steps, lr, seed + f, None)
            sim = predict(model, p, np.sort(test_b), test, seq, last)
            scores = per_basin(sim, p.q[np.sort(test_b)][:, test], [data.basins[i] for i in np.sort(test_b)])
            nses = [s["nse"] for s in scores.values()]
            out[name]["folds"].append(
                {
                    "held_out": len(test_b),
                    "nse": scores,
                    "median_nse": float(np.nanmedian(nses)),
                    "train_seconds": hist["seconds"],
                }
            )
            if log:
                log(f"  median held-out NSE {np.nanmedian(nses):.3f} ({hist['seconds']:.0f} s)")
    for name in models:
        all_nse = [s["nse"] for fold in out[name]["folds"] for s in fold["nse"].values()]
        out[name]["median_nse"] = float(np.nanmedian(all_nse))
        out[name]["basins_judged"] = len(all_nse)
        out[name]["attributes"] = INPUT_SETS[name]
    return out
