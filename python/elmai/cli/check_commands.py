"""`elmai check FILE`: validate a restart before an expensive ELM run."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="validate an ELM restart (finite, non-negative, stoichiometry, totals, ...)"
    )
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--tolerance", type=float, default=1e-6, help="relative tolerance of ratios and totals")
    p.add_argument(
        "--params", help="ELM parameter file for soil C:N and PFT stoichiometry (default: built in)"
    )
    p.add_argument(
        "--soil-cp", type=float, nargs=4, metavar="CP", help="fixed soil1..4 C:P (default: uniform)"
    )
    p.add_argument("--limit", type=int, default=10, help="failures listed per rule (default 10)")
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from elmai.checks import check_restart
    from elmai.io.elm_params import read_params

    params = read_params(args.params) if args.params else None
    report = check_restart(args.file, params, rtol=args.tolerance, soil_cp=args.soil_cp)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table(limit=args.limit))
    return 0 if report.ok else 1
