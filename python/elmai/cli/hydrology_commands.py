"""`elmai hydrology ...`: streamflow models on Caravan basins (issue 26).

- `info`: what a Caravan file holds (basins, dates, missing streamflow), checks the loader;
- `train --config X.yaml`: one simulation-mode run (LSTM or transformer), strict YAML,
  resolved_config.yaml, metrics.json and the NSE CDF in the run folder;
- `bench --configuration reduced|full`: the benchmark parts (simulation, forecast, ungauged, uq, explain)
  and results/hydrology.json.
Torch loads inside the commands only."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    hy = sub.add_parser(
        "hydrology", help="streamflow models on Caravan basins (simulation, 30-day forecasts, ungauged)"
    ).add_subparsers(dest="hydrology_command", required=True)
    i = hy.add_parser("info", help="basins, dates and missing streamflow of a Caravan NetCDF")
    i.add_argument("--netcdf", help="Caravan-format NetCDF (default: ../shared/data/caravan_camels)")
    i.add_argument("--basins", nargs="*", help="gauge ids (default: all)")
    i.set_defaults(func=cmd_info)
    t = hy.add_parser("train", help="train and score one simulation-mode run from a YAML config")
    t.add_argument("--config", required=True, help="run YAML (see python/elmai/apps/hydrology/configs/)")
    t.add_argument("--out", help="override the config's output folder")
    t.add_argument("--epochs", type=int, help="override the config's epochs")
    t.add_argument("--overwrite", action="store_true", help="reuse a folder that holds another run")
    t.set_defaults(func=cmd_train)
    b = hy.add_parser("bench", help="the benchmark parts and the results JSON")
    b.add_argument("--configuration", choices=("reduced", "full"), default="reduced")
    parts = ("simulation", "forecast", "ungauged", "uq", "explain")  # elmai.apps.hydrology.benchmark.PARTS
    b.add_argument("--parts", nargs="*", default=list(parts), choices=parts)
    b.add_argument("--out", default="runs/hydrology", help="folder of the parts (OUT/CONFIGURATION/...)")
    b.add_argument("--results", default="results/hydrology.json", help="merged results file")
    b.set_defaults(func=cmd_bench)


def cmd_info(args: argparse.Namespace) -> int:
    import numpy as np

    from elmai.apps.hydrology import caravan

    data = caravan.load(args.netcdf, args.basins)
    q = data.series[caravan.TARGET]
    print(
        f"{data.path}: {len(data.basins)} basins, {data.dates[0]}..{data.dates[-1]} ({len(data.dates)} days)"
    )
    print(f"variables: {', '.join(data.series)}")
    missing = (~np.isfinite(q)).sum(axis=1)
    print(f"missing streamflow days per basin: median {int(np.median(missing))}, max {int(missing.max())} "
          f"({data.basins[int(missing.argmax())]})")  # fmt: skip
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from elmai.apps.hydrology.config import HydrologyConfig

    cfg = HydrologyConfig.load(args.config)  # before torch loads: a bad config fails fast
    if args.out:
        cfg.out = str(Path(args.out).resolve())
    if args.epochs:
        cfg.training["epochs"] = args.epochs
    from elmai.apps.hydrology.simulation import run_simulation

    r = run_simulation(cfg, overwrite=args.overwrite)
    for name, s in r["summary"].items():
        n = s["nse"]
        print(f"{name:12s} NSE median {n['median']:.3f} (quartiles {n['q25']:.3f}..{n['q75']:.3f}), "
              f"KGE median {s['kge']['median']:.3f}, {n['basins']} basins")  # fmt: skip
    print(f"written: {cfg.out}/metrics.json, nse_cdf.png, resolved_config.yaml")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from elmai.apps.hydrology.benchmark import assemble, run_part

    out = Path(args.out) / args.configuration
    for part in args.parts:
        run_part(part, args.configuration, out)
    res = assemble(out, Path(args.results), args.configuration)
    for name, v in res.get("uq", {}).items():
        if isinstance(v, dict) and "picp_shift" in v:
            print(f"uq {name}: PICP validation {v['picp_validation']:.3f}, shift {v['picp_shift']:.3f}; "
                  f"MPIW {v['mpiw_validation']:.3f} / {v['mpiw_shift']:.3f} mm/day")  # fmt: skip
    for part in ("simulation", "ungauged"):
        for name, v in res.get(part, {}).items():
            if isinstance(v, dict) and "median_nse" in v:
                print(f"{part} {name}: median NSE {v['median_nse']:.3f}")
    for name, v in res.get("forecast", {}).items():
        if isinstance(v, dict):
            by = v["median_nse_by_lead"]
            print(f"forecast {name}: median NSE lead 1 {by['1']:.3f}, 7 {by['7']:.3f}, 30 {by['30']:.3f}")
    print(f"written: {args.results}, {out}/")
    return 0
