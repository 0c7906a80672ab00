"""`elmai spinup`: early restart + trained model -> equilibrium restart (checked)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "spinup", help="AI spin-up: predict the slow pools of an early restart, write a checked copy"
    )
    p.add_argument("--restart", required=True, help="early restart (e.g. after 20 simulated years)")
    p.add_argument(
        "--model",
        help="TorchScript file from `elmai export` (its .json beside it); default: the pre-trained "
        "model elmai ships (elmai/pretrained, see its model_card.json), trained on the 2-degree testbed",
    )
    p.add_argument("--out", required=True, help="the AI restart to write (never the input)")
    p.add_argument("--surfdata", help="surface data (default: surfdata_*.nc beside the restart)")
    p.add_argument(
        "--forcing",
        help="forcing: a file or folder in any form ELM reads (cpl_bypass all_hourly.nc or per-variable "
        "files, datm Solr/Prec/TPQWL streams), a monthly file or an `elmai forcing climatology` output "
        "(default: *.datm.forcing.nc beside the restart)",
    )
    p.add_argument(
        "--params", help="the case's ELM parameter file (default: the one clm_params*.nc beside the restart)"
    )
    p.add_argument(
        "--history",
        nargs="+",
        help="h0 files (T_SCALAR, W_SCALAR, O_SCALAR) for the decay rates (default: the *.elm.h0.* of "
        "the 20 years before the restart, beside it; else scalaravg_col, else a Q10 estimate)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="keep the restart even if it fails the checks, and run even on cells whose inputs are "
        "beyond the margin of the model's training ranges",
    )
    p.add_argument(
        "--save-inputs", help="also write the model inputs and predictions (for Fortran example 03)"
    )
    p.add_argument("--threads", type=int, default=0, help="libtorch threads (0: leave the default)")
    p.set_defaults(func=cmd_spinup)


def cmd_spinup(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, restart="file", model="file")
    model = args.model or _shipped_model()
    from elmai.spinup import ai_spinup

    res = ai_spinup(
        args.restart,
        model,
        args.out,
        surfdata=args.surfdata,
        forcing=args.forcing,
        params=args.params,
        force=args.force,
        save_inputs=args.save_inputs,
        threads=args.threads,
        history=args.history,
    )
    from elmai.spinup.run import layout_note

    e, a = res.totals_pgc["early"], res.totals_pgc["ai"]
    if res.layout:
        print(layout_note(res.layout))
    per_m2 = 1e15 / res.land_m2 if res.land_m2 > 0 else 0.0
    print(f"{res.cells} natural-vegetation columns; carbon early -> AI, in PgC and as gC/m2 of land")
    for key in a:
        print(
            f"  {key:<16} {e[key]:>10.1f} -> {a[key]:>10.1f} PgC   "
            f"{e[key] * per_m2:>10.1f} -> {a[key] * per_m2:>10.1f} gC/m2"
        )
    return _report_written(res.out, res.checks_ok, res.check_table)


def _shipped_model() -> str:
    """The shipped model's path, after one line on which model it is and what it learnt from."""
    from elmai.pretrained import default_model, load_card

    model = default_model()
    try:
        trained_on = load_card().get("trained_on") or {}
        about = ", ".join(f"{k} {v}" for k, v in trained_on.items() if not isinstance(v, (dict, list)))
    except Exception as e:  # a missing or broken card must not stop the spin-up: say so
        about = f"no readable model card ({e})"
    print(f"model: the shipped pre-trained {model.name} (trained on: {about or 'see model_card.json'})")
    return str(model)


def register_refine(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine",
        help="one Newton step of the carbon pools from an AI restart and the restart one forcing cycle later",
    )
    p.add_argument("--start", required=True, help="the AI restart (from `elmai spinup`)")
    p.add_argument("--end", required=True, help="the restart after running one forcing cycle from --start")
    p.add_argument("--out", required=True, help="the refined restart to write (a copy of --start)")
    p.add_argument("--years", type=float, help="cycle length (default: from the restarts' dates)")
    p.add_argument(
        "--history",
        nargs="+",
        help="h0 files of the cycle (T_SCALAR, W_SCALAR, O_SCALAR; default: *.elm.h0.* beside --end)",
    )
    p.add_argument("--forcing", help="forcing, only if there are no h0 files and no valid scalaravg_col")
    p.add_argument(
        "--params", help="the case's ELM parameter file (default: the one clm_params*.nc beside --start)"
    )
    p.add_argument("--force", action="store_true", help="keep the restart even if it fails the checks")
    p.set_defaults(func=cmd_refine)


def cmd_refine(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, start="file", end="file")
    from elmai.spinup.refine import refine_spinup

    res = refine_spinup(
        args.start,
        args.end,
        args.out,
        years=args.years,
        forcing=args.forcing,
        params=args.params,
        force=args.force,
        history=args.history,
    )
    print(f"decay rates over the cycle from {res.rate_source}")
    print(
        f"{res.cells} natural-vegetation columns; {100 * res.start_drifting:.1f}% of them drifted "
        f"> 1 gC/m2/yr over the {res.years:g}-year run from --start"
    )
    print("relative change of the column stocks by the Newton step (median, 97th percentile):")
    for name, c in res.change.items():
        if c:
            print(f"  {name:<10} {100 * c['median']:6.2f}% {100 * c['p97']:6.2f}%")
    if any(c and c["p97"] > 0.2 for c in res.change.values()):
        print("warning: large corrections; the step assumes a start near equilibrium (an AI restart)")
    if res.clipped_gc > 0:
        print(f"negative pools set to zero: at most {res.clipped_gc:.3g} gC/m2 in a column")
    return _report_written(res.out, res.checks_ok, res.check_table)


def _report_written(out: str, ok: bool, table: str) -> int:
    """Print the check table and what was written; exit status 1 when --force kept a failing file."""
    print(table)
    print(f"wrote {out}" + ("" if ok else " (FAILS the checks; kept with --force)"))
    return 0 if ok else 1
