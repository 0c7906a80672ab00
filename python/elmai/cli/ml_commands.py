"""`elmai dataset build`, `elmai train`, `elmai evaluate`, `elmai export`."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    ds = sub.add_parser("dataset", help="the grid-cell data set of the AI spin-up").add_subparsers(
        dest="dataset_command", required=True
    )
    b = ds.add_parser("build", help="build the data set from a case's ELM files (mpirun-able)")
    b.add_argument(
        "--run", required=True, help="run folder: restarts, surfdata_*.nc, *.datm.forcing.nc, clm_params.nc"
    )
    b.add_argument(
        "--early-year",
        type=int,
        default=21,
        help="date year of the early restart (21 = after 20 simulated years; default 21)",
    )
    b.add_argument("--target", help="restart at equilibrium (default: *.equilibrium.elm.r.*.nc in --run)")
    b.add_argument("--surfdata", help="surface data file (default: surfdata_*.nc in --run)")
    b.add_argument(
        "--forcing",
        help="forcing file or folder in any ELM form (cpl_bypass, datm streams, monthly, climatology; "
        "default: *.datm.forcing.nc in --run)",
    )
    b.add_argument("--params", help="the case's parameter file (default: the one clm_params*.nc in --run)")
    b.add_argument("--seed", type=int, default=0, help="seed of the random and block splits")
    b.add_argument("--block-deg", type=float, default=10.0, help="size of the spatial blocks (degrees)")
    b.add_argument("--out", required=True, help="data set file (NetCDF)")
    b.set_defaults(func=cmd_build)

    t = sub.add_parser("train", help="train the spin-up model (launch with mpirun -n N for N ranks)")
    t.add_argument("--config", required=True, help="experiment YAML (see configs/)")
    t.add_argument("--engine", choices=("ddp", "deepspeed"), help="override the config's engine")
    t.add_argument("--epochs", type=int, help="override the config's epochs")
    t.add_argument("--out", help="override the config's run folder")
    t.add_argument("--split", choices=("random", "block"), help="override the config's split")
    t.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="reuse a run folder that holds another run (its resolved_config.yaml differs)",
    )
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="R2/RMSE per target, PFT and level on held-out cells; plots")
    e.add_argument("--model", required=True, help="best.pt from `elmai train`")
    e.add_argument("--dataset", required=True)
    e.add_argument("--split", choices=("random", "block"), help="default: the split it was trained on")
    e.add_argument("--out", help="folder for scores.json and PNG plots")
    e.add_argument("--json", action="store_true", help="print the scores as JSON")
    e.set_defaults(func=cmd_evaluate)

    x = sub.add_parser(
        "export",
        help="TorchScript (.pt) or torch.export/AOTInductor (.pt2) file + JSON sidecar for C++ and Fortran",
    )
    x.add_argument("--model", required=True, help="best.pt from `elmai train`")
    x.add_argument("--out", required=True, help="model file (.pt or .pt2); the sidecar is written beside it")
    x.add_argument(
        "--format",
        choices=("torchscript", "pt2"),
        help="torchscript (.pt) or pt2 (torch.export + AOTInductor, compiled for this machine); "
        "default: from the --out suffix",
    )
    x.set_defaults(func=cmd_export)


def cmd_build(args: argparse.Namespace) -> int:
    from elmai.data import build_dataset

    data = build_dataset(
        args.run,
        args.early_year,
        args.out,
        target=args.target,
        surfdata=args.surfdata,
        forcing=args.forcing,
        params=args.params,
        seed=args.seed,
        block_deg=args.block_deg,
    )
    if data.arrays:  # rank 0
        counts = {s: [int((v == k).sum()) for k in range(3)] for s, v in data.splits.items()}
        print(f"{args.out}: {data.ncell} gridcells; train/valid/test cells: {counts}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from elmai.training.config import TrainConfig

    cfg = TrainConfig.from_yaml(  # before torch loads: a bad config fails fast
        args.config, engine=args.engine, epochs=args.epochs, out=args.out, split=args.split
    )
    from elmai.training.trainer import train

    summary = train(cfg, resume=args.resume, overwrite=args.overwrite)
    if _rank() == 0:
        print(json.dumps(summary, indent=2))
    return 0


def _rank() -> int:
    try:
        from mpi4py import MPI

        return MPI.COMM_WORLD.Get_rank()
    except ImportError:
        return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, model="file", dataset="file")
    from elmai.training.evaluate import evaluate

    result = evaluate(args.model, args.dataset, args.split, args.out)
    if args.json:
        print(json.dumps({k: result[k] for k in ("r2", "rmse", "n", "split", "cells")}, indent=1))
    else:
        print(f"held-out cells: {result['cells']} ({result['split']} split)")
        print(f"{'variable':<12} {'R2':>7} {'RMSE':>11} {'entries':>8}")
        for var, r2 in result["r2"].items():
            print(f"{var:<12} {r2:>7.4f} {result['rmse'][var]:>11.4g} {result['n'][var]:>8}")
        if args.out:
            print(f"scores and plots: {args.out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from elmai.training.export import export

    meta = export(args.model, args.out, format=getattr(args, "format", None))
    print(
        f"{args.out} (+ {args.out.rsplit('.', 1)[0]}.json): inputs {meta['input_order']}, "
        f"outputs {meta['output_order']}; eager vs exported max rel. diff {meta['parity_max_rel_diff']:.1e}"
    )
    return 0
