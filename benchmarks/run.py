"""`make bench`: run every benchmarks/bench_*.py, print ratio tables, save JSON.

python benchmarks/run.py [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small inputs: checks the benchmarks run, not speed")
    p.add_argument("--only", nargs="*", default=None, help="benchmark names (e.g. restart_io)")
    args = p.parse_args(argv)
    names = sorted(f.stem.removeprefix("bench_") for f in HERE.glob("bench_*.py"))
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            p.error(f"unknown benchmarks {sorted(unknown)}; have {names}")
        names = [n for n in names if n in args.only]
    missed = []
    for name in names:
        t0 = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{name}")
        result = module.run(quick=args.quick)
        print(result.table())
        print(f"   -> {result.save()}  ({time.perf_counter() - t0:.0f} s)\n", flush=True)
        missed += [f"{name}: {f.name}" for f in result.figures if f.met is False]
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed))
    else:
        print("all benchmark targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
