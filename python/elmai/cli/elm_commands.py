"""`elmai elm`: real ELM in the loop. `case` writes the inputs of an ELM site case
(ICB1850CNPRDCTCBC, CPL_BYPASS) from a testbed world; `build` and `run` drive
E3SM's CIME with them. See docs/elm_in_the_loop.md."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("elm", help="real ELM in the loop: site case inputs from a testbed world, build, run")
    es = p.add_subparsers(dest="elm_command", required=True)

    c = es.add_parser(
        "case",
        help="write every input of an ELM site case (ICB1850CNPRDCTCBC, CPL_BYPASS) for testbed gridcells",
        description="Write the domain, surface data, cpl_bypass forcing, CO2/deposition/fire streams, "
        "parameter files, user_nl_elm, case_setup.sh and inputs.json of an ELM site case for gridcells "
        "of a testbed world (`elmai testbed run --out DIR`).",
    )
    c.add_argument("--world", required=True, help="a testbed run folder (`elmai testbed run --out DIR`)")
    pick = c.add_mutually_exclusive_group(required=True)
    pick.add_argument("--sites", type=int, help="N land gridcells spread over the world's climates")
    pick.add_argument("--points", help="file of lat,lon lines: the nearest land gridcell of each")
    c.add_argument("--out", required=True, help="output folder of the case inputs")
    c.add_argument(
        "--paramfile", help="real ELM parameter file to copy (default: the one the world ran with)"
    )
    c.add_argument(
        "--cnp-params",
        help="real soil-order CNP parameter file to copy (e.g. CNP_parameters_c180529.nc); "
        "default: elmai writes the layout with placeholder values",
    )
    c.add_argument("--years", type=int, default=20, help="STOP_N of the case set-up script (default 20)")
    c.add_argument(
        "--ad-spinup", action="store_true", help="accelerated decomposition (OLMT's -bgc_spinup on)"
    )
    c.set_defaults(func=cmd_case)

    b = es.add_parser(
        "build",
        help="create and build the CIME case of an `elm case` folder (needs an E3SM checkout)",
        description="Check the prerequisites, then run create_newcase, case_setup.sh and case.build "
        "out of tree (OUT/case, OUT/cime_output) with a CIME machine for this workstation (or --machine); "
        "the E3SM checkout is never modified. Tested where ELMAI_E3SM names a checkout.",
    )
    b.add_argument("--e3sm", help="E3SM checkout with submodules (default: $ELMAI_E3SM)")
    b.add_argument("--out", required=True, help="the folder `elmai elm case` wrote")
    b.add_argument(
        "--machine", help="a CIME machine E3SM supports (HPC); default: an elmai workstation machine"
    )
    b.add_argument(
        "--mpilib", default="openmpi", choices=("openmpi", "mpich"), help="MPI library (default openmpi)"
    )
    b.add_argument("--inputdata", help="E3SM inputdata folder (DIN_LOC_ROOT; default OUT/inputdata)")
    b.add_argument(
        "--ntasks", type=int, default=1, help="MPI tasks of the case (NTASKS, before case.setup; default 1)"
    )
    b.add_argument("--dry-run", action="store_true", help="check prerequisites and print the commands only")
    b.set_defaults(func=cmd_build)

    r = es.add_parser(
        "run",
        help="run a built case for some years, from a cold start or a restart",
        description="Set STOP_N/REST_N, the start date, finidat and AD/native mode, call case.submit, "
        "collect restarts, h0 files and logs into OUT/runs/LABEL, and fail on ELM's balance-check "
        "failures or endrun messages (naming the site).",
    )
    r.add_argument("case", help="the CIME case (or the `elm case` folder holding it in case/)")
    r.add_argument("--years", type=int, required=True, help="years to run")
    r.add_argument("--restart", help="ELM restart of the case's gridcells to start from (finidat)")
    r.add_argument(
        "--mode",
        choices=("ad", "native"),
        help="accelerated decomposition or native (default: keep the case's setting)",
    )
    r.add_argument(
        "--label", help="name of the folder under OUT/runs for this run's output (default: a time stamp)"
    )
    r.add_argument("--dry-run", action="store_true", help="check and print the commands only")
    r.set_defaults(func=cmd_run)

    e = es.add_parser(
        "ensemble",
        help="an ELM-run site ensemble: plan, run (resumable), status, pack/unpack for a fresh machine",
        description="ELM as teacher and judge over many sites of a testbed world (docs/elm_ensemble.md): "
        "each group of sites gets a native case (20-year cold start, then the AI route) and an AD case "
        "(ELM's own AD + native spin-up). The manifest DIR/manifest.json records every finished chunk.",
    )
    ee = e.add_subparsers(dest="ensemble_command", required=True)
    ep = ee.add_parser("plan", help="choose the sites (stratified), groups and stages; write the manifest")
    ep.add_argument("dir")
    ep.add_argument("--world", required=True, help="a testbed run folder (`elmai testbed run --out DIR`)")
    ep.add_argument("--sites", type=int, default=64, help="sites in all (default 64)")
    ep.add_argument("--held-out", type=int, default=32, help="sites never used for training (default 32)")
    ep.add_argument("--group", type=int, default=16, help="sites per ELM case (default 16)")
    ep.add_argument("--paramfile", help="real ELM parameter file (default: the one the world ran with)")
    ep.add_argument("--ad-years", type=int, default=100, help="ELM AD years (default 100)")
    ep.add_argument("--native-years", type=int, default=100, help="ELM native years after AD (default 100)")
    ep.add_argument("--chunk-years", type=int, default=10, help="years per ELM submission (default 10)")
    ep.set_defaults(func=cmd_ensemble_plan)
    er = ee.add_parser("run", help="run the pending stages; a stopped run continues where it stopped")
    er.add_argument("dir")
    er.add_argument("--e3sm", help="E3SM checkout (default: $ELMAI_E3SM)")
    er.add_argument("--hours", type=float, help="stop starting new chunks after this many hours")
    er.add_argument("--model", help="spin-up model for the AI route (default: the shipped one)")
    er.add_argument("--ntasks", type=int, default=1, help="MPI tasks per ELM case (default 1)")
    er.add_argument("--clone-from", help="a built site case (same compset, NTASKS) to clone, not build")
    er.set_defaults(func=cmd_ensemble_run)
    est = ee.add_parser("status", help="sites, stages and ELM years done, and the time left")
    est.add_argument("dir")
    est.set_defaults(func=cmd_ensemble_status)
    epk = ee.add_parser("pack", help="copy the manifest and the restarts still needed (gzip) to a folder")
    epk.add_argument("dir")
    epk.add_argument("--to", required=True, help="e.g. results/elm_ensemble (committed)")
    epk.set_defaults(func=cmd_ensemble_pack)
    erp = ee.add_parser("report", help="what the ensemble measured so far, as JSON")
    erp.add_argument("dir")
    erp.add_argument("--out", default="results/elm_ensemble.json", help="JSON file (default results/...)")
    erp.add_argument("--html", help="folder for report.md, report.html and the drift map (map.png)")
    erp.set_defaults(func=cmd_ensemble_report)
    ert = ee.add_parser("retry", help="set failed stages back to pending (after fixing the cause)")
    ert.add_argument("dir")
    ert.add_argument("--stage", help="only this stage (e.g. ai_spinup)")
    ert.add_argument("--group", help="only this group (e.g. heldout01)")
    ert.set_defaults(func=cmd_ensemble_retry)
    eu = ee.add_parser("unpack", help="lay a packed ensemble into an empty folder to continue it")
    eu.add_argument("packed")
    eu.add_argument("dir")
    eu.add_argument("--world", help="this machine's world (remade as world_setup says)")
    eu.add_argument("--paramfile", help="this machine's copy of the ELM parameter file")
    eu.set_defaults(func=cmd_ensemble_unpack)


def cmd_case(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.case_inputs import MANIFEST, SETUP_SCRIPT, CaseOptions, write_case

    m = write_case(CaseOptions(world=args.world, out=args.out, sites=args.sites, points=args.points,
                               paramfile=args.paramfile, cnp_params=args.cnp_params, years=args.years,
                               ad_spinup=args.ad_spinup))  # fmt: skip
    for s in m["sites"]:
        climate = f"T {s['t_ann_c']:.1f} C, P {s['precip_mm_yr']:.0f} mm/yr"
        print(f"site {s['site']}: lat {s['lat']:g} lon {s['lon']:g} ({climate})")
    print(f"{len(m['files'])} inputs, user_nl_elm and {SETUP_SCRIPT} in {args.out}; manifest {MANIFEST}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.e3sm import build

    steps = build(args.e3sm, args.out, machine=args.machine, mpilib=args.mpilib, inputdata=args.inputdata,
                  dry_run=args.dry_run, ntasks=args.ntasks)  # fmt: skip
    if args.dry_run:
        print("prerequisites found; would run:")
        for s in steps:
            print("  " + s.shell())
    else:
        print(f"built: {args.out}/case")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.e3sm import run

    result = run(args.case, args.years, args.restart, dry_run=args.dry_run, mode=args.mode, label=args.label)
    if isinstance(result, list):
        for s in result:
            print("  " + s.shell())
        return 0
    print(
        f"ELM ran {result.years} year(s) in {result.wall_s:.0f} s: no balance-check failure, no endrun; "
        f"{len(result.warnings)} balance warning(s) below ELM's stopping threshold"
    )
    print(f"restarts: {', '.join(result.restarts)}; {len(result.history)} h0 file(s); all in {result.folder}")
    return 0


def cmd_ensemble_plan(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.ensemble import plan_ensemble, status_table

    plan = plan_ensemble(args.dir, args.world, sites=args.sites, held_out=args.held_out,
                         group_size=args.group, paramfile=args.paramfile, chunk_years=args.chunk_years,
                         ad_years=args.ad_years, native_years=args.native_years)  # fmt: skip
    print(status_table(plan))
    print(f"sites: {args.dir}/sites.json; next: `elmai elm ensemble run {args.dir}`")
    return 0


def cmd_ensemble_run(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.ensemble import progress, run_ensemble, status_table

    plan = run_ensemble(args.dir, args.e3sm, hours=args.hours, model=args.model, ntasks=args.ntasks,
                        clone_from=args.clone_from)
    print(status_table(plan))
    return 1 if progress(plan)["failed"] else 0


def cmd_ensemble_status(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.ensemble import load, status_table

    print(status_table(load(args.dir)))
    return 0


def cmd_ensemble_pack(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.ensemble import pack

    files = pack(args.dir, args.to)
    size = sum(f.stat().st_size for f in files)
    print(f"packed {len(files)} file(s), {size / 1e6:.1f} MB, into {args.to}")
    return 0


def cmd_ensemble_unpack(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.ensemble import status_table, unpack

    print(status_table(unpack(args.packed, args.dir, world=args.world, paramfile=args.paramfile)))
    return 0


def cmd_ensemble_report(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.ensemble import write_report

    data = write_report(args.dir, args.out)
    if args.html:
        from elmai.apps.elm_runner.ensemble import write_html

        print(f"wrote {write_html(args.dir, args.html)}")
    cost = data["elm_cost"]["s_per_site_year"]
    chunks = data["elm_cost"]["chunks"]
    pace = f"{cost['median']:.2f} s per ELM site-year (median of {chunks} chunks)" if cost else "none yet"
    held, verified = data["held_out_sites"], data["verified_sites"]
    print(f"wrote {args.out}: {held} held-out sites, {verified} verified; {pace}")
    return 0


def cmd_ensemble_retry(args: argparse.Namespace) -> int:
    from elmai.apps.elm_runner.ensemble import retry

    reset = retry(args.dir, args.stage, args.group)
    print(f"set back to pending: {', '.join(reset) or 'nothing (no failed stage matched)'}")
    return 0
