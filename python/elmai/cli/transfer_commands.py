"""`elmai transfer`: spin up worlds the model never saw, and `elmai pretrained`: the
shipped model (show its card, rebuild it)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from elmai.apps.transfer.settings import SETTINGS

    p = sub.add_parser(
        "transfer",
        help="the transfer protocol: zero-shot, few-shot and full-train spin-ups of unseen testbed worlds",
    )
    p.add_argument(
        "--settings",
        nargs="+",
        default=list(SETTINGS),
        choices=list(SETTINGS),
        metavar="SETTING",
        help=f"which to run (default all: {', '.join(SETTINGS)})",
    )
    p.add_argument("--out", required=True, help="work folder (worlds, models, runs; transfer.json)")
    p.add_argument("--model", help="source model (default: the shipped one)")
    p.add_argument("--checkpoint", help="the source model's best.pt, for few-shot (default: the shipped one)")
    p.add_argument("--early-years", type=int, default=20, help="years before the AI restart (default 20)")
    p.add_argument("--forcing-years", type=int, default=20, help="forcing cycle (default 20, ELM's)")
    p.add_argument(
        "--reference-sample",
        type=int,
        default=500,
        help="gridcells of the native/AD reference spin-ups (default 500)",
    )
    p.set_defaults(func=cmd_transfer)

    q = sub.add_parser("pretrained", help="the shipped pre-trained spin-up model: its card, or rebuild it")
    qs = q.add_subparsers(dest="action", required=True)
    show = qs.add_parser("show", help="print the model card and check the model against it")
    show.add_argument("--folder", help="a model folder with model_card.json (default: the shipped one)")
    show.set_defaults(func=cmd_show)
    build = qs.add_parser("build", help="rebuild it from its source worlds (deterministic; about 30 min)")
    build.add_argument("--work", default="runs/pretrained", help="work folder (default runs/pretrained)")
    build.add_argument("--dest", help="where to write it (default: the package's elmai/pretrained)")
    build.add_argument("--epochs", type=int, help="training epochs (default: the recipe's)")
    build.set_defaults(func=cmd_build)


def cmd_transfer(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, model="file", checkpoint="file")  # before hours of work, not after
    from elmai.apps.transfer.protocol import run_transfer, source_options

    opts = source_options(
        Path(args.out),
        Path(args.model) if args.model else None,
        Path(args.checkpoint) if args.checkpoint else None,
        early_years=args.early_years,
        forcing_years=args.forcing_years,
        reference_sample=args.reference_sample,
    )
    results = run_transfer(args.settings, opts)
    from elmai.apps.transfer.report import transfer_table

    print(transfer_table(results))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, folder="dir")
    from elmai import pretrained

    print(json.dumps(pretrained.load_card(args.folder), indent=1))
    problems = pretrained.check_card(args.folder)
    for p in problems:
        print(f"elmai: warning: {p}")
    return 1 if problems else 0


def cmd_build(args: argparse.Namespace) -> int:
    from elmai.apps.transfer.pretrained_build import EPOCHS, build_pretrained

    card = build_pretrained(args.work, args.dest, epochs=args.epochs or EPOCHS)
    print(f"wrote {card['model_file']} ({card['bytes'] / 1e6:.2f} MB, sha256 {card['sha256'][:12]}...)")
    return 0
