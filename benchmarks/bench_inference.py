"""Inference: elmai's Fortran and C paths vs a bare libtorch forward, and vs Python;
the AOTInductor (.pt2) backend vs TorchScript.

Model: a 5-64-64-3 MLP (TorchScript), one intra-op thread unless stated. The bare
libtorch loop is C++ calling module.forward() on a ready tensor; the Fortran path
includes tensor views, the forward, the copy into the Fortran output array and the
status code. Python torch calls the same scripted module under no_grad. The same MLP
exported with torch.export + AOTInductor runs through the same Fortran driver (the
backend is chosen from the file); the two formats are interleaved run by run and
reported as median and spread, as is the first forward of a fresh process.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils import cpp_extension

import elmai
from benchmarks.common import RESULTS, BenchResult, Figure
from elmai import config

HERE = Path(__file__).resolve().parent / "inference"
# libtorch allocates activations with plain malloc. Near glibc's dynamic mmap threshold
# (batch ~10k here: 2.5 MB buffers) whether each forward page-faults fresh memory
# depends on the process's allocation history (measured: 7.1 vs 5.6 ms for the same
# forward). Both drivers run with the same fixed settings so that history cannot decide
# the comparison; the effect itself is reported as a separate figure.
PINNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


class MLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(5, 64),
            torch.nn.Tanh(),
            torch.nn.Linear(64, 64),
            torch.nn.Tanh(),
            torch.nn.Linear(64, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build(work: Path) -> tuple[Path, Path]:
    cpp, f90 = work / "forward_bare_vs_capi", work / "forward_fortran"
    if not cpp.exists():
        inc = [f"-I{p}" for p in cpp_extension.include_paths()] + shlex.split(config.cflags())
        libdir = cpp_extension.library_paths()[0]
        cmd = ["g++", "-O2", "-std=c++17", f"-D_GLIBCXX_USE_CXX11_ABI={int(torch.compiled_with_cxx11_abi())}",
               *inc, str(HERE / "forward_bare_vs_capi.cpp"), "-o", str(cpp),
               f"-L{libdir}", "-ltorch", "-ltorch_cpu", "-lc10", f"-Wl,-rpath,{libdir}",
               *shlex.split(config.libs(fortran=False))]  # fmt: skip
        subprocess.run(cmd, check=True)
    if not f90.exists():
        src = str(HERE / "forward_fortran.F90")
        cmd = [
            "gfortran",
            "-O2",
            *shlex.split(config.fflags()),
            src,
            "-o",
            str(f90),
            *shlex.split(config.libs()),
        ]
        subprocess.run(cmd, check=True)
    return cpp, f90


def parse(text: str) -> dict[tuple[str, int], float]:
    out = {}
    for line in text.splitlines():
        kind, batch, us = line.split()
        out[(kind, int(batch))] = float(us)
    return out


def python_us(fn, batch: int) -> float:
    """Best of 5 runs, microseconds per call (same protocol as the compiled drivers)."""
    iters = min(20000, max(5, 200000 // (batch + 10)))
    for _ in range(20):
        fn()
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        runs.append((time.perf_counter() - t0) / iters * 1e6)
    return min(runs)


FIRST_FORWARD = """
import sys, time
t0 = time.perf_counter()
import numpy as np, elmai
t1 = time.perf_counter()
m = elmai.Model(sys.argv[1], threads=1)
t2 = time.perf_counter()
x = np.full((100, 5), 0.5, np.float32)
m(x)
t3 = time.perf_counter()
m(x)
t4 = time.perf_counter()
print(t2 - t1, t3 - t2, t4 - t3)
"""


def spread(values: list[float]) -> str:
    return f"{min(values) * 1e6:.1f}-{max(values) * 1e6:.1f} us"


def aoti_vs_torchscript(work: Path, f90: Path, ts_model: Path, quick: bool = False) -> list[Figure]:
    """Same MLP, same Fortran driver: .pt2 (AOTInductor) vs TorchScript, interleaved."""
    from elmai.training.export import export_pt2

    pt2_model = work / "mlp_5_64_64_3.pt2"
    if not pt2_model.exists() or pt2_model.stat().st_mtime < ts_model.stat().st_mtime - 3600:
        torch.manual_seed(0)
        export_pt2(MLP().eval(), (torch.zeros(8, 5),), pt2_model)
    batches = [1, 100] if quick else [1, 100, 10_000, 100_000]
    rounds = 2 if quick else 5
    pinned = {**os.environ, **PINNED_MALLOC}
    steady: dict[tuple[str, int], list[float]] = {}
    first: dict[str, list[tuple[float, float, float]]] = {"ts": [], "pt2": []}
    models = {"ts": ts_model, "pt2": pt2_model}
    for r in range(rounds):
        order = ("ts", "pt2") if r % 2 == 0 else ("pt2", "ts")  # alternate who goes first
        for kind in order:
            done = subprocess.run([str(f90), str(models[kind]), "1", *map(str, batches)], check=True,
                                  capture_output=True, text=True, env=pinned)  # fmt: skip
            for (_, b), us in parse(done.stdout).items():
                steady.setdefault((kind, b), []).append(us * 1e-6)
            done = subprocess.run([sys.executable, "-c", FIRST_FORWARD, str(models[kind])], check=True,
                                  capture_output=True, text=True, env=pinned)  # fmt: skip
            first[kind].append(tuple(map(float, done.stdout.split())))
    figures = []
    for b in batches:
        a, t = steady[("pt2", b)], steady[("ts", b)]
        figures.append(
            Figure(
                f"AOTInductor .pt2, Fortran path, batch {b}",
                statistics.median(a),
                "TorchScript, same driver",
                statistics.median(t),
                note=f"median of {rounds} interleaved runs; spread .pt2 {spread(a)}, TorchScript {spread(t)}",
            )
        )
    for label, k in (("load", 0), ("first forward (batch 100)", 1)):
        a = [x[k] for x in first["pt2"]]
        t = [x[k] for x in first["ts"]]
        figures.append(
            Figure(
                f"AOTInductor .pt2, {label}, fresh process",
                statistics.median(a),
                "TorchScript",
                statistics.median(t),
                note=f"median of {rounds}; spread .pt2 {spread(a)}, TorchScript {spread(t)}; "
                f"second forward .pt2 {statistics.median(x[2] for x in first['pt2']) * 1e6:.0f} us, "
                f"TorchScript {statistics.median(x[2] for x in first['ts']) * 1e6:.0f} us",
            )
        )
    return figures


def run(quick: bool = False) -> BenchResult:
    work = RESULTS / "build"
    work.mkdir(parents=True, exist_ok=True)
    model_path = work / "mlp_5_64_64_3.pt"
    torch.manual_seed(0)
    torch.jit.script(MLP().eval()).save(str(model_path))
    cpp, f90 = build(work)
    batches = [1, 100] if quick else [1, 100, 10_000, 100_000]
    args = [str(model_path), "1", *map(str, batches)]
    # The drivers run in separate processes; the machine's speed drifts between them, so
    # alternate them over rounds and keep each figure's best.
    times: dict[tuple[str, int], float] = {}
    pinned = {**os.environ, **PINNED_MALLOC}
    for _ in range(1 if quick else 3):
        for exe in (cpp, f90):
            done = subprocess.run([str(exe), *args], check=True, capture_output=True, text=True, env=pinned)
            for key, us in parse(done.stdout).items():
                times[key] = min(us, times.get(key, float("inf")))
    mid = 10_000 if 10_000 in batches else batches[-1]
    default_malloc = min(
        parse(subprocess.run([str(f90), str(model_path), "1", str(mid)], check=True, capture_output=True,
                             text=True).stdout)[("fortran", mid)]
        for _ in range(1 if quick else 3)
    )  # fmt: skip
    big = batches[-1]
    two = parse(subprocess.run([str(f90), str(model_path), "2", str(big)], check=True, capture_output=True,
                               text=True, env=pinned).stdout)  # fmt: skip

    torch.set_num_threads(1)
    scripted = torch.jit.load(str(model_path))
    ours = elmai.Model(model_path, threads=1)
    with torch.no_grad():
        for b in batches:
            x = np.full((b, 5), 0.5, np.float32)
            tx = torch.from_numpy(x)
            times[("python_torch", b)] = python_us(lambda tx=tx: scripted(tx), b)
            times[("python_elmai", b)] = python_us(lambda x=x: ours(x), b)

    def sec(kind: str, b: int) -> float:
        return times[(kind, b)] * 1e-6

    figures = []
    for b in batches:
        bare, fortran = sec("bare", b), sec("fortran", b)
        target = f"<= {(bare + 1e-6) / bare:.3f}" if b == 1 else "<= 1.05"  # batch 1: at most 1 us added
        note = f"adds {(fortran - bare) * 1e6:+.2f} us" if b == 1 else ""
        figures.append(Figure(f"Fortran path, batch {b}", fortran, "bare libtorch", bare, target, note))
    for b in batches:
        figures.append(Figure(f"C ABI path, batch {b}", sec("capi", b), "bare libtorch", sec("bare", b)))
    for b in batches[:2]:
        torch_s = sec("python_torch", b)
        figures.append(
            Figure(f"Python torch, batch {b}", torch_s, "elmai Fortran path", sec("fortran", b), ">= 1.0")
        )
        figures.append(
            Figure(f"elmai.Model from Python, batch {b}", sec("python_elmai", b), "Python torch", torch_s)
        )
    figures.append(
        Figure(
            f"Fortran path, default glibc malloc, batch {mid}",
            default_malloc * 1e-6,
            "same, malloc settings pinned",
            sec("fortran", mid),
            note="allocator history, not elmai: see docs/elm_integration.md",
        )
    )
    figures.append(
        Figure(
            f"Fortran path, 2 threads, batch {big}",
            two[("fortran", big)] * 1e-6,
            "Fortran path, 1 thread",
            sec("fortran", big),
            note="thread count set from Fortran",
        )
    )
    # the .pt2 export compiles C++ (~1 min): part of every full run, of quick runs on request
    if os.environ.get("ELMAI_BENCH_PT2", "0" if quick else "1") == "1":
        figures += aoti_vs_torchscript(work, f90, model_path, quick)
    context = {
        "model": "5-64-64-3 MLP, TorchScript (.pt2 for the AOTInductor figures), float32, 1 intra-op thread",
        "malloc": "compiled drivers run with " + " ".join(f"{k}={v}" for k, v in PINNED_MALLOC.items()),
        "timing": "best of 5 runs of N forwards (>= 0.2 s a run) after 20 warm-up forwards, C++ and Fortran "
        "drivers alternated over 3 rounds; seconds per forward",
    }
    return BenchResult(
        "inference",
        "model forward: Fortran/C ABI vs bare libtorch vs Python; .pt2 vs TorchScript",
        figures,
        context,
    )


if __name__ == "__main__":
    res = run(quick=os.environ.get("ELMAI_BENCH_QUICK") == "1")
    print(res.table())
    res.save()
