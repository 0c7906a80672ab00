"""The `elmai` command line. Each command group lives in its own module."""

from __future__ import annotations

import argparse
import os
import sys

from elmai.cli import (
    check_commands,
    explain_commands,
    forcing_commands,
    ml_commands,
    restart_commands,
    spinup_commands,
    testbed_commands,
    timeseries_commands,
    uq_commands,
)
from elmai.errors import ElmaiError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="elmai", description="AI spin-up and emulation tools for ELM")
    parser.add_argument("--version", action="version", version="elmai 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True)
    restart_commands.register(sub)
    check_commands.register(sub)
    testbed_commands.register(sub)
    ml_commands.register(sub)
    spinup_commands.register(sub)
    spinup_commands.register_refine(sub)
    uq_commands.register(sub)
    timeseries_commands.register(sub)
    explain_commands.register(sub)
    forcing_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ElmaiError as e:
        print(f"elmai: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and friends
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
