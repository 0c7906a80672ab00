"""`elmai restart info|diff`: look into ELM restart files."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restart", help="inspect and compare ELM restart files")
    rs = p.add_subparsers(dest="restart_command", required=True)

    info = rs.add_parser("info", help="format, dimensions, subgrid and variables of a restart")
    info.add_argument("file")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=cmd_info)

    diff = rs.add_parser("diff", help="per-variable max abs/rel difference; exit 1 when they differ")
    diff.add_argument("a")
    diff.add_argument("b")
    diff.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (default 0: exact)")
    diff.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0)")
    diff.add_argument("--json", action="store_true", help="print JSON instead of a table")
    diff.add_argument("--all", action="store_true", help="list equal variables too")
    diff.set_defaults(func=cmd_diff)


def restart_summary(path: str) -> dict[str, Any]:
    import numpy as np

    from elmai.io.restart import open_restart

    with open_restart(path) as r:
        variables = []
        for name in r.variables:
            v = r.info(name)
            variables.append(
                {"name": name, "dtype": v.dtype.name, "dims": list(v.dims), "shape": list(v.shape)}
            )
        sub = r.subgrid
        summary: dict[str, Any] = {
            "path": path,
            "format": r.format,
            "dims": r.dims,
            "unlimited": list(r.unlimited_dims),
            "n_variables": len(variables),
            "variables": variables,
        }
        if "spinup_state" in r:
            summary["spinup_state"] = int(np.asarray(r.read("spinup_state")).reshape(-1)[0])
        if sub.pft_weight is not None and sub.pft_type is not None:
            summary["vegetated_pfts"] = int(np.count_nonzero((sub.pft_weight > 0) & (sub.pft_type > 0)))
        for key in ("title", "case_id"):
            if key in r.global_attrs:
                summary[key] = r.global_attrs[key]
    return summary


def cmd_info(args: argparse.Namespace) -> int:
    s = restart_summary(args.file)
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"{s['path']}")
    print(f"  {'format':<15} {s['format']}")
    for key in ("title", "case_id", "spinup_state", "vegetated_pfts"):
        if key in s:
            print(f"  {key:<15} {s[key]}")
    dims = ", ".join(
        f"{k}={v}" + (" (unlimited)" if k in s["unlimited"] else "") for k, v in s["dims"].items()
    )
    print(f"  {'dimensions':<15} {dims}")
    print(f"  {'variables':<15} {s['n_variables']}")
    width = max((len(v["name"]) for v in s["variables"]), default=4)
    for v in s["variables"]:
        print(f"    {v['name']:<{width}}  {v['dtype']:<8} ({', '.join(v['dims'])})")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from elmai.io.restart_diff import diff_restarts

    result = diff_restarts(args.a, args.b, rtol=args.rtol, atol=args.atol)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.table(show_equal=args.all))
    sys.stdout.flush()
    return 0 if result.equal else 1
