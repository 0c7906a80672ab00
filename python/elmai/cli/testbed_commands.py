"""`elmai testbed run`: the reference model that stands in for ELM."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the testbed (scipy) loads when a testbed command runs, not with every command
    from elmai.apps.testbed.run import RunResult


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("testbed", help="the reference land BGC model (ELM structure, parameters and files)")
    ts = p.add_subparsers(dest="testbed_command", required=True)
    run = ts.add_parser("run", help="run years from bare ground (or a restart) and write ELM-format files")
    run.add_argument("--resolution", type=float, default=2.0, help="degrees (divides 180; default 2)")
    run.add_argument("--years", type=int, default=20, help="simulated years (default 20)")
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument(
        "--restart-years", type=int, nargs="*", default=[], help="also write restarts at these years"
    )
    run.add_argument(
        "--forcing-years", type=int, default=20, help="length of the recycled forcing (default 20)"
    )
    run.add_argument("--case", default="elmai_testbed")
    run.add_argument("--params", help="ELM parameter file (default: built in, equal to ELM's)")
    run.add_argument("--no-supplement", action="store_true", help="no supplemental N and P (ELM's suplnitro)")
    run.add_argument(
        "--spinup",
        choices=("native", "ad", "matrix"),
        default="native",
        help="ad: ELM's accelerated decomposition (restarts hold the deflated state, spinup_state=1); "
        "matrix: start from the semi-analytic equilibrium (the years then verify it)",
    )
    run.add_argument(
        "--history-years", type=int, default=0, help="write monthly h0 files for the last N years"
    )
    run.add_argument("--restart", help="continue from this restart")
    run.add_argument("--first-year", type=int, default=1, help="year of the start (the restart's year)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--warming", type=float, help="shift every temperature by K (default 0, or --restart's)"
    )
    run.add_argument(
        "--equilibrium",
        action="store_true",
        help="also write the matrix equilibrium (<case>.equilibrium.elm.r.*): an AI spin-up's target",
    )
    run.add_argument(
        "--topounits",
        type=int,
        choices=(1, 2),
        default=None,
        help="topounits per gridcell (default 1, or the --restart's): each has its own natural column",
    )
    run.add_argument(
        "--crop",
        action="store_true",
        default=None,
        help="a crop landunit (c3_crop, c3_irrigated columns, zero pools) takes the crop PFTs' share",
    )
    run.add_argument(
        "--forcing-form",
        choices=("monthly", "cpl_bypass", "datm"),
        default="monthly",
        help="also write the forcing 3-hourly in a real ELM form (cpl_bypass files or datm streams)",
    )
    run.add_argument(
        "--glacier-cells",
        action="store_true",
        default=None,
        help="the coldest ice-sheet gridcells are all glacier (no active natural vegetation)",
    )
    run.set_defaults(func=cmd_run)

    ver = ts.add_parser(
        "verify", help="continue from a restart and report the equilibrium criterion year by year"
    )
    ver.add_argument("restart", help="a testbed restart, or one elmai rewrote from it (e.g. an AI spin-up)")
    ver.add_argument("--years", type=int, default=10, help="years to continue (default 10)")
    ver.add_argument("--out", required=True, help="output folder (files, verify.png, spinup_log.json)")
    ver.set_defaults(func=cmd_verify)

    ens = ts.add_parser(
        "ensemble",
        help="draw parameter sets, run the testbed for each (mpirun spreads members), one NetCDF",
    )
    ens.add_argument("--param-list", required=True, help="'name min max' or 'name pft min max' per line")
    ens.add_argument("--n", type=int, required=True, help="members")
    ens.add_argument("--out", required=True, help="output folder (ensemble.nc)")
    ens.add_argument(
        "--lhs", action="store_true", help="Latin hypercube instead of independent uniform draws"
    )
    ens.add_argument("--resolution", type=float, default=10.0, help="degrees (default 10)")
    ens.add_argument("--years", type=int, default=20, help="years from bare ground per member (default 20)")
    ens.add_argument("--seed", type=int, default=0, help="seed of the draws and of the world")
    ens.set_defaults(func=cmd_ensemble)


def report(result: RunResult) -> None:
    from elmai.apps.testbed.run import CRITERION_AREA

    print(result.table())
    met = result.first_year_meeting_criterion()
    verdict = f"met in year {met}" if met else "not met"
    print(
        f"{result.ngrid} gridcells; balance failures: {result.balance_failures}; CLM5 criterion "
        f"(< {CRITERION_AREA:.0%} of land area off equilibrium): {verdict}"
    )
    print("restarts: " + ", ".join(result.restarts))


def cmd_verify(args: argparse.Namespace) -> int:
    from elmai.apps.testbed.verify import verify

    result = verify(args.restart, args.years, args.out)
    report(result)
    print(f"plot: {args.out}/verify.png")
    return 0 if result.balance_failures == 0 else 1


def cmd_run(args: argparse.Namespace) -> int:
    from elmai.apps.testbed.run import run_testbed

    result = run_testbed(
        args.out,
        resolution=args.resolution,
        years=args.years,
        restart_years=tuple(args.restart_years),
        forcing_years=args.forcing_years,
        case=args.case,
        params_file=args.params,
        supplement_nutrients=not args.no_supplement,
        spinup=args.spinup,
        history_years=args.history_years,
        start_from=args.restart,
        first_year=args.first_year,
        seed=args.seed,
        equilibrium=args.equilibrium,
        topounits=args.topounits,
        crop=args.crop,
        glacier_cells=args.glacier_cells,
        forcing_form=args.forcing_form,
        warming=args.warming,
    )
    report(result)
    return 0 if result.balance_failures == 0 else 1


def cmd_ensemble(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from elmai.apps.testbed.ensemble import global_gpp_pg, read_param_list, run_ensemble
    from elmai.cli.paths import input_file

    specs = read_param_list(input_file(args.param_list, "--param-list"))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    path = Path(args.out) / "ensemble.nc"
    ens = run_ensemble(specs, args.n, path, args.resolution, args.years, args.seed, args.lhs)
    if ens is not None:  # rank 0
        gpp = global_gpp_pg(ens)[:, -1]
        print(f"{ens.nmember} members x {len(ens.names)} parameters -> {path}")
        print(
            f"global GPP in the last year: {gpp.min():.1f} .. {gpp.max():.1f} PgC/yr "
            f"(median {np.median(gpp):.1f})"
        )
    return 0
