"""`elmai timeseries train --config X.yaml`: LSTM/transformer flux and streamflow models."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    ts = sub.add_parser(
        "timeseries", help="time-series models (LSTM, transformer) scored by NSE"
    ).add_subparsers(dest="timeseries_command", required=True)
    t = ts.add_parser("train", help="train and score one experiment (launch with mpirun -n N for DDP)")
    t.add_argument("--config", required=True, help="experiment YAML (see configs/timeseries/)")
    t.add_argument("--out", help="override the config's output folder")
    t.add_argument("--epochs", type=int, help="override the config's epochs")
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="reuse an output folder that holds another experiment (its resolved_config.yaml differs)",
    )
    t.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from elmai.apps.timeseries.config import TimeseriesConfig

    cfg = TimeseriesConfig.load(args.config)  # before torch loads: a bad config fails fast
    from elmai.apps.timeseries.train import train_timeseries

    if args.out:  # relative to the working directory, as every command-line path
        cfg.out = str(Path(args.out).resolve())
    if args.epochs:
        cfg.training["epochs"] = args.epochs
    summary = train_timeseries(cfg, overwrite=args.overwrite)
    if summary is None:  # not rank 0
        return 0
    print(f"{summary['name']}: {summary['target']}, {summary['entities']} entities, test period")
    print(f"{'':14s} {'model':>8s} {'climatology':>12s} {'persistence':>12s}")
    if summary["per_entity"]:
        for name, s in summary["per_entity"].items():
            row = " ".join(
                f"{s[k]['nse']:>{w}.3f}" for k, w in (("model", 8), ("climatology", 12), ("persistence", 12))
            )
            print(f"{name:14s} {row}   (NSE)")
    med = summary["median_nse"]
    print(f"{'median NSE':14s} {med['model']:8.3f} {med['climatology']:12.3f} {med['persistence']:12.3f}")
    print(
        f"model beats both baselines on {summary['beats_both_baselines']:.0%} of the "
        f"{summary['scored_entities']} entities with a varying target"
    )
    print(f"written: {cfg.out}/metrics.json, model.pt, test_series.png")
    return 0
