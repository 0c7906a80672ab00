"""The `elmai` command line. Each command group lives in its own module.

Errors: an `elmai.errors.ElmaiError` reaching `main` is printed as one line,
`elmai: error: MESSAGE`, and the command exits with the error's `exit_code`: 2 for usage
errors (bad or missing arguments, unknown or mistyped configuration keys, missing input
files; argparse's own errors exit 2 as well), 1 for failed checks and runtime errors.
Any other exception is a bug in elmai: one line `elmai: internal error: ...` with a hint,
exit 1. `ELMAI_DEBUG=1` shows the full traceback of either kind.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from elmai import __version__
from elmai.cli import (
    check_commands,
    elm_commands,
    explain_commands,
    forcing_commands,
    foundation_commands,
    hydrology_commands,
    ml_commands,
    restart_commands,
    spinup_commands,
    testbed_commands,
    timeseries_commands,
    transfer_commands,
    uq_commands,
)
from elmai.errors import ElmaiError

MAX_DETAIL_LINES = 20  # lines under an error's message (its failed checks, one each)


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors in elmai's one-line form (exit status 2). Subcommand
    parsers are of the same class (argparse makes them with type(parent))."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"elmai: error: {self.prog}: {message} (see `{self.prog} --help`)\n")


# The help lists commands in these groups: the product's verbs first, then the apps and
# research tools, each a group of its own (`elmai uq emulate`, `elmai elm run`, ...).
COMMAND_GROUPS = (
    ("the AI spin-up (the product)", ("spinup", "refine", "check", "restart", "forcing")),
    ("its model", ("dataset", "train", "evaluate", "export", "pretrained")),
    ("apps and research", ("testbed", "elm", "transfer", "uq", "timeseries", "explain", "hydrology",
                           "foundation")),
)  # fmt: skip
# old top-level verbs that moved into a group: they keep working for one release, with a note
MOVED = {"emulate": "uq emulate", "intervals": "uq intervals", "calibrate": "uq calibrate"}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="elmai", description="AI spin-up and emulation tools for ELM",
                     usage="elmai [-h] [--version] COMMAND ...",
                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--version", action="version", version=f"elmai {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", prog="elmai")
    restart_commands.register(sub)
    check_commands.register(sub)
    forcing_commands.register(sub)
    spinup_commands.register(sub)
    spinup_commands.register_refine(sub)
    ml_commands.register(sub)
    testbed_commands.register(sub)
    elm_commands.register(sub)
    transfer_commands.register(sub)
    uq = sub.add_parser("uq", help="uncertainty: emulators and Sobol indices, PI3NN intervals, DBUQ vs MCMC")
    uq_commands.register(uq.add_subparsers(dest="uq_command", required=True, metavar="COMMAND"))
    timeseries_commands.register(sub)
    explain_commands.register(sub)
    hydrology_commands.register(sub)
    foundation_commands.register(sub)
    uq_commands.register(sub)  # the moved verbs under their old names, hidden from the help
    for old, new in MOVED.items():
        sub.choices[old].set_defaults(moved_to=new)
    _group_help(parser, sub)
    return parser


def _group_help(parser: argparse.ArgumentParser, sub: argparse._SubParsersAction) -> None:
    """Write the command list as COMMAND_GROUPS in the description (argparse has no groups of
    subcommands) and drop argparse's own flat list."""
    helps = {a.dest: a.help for a in sub._choices_actions}
    listed = [c for _, names in COMMAND_GROUPS for c in names]
    missing = set(helps) - set(listed) - set(MOVED)
    assert not missing, f"commands missing from COMMAND_GROUPS: {sorted(missing)}"
    width = max(map(len, listed)) + 2
    lines = [parser.description or "", ""]
    for title, names in COMMAND_GROUPS:
        lines.append(f"{title}:")
        lines += [f"  {n:<{width}}{helps[n]}" for n in names]
        lines.append("")
    lines.append("`elmai COMMAND --help` for each; old names moved into groups still work for one release:")
    lines.append("  " + ", ".join(f"{o} -> {n}" for o, n in MOVED.items()))
    parser.description = "\n".join(lines)
    sub._choices_actions = []
    sub.help = argparse.SUPPRESS


def _debug() -> bool:
    return os.environ.get("ELMAI_DEBUG", "").strip() not in ("", "0")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    code = _run(build_parser().parse_args(argv))
    # Only a command that imported torch.distributed can have started a process group;
    # looking it up in sys.modules keeps torch out of the other commands' start-up.
    distributed = sys.modules.get("elmai.ml.distributed")
    if distributed is not None:
        distributed.leave(code)  # returns unless this process ran a process group
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        from elmai.mpi import check_launch

        check_launch()
        moved_to = getattr(args, "moved_to", None)
        if moved_to:
            print(f"elmai: note: `elmai {args.command}` is now `elmai {moved_to}`; the old name "
                  "goes in the next release", file=sys.stderr)  # fmt: skip
        return int(args.func(args) or 0)
    except ElmaiError as e:
        if _debug():
            raise
        print(f"elmai: error: {_one_line(str(e))}", file=sys.stderr)
        for line in getattr(e, "details", [])[:MAX_DETAIL_LINES]:
            print(f"  {_one_line(line)}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # output piped into `head` and friends
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("elmai: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: say so in one line, the traceback on request
        if _debug():
            raise
        print(
            f"elmai: internal error: {type(e).__name__}: {_one_line(str(e))} "
            "(a bug in elmai; run again with ELMAI_DEBUG=1 for the traceback and report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
