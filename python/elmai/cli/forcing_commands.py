"""`elmai forcing climatology INPUT --out FILE.nc`: the monthly climatology of any forcing
form ELM reads (cpl_bypass all_hourly.nc or zone files, datm Solr/Prec/TPQWL streams, a
monthly file) at given gridcells, written in a form `elmai spinup --forcing` and
`elmai dataset build --forcing` read back (docs/file_formats.md)."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from elmai.errors import InvalidArgumentError

if TYPE_CHECKING:
    import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forcing", help="ELM forcing tools (climatology of cpl_bypass/datm forcing)")
    fsub = p.add_subparsers(dest="forcing_command", required=True)
    c = fsub.add_parser(
        "climatology", help="monthly climatology (12 months x 7 variables) of a forcing at gridcells"
    )
    c.add_argument(
        "input", help="forcing file or folder (all_hourly.nc, *_zNN.nc, clmforc.*, *.datm.forcing.nc)"
    )
    c.add_argument("--out", required=True, help="output NetCDF (VAR(time=12, gridcell), LATIXY/LONGXY)")
    c.add_argument("--lat", type=float, nargs="+", help="gridcell latitudes (with --lon)")
    c.add_argument("--lon", type=float, nargs="+", help="gridcell longitudes, 0-360 or -180-180")
    c.add_argument("--restart", help="take the gridcells from this ELM restart (grid1d_lat/lon)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar (off anyway when not a TTY)")
    c.set_defaults(func=cmd_climatology)


def _cells(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    if args.restart:
        if args.lat or args.lon:
            raise InvalidArgumentError("give either --restart or --lat/--lon, not both")
        from elmai.io.restart import open_restart

        with open_restart(args.restart) as r:
            sub = r.subgrid
            return np.asarray(sub.gridcell_lat, np.float64), np.asarray(sub.gridcell_lon, np.float64)
    if not args.lat or not args.lon or len(args.lat) != len(args.lon):
        raise InvalidArgumentError("give --restart, or --lat and --lon with the same number of values")
    return np.asarray(args.lat, np.float64), np.asarray(args.lon, np.float64)


def cmd_climatology(args: argparse.Namespace) -> int:
    from elmai.io.forcing import FORCING_VARS, detect_form, forcing_climatology, write_climatology

    lat, lon = _cells(args)
    form, _ = detect_form(args.input)
    t0 = time.perf_counter()
    clim = forcing_climatology(args.input, lat, lon, progress=False if args.no_progress else None)
    write_climatology(args.out, clim, lat, lon, source=f"{form}: {args.input}")
    dt = time.perf_counter() - t0
    print(f"{args.out}: {lat.size} gridcells, 12 months x {len(FORCING_VARS)} variables from {form} forcing "
          f"'{args.input}' ({dt:.1f} s)")  # fmt: skip
    return 0
