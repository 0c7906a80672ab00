"""Time-series models (issue 9): test-period NSE of the LSTM and the transformer on the
CAMELS basins against climatology and persistence, of the LSTM on the testbed's monthly
GPP and NEE; and DDP training time on 2 ranks against 1 (fixed epochs)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import torch
import yaml

from benchmarks.common import BenchResult, Figure
from elmai.apps.timeseries.train import TimeseriesConfig, train_timeseries
from elmai.ml.distributed import mpirun_command

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "timeseries"


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def run(quick: bool = False) -> BenchResult:
    torch.set_num_threads(1)
    context: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("camels_lstm", "camels_transformer", "testbed_gpp_lstm", "testbed_nee_lstm"):
            cfg = TimeseriesConfig.load(CONFIGS / f"{name}.yaml")
            cfg.out = str(tmp / name)
            if quick:
                cfg.training["epochs"] = 1
            s = train_timeseries(cfg, progress=False)
            med = s["median_nse"]
            if name.startswith("camels"):
                rows = []
                ok = True
                for basin, v in s["per_entity"].items():
                    nse = {k: v[k]["nse"] for k in v}
                    ok &= nse["model"] > max(nse["climatology"], nse["persistence"])
                    rows.append(
                        f"{basin} {nse['model']:.3f} (clim {nse['climatology']:.3f}, "
                        f"pers {nse['persistence']:.3f})"
                    )
                context[f"{name} test NSE"] = (
                    "; ".join(rows) + f" | above both baselines on every basin: {_verdict(ok)}"
                )
            else:
                context[f"{name} test NSE (median of {s['scored_entities']} cells)"] = (
                    f"model {med['model']:.3f}, climatology {med['climatology']:.3f}, persistence "
                    f"{med['persistence']:.3f}; beats both on {s['beats_both_baselines']:.0%} of cells | "
                    f">= 0.65: {_verdict(med['model'] >= 0.65)}"
                )
        # DDP: the GPP LSTM for a fixed number of epochs on 1 and 2 ranks
        cfg = yaml.safe_load((CONFIGS / "testbed_gpp_lstm.yaml").read_text())
        cfg["data"]["run"] = str((CONFIGS / cfg["data"]["run"]).resolve())
        cfg["training"].update(epochs=2 if quick else 16, patience=100)
        times = {}
        for ranks in (1, 2):
            cfg["out"] = str(tmp / f"ddp{ranks}")
            f = tmp / f"ddp{ranks}.yaml"
            f.write_text(yaml.safe_dump(cfg))
            cmd, env = mpirun_command(ranks, "timeseries", "train", "--config", str(f))
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            times[ranks] = time.perf_counter() - t0
    figures = [
        Figure(
            f"GPP LSTM, {cfg['training']['epochs']} epochs, 2 ranks",
            times[2],
            "1 rank",
            times[1],
            "<= 0.75",
            note="includes reading the ELM files",
        )
    ]
    return BenchResult(
        "timeseries",
        "LSTM/transformer flux and streamflow models",
        figures,
        context,
    )
