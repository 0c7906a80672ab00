"""Start-up: `elmai --help` and `elmai check` of the real ELM restart, whole processes.

Target (issue 29): both start in <= 0.3 s, a budget. The file layer links netcdf-c only
(libelmai_io, the _core extension), the model runner libtorch (libelmai, _runner), and
`import elmai` loads neither until asked, so neither command loads libtorch. Each figure is
the median of `repeat` runs after one warm-up (min and max in the note); the interpreter's
own start (`python -c pass`) and `import torch` are measured in the same run for scale.

python benchmarks/bench_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BenchResult, Figure

ROOT = Path(__file__).resolve().parents[1]
ELMAI = Path(sys.executable).with_name("elmai")
REAL = ROOT.parent / "shared" / "data" / "elm" / "site_fullrun_docker_tr_demo_fini.nc"
BUDGET_S = 0.3


def wall(cmd: list[str], repeat: int) -> list[float]:
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:  # the first run warms the page cache
            times.append(time.perf_counter() - t0)
    return times


def _spread(times: list[float]) -> str:
    return f"min / median / max {min(times):.3f} / {statistics.median(times):.3f} / {max(times):.3f} s"


def run(quick: bool = False, repeat: int | None = None) -> BenchResult:
    repeat = repeat or (3 if quick else 7)
    python = wall([sys.executable, "-c", "pass"], repeat)
    torch = wall([sys.executable, "-c", "import torch"], repeat)
    help_ = wall([str(ELMAI), "--help"], repeat)
    check = wall([str(ELMAI), "check", str(REAL)], repeat)
    figures = [
        Figure("elmai --help", statistics.median(help_), "budget 0.3 s", BUDGET_S, target="<= 1.0",
               note=_spread(help_), reference_kind="budget"),
        Figure("elmai check (real ELM restart)", statistics.median(check), "budget 0.3 s", BUDGET_S,
               target="<= 1.0", note=_spread(check), reference_kind="budget"),
        Figure("elmai check (real ELM restart)", statistics.median(check), "python -c pass",
               statistics.median(python), note="the interpreter's own start, same run"),
    ]  # fmt: skip
    context = {
        "python_start_s": round(statistics.median(python), 3),
        "import_torch_s": round(statistics.median(torch), 3),
        "repeat": repeat,
        "file": REAL.name,
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work on the machine inflates these
    }
    return BenchResult("startup", "elmai --help and elmai check start-up (whole process)", figures, context)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int)
    a = p.parse_args()
    result = run(repeat=a.repeat)
    print(result.table())
    print(result.save())
