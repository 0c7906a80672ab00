"""Fuzz `check`, `spinup`, `refine` and the C ABI with mutated ELM restarts.

Bases: the real ELM restart of ../shared/data/elm, ELM's own native and AD restarts of the
16-site case (elm_written/s16), a testbed world's early restart (ELM layout, with the
forcing, surface data and parameters `spinup` needs beside it, and a restart one forcing
cycle later for `refine`) and an elmai sample restart in NetCDF-4 (the HDF5 reading path).
Mutations: byte flips in the header or anywhere, truncation, zeroed or random blocks,
appended garbage, an empty or non-NetCDF file, and rewrites through netCDF4-python that
drop a variable, attribute or dimension, change a variable's type or shape, shrink a
dimension, or write NaN, Inf, fill values, negative or huge values into pools and subgrid
maps.

Each file goes through every operation in a worker process. Outcomes: `ok` (accepted),
`findings` (`check` ran and lists what is wrong), `error` (an elmai error: one line naming
the file), or a defect: `traceback` (any other
exception, or an error message that is not one line naming the file), `crash` (the worker
died: a signal), `hang` (no answer within --timeout seconds), `modified` (the input's
bytes changed). The parent restarts a worker after a crash or hang and goes on; finished
files are appended to DIR/outcomes.jsonl, so a stopped run resumes.

    python -m tests.fuzz_restarts --files 10000 --work /tmp/fuzz --out results/fuzz.json
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "elm"
OPERATIONS = ("check", "c_abi", "spinup", "refine")
BYTE_MUTATIONS = ("flip_header", "flip_any", "truncate", "zero_block", "random_block", "append", "empty",
                  "not_netcdf")  # fmt: skip
NC_MUTATIONS = ("drop_variable", "drop_attribute", "retype", "reshape", "shrink_dimension", "nan", "inf",
                "fill_value", "negative", "huge", "bad_index", "bad_weight", "spinup_state")  # fmt: skip
# the variables a mutation picks from: what the operations read
TARGETS = ("soil4c_vr", "soil3c_vr", "cwdc_vr", "litr1c_vr", "soil1n_vr", "soil2p_vr", "deadstemc", "leafc",
           "frootn", "totvegc", "totcolc", "totsomc", "pfts1d_wtcol", "pfts1d_column_index",
           "cols1d_gridcell_index", "pfts1d_itypveg", "cols1d_ityplun", "grid1d_lat", "grid1d_lon",
           "scalaravg_col", "spinup_state", "timemgr_rst_curr_ymd", "land1d_wtxy")  # fmt: skip
MEMORY_LIMIT = 8 << 30  # bytes of address space per worker
INDEX_VARS = ("pfts1d_column_index", "cols1d_gridcell_index", "pfts1d_itypveg", "cols1d_ityplun")


# ---- bases ---------------------------------------------------------------------------------


def make_bases(work: Path) -> dict[str, dict[str, str]]:
    """The base files (made once into work/bases) and, per base, what its operations need."""
    from elmai.apps.testbed.run import run_testbed
    from elmai.apps.testbed.verify import verify
    from elmai.io.sample_restart import make_sample_restart

    folder = work / "bases"
    index = folder / "bases.json"
    if index.exists():
        return json.loads(index.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    world = folder / "world"
    run_testbed(world, resolution=10.0, years=4, forcing_years=4, progress=False)
    early = world / "elmai_testbed.elm.r.0005-01-01-00000.nc"
    cycle = verify(early, 4, folder / "cycle", progress=False)
    sample = folder / "sample.nc"
    make_sample_restart(sample, ngridcells=24, format="NETCDF4", seed=5)
    s16 = SHARED / "elm_written" / "s16"
    bases = {
        "real_elm": {"file": str(SHARED / "site_fullrun_docker_tr_demo_fini.nc")},
        "elm_native_s16": {"file": str(s16 / "native_year2.elm.r.0003-01-01-00000.nc")},
        "elm_ad_s16": {"file": str(s16 / "ad_year10.elm.r.0011-01-01-00000.nc")},
        "testbed": {"file": str(early), "world": str(world), "end": str(cycle.restarts[-1])},
        "sample_nc4": {"file": str(sample)},
    }  # fmt: skip
    for name, base in bases.items():
        if not Path(base["file"]).exists():
            raise SystemExit(f"fuzz: base '{name}' is missing: {base['file']}")
    index.write_text(json.dumps(bases, indent=1) + "\n")
    return bases


# ---- mutations -----------------------------------------------------------------------------


def _header_length(data: bytes) -> int:
    """Bytes before the first variable's data in a classic file (a bound: the first begin)."""
    if data[:3] != b"CDF":
        return min(len(data), 4096)
    return min(len(data), 1 << 16)


def mutate_bytes(kind: str, src: Path, dst: Path, rng: np.random.Generator) -> str:
    data = bytearray(src.read_bytes())
    n = len(data)
    if kind == "flip_header":
        hl = _header_length(bytes(data))
        k = int(rng.integers(1, 9))
        for i in rng.integers(0, hl, k):
            data[i] ^= 1 << int(rng.integers(0, 8))
        desc = f"{k} bits flipped in the first {hl} bytes"
    elif kind == "flip_any":
        k = int(rng.integers(1, 65))
        for i in rng.integers(0, n, k):
            data[i] = int(rng.integers(0, 256))
        desc = f"{k} random bytes"
    elif kind == "truncate":
        cut = int(rng.integers(0, n))
        data = data[:cut]
        desc = f"truncated to {cut} of {n} bytes"
    elif kind in ("zero_block", "random_block"):
        start, size = int(rng.integers(0, n)), int(rng.integers(1, 4097))
        block = bytes(size) if kind == "zero_block" else rng.bytes(size)
        data[start : start + size] = block[: max(0, min(size, n - start))]
        desc = f"{size} bytes at {start}"
    elif kind == "append":
        size = int(rng.integers(1, 10_000))
        data += rng.bytes(size)
        desc = f"{size} bytes appended"
    elif kind == "empty":
        data = bytearray()
        desc = "empty file"
    else:  # not_netcdf
        data = bytearray(b"this is not a NetCDF file\n" * int(rng.integers(1, 50)))
        desc = "a text file"
    dst.write_bytes(bytes(data))
    return desc


def _copy_with(src: Path, dst: Path, change: Any) -> None:
    """Rewrite src to dst through netCDF4-python, `change(name, var_info)` returning the
    variable's (dims, dtype, data, attrs) or None to drop it; dims may shrink."""
    import netCDF4

    with netCDF4.Dataset(src) as a:
        a.set_auto_maskandscale(False)
        a.set_auto_chartostring(False)
        fmt = a.data_model
        dims = {d: (None if v.isunlimited() else len(v)) for d, v in a.dimensions.items()}
        gatts = {k: a.getncattr(k) for k in a.ncattrs()}
        plan = {}
        for name, v in a.variables.items():
            info = (v.dimensions, v.dtype, v[...], {k: v.getncattr(k) for k in v.ncattrs()})
            plan[name] = change(name, info)
        dims = change("__dims__", dims) or dims
    with netCDF4.Dataset(dst, "w", format=fmt) as b:
        b.set_auto_maskandscale(False)
        for d, size in dims.items():
            b.createDimension(d, size)
        for k, val in gatts.items():
            b.setncattr(k, val)
        for name, spec in plan.items():
            if spec is None:
                continue
            vdims, dtype, data, attrs = spec
            fill = attrs.pop("_FillValue", None)
            try:
                fill = None if fill is None else np.asarray(fill).astype(dtype)
                var = b.createVariable(name, dtype, vdims, fill_value=fill)
            except (TypeError, ValueError):
                var = b.createVariable(name, dtype, vdims)
            for k, val in attrs.items():
                var.setncattr(k, val)
            shape = tuple(len(b.dimensions[d]) for d in vdims)
            arr = np.asarray(data)
            if arr.shape != shape:  # a shrunk dimension: keep the leading part
                arr = (
                    arr[tuple(slice(0, s) for s in shape)]
                    if arr.ndim == len(shape)
                    else np.resize(arr, shape)
                )
            var[...] = arr.astype(dtype) if arr.dtype.kind != "S" or np.dtype(dtype).kind == "S" else arr


def mutate_netcdf(kind: str, src: Path, dst: Path, rng: np.random.Generator) -> str:
    import netCDF4

    with netCDF4.Dataset(src) as a:
        present = [t for t in TARGETS if t in a.variables]
        dim_names = [d for d in ("gridcell", "column", "pft", "levgrnd", "landunit") if d in a.dimensions]
    if not present:
        present = ["spinup_state"]
    target = str(rng.choice(present))
    if kind == "shrink_dimension":
        dim = str(rng.choice(dim_names))

        def change(name: str, info: Any) -> Any:
            if name == "__dims__":
                out = dict(info)
                if out.get(dim):
                    out[dim] = max(1, int(out[dim]) - int(rng.integers(1, 3)))
                return out
            return info

        _copy_with(src, dst, change)
        return f"shrink_dimension {dim}"

    if kind == "bad_index":
        target = str(rng.choice([t for t in INDEX_VARS if t in present] or present))
    elif kind == "bad_weight" and "pfts1d_wtcol" in present:
        target = "pfts1d_wtcol"
    elif kind == "spinup_state":
        target = "spinup_state"
    desc = f"{kind} {target}"
    shutil.copyfile(src, dst)
    dst.chmod(0o644)
    with netCDF4.Dataset(dst, "r+") as b:  # in place: fast, and the rest of the file stays ELM's
        b.set_auto_maskandscale(False)
        if target not in b.variables:
            return desc + " (absent)"
        var = b.variables[target]
        if kind == "drop_variable":  # under another name it is gone for every reader
            b.renameVariable(target, f"{target}_gone")
            return desc
        if kind == "drop_attribute":
            names = var.ncattrs()
            if names:
                var.delncattr(str(rng.choice(names)))
            return desc
        if kind in ("retype", "reshape"):  # the old one renamed away, a new one in its place
            data = np.asarray(var[...])
            dims = var.dimensions
            b.renameVariable(target, f"{target}_old")
            if kind == "retype":
                new = np.dtype(str(rng.choice(["f4", "i4", "i2", "i1", "S1"])))
                nv = b.createVariable(target, new, dims)
                if new.kind != "S":
                    nv[...] = np.nan_to_num(data, nan=0, posinf=0, neginf=0).clip(-100, 100).astype(new)
                return f"{desc} -> {new}"
            others = [d for d in dim_names if d not in dims] or ["gridcell"]
            new_dims = (str(rng.choice(others)),) + tuple(dims[1:])
            nv = b.createVariable(target, data.dtype, new_dims)
            shape = tuple(len(b.dimensions[d]) for d in new_dims)
            nv[...] = np.resize(data, shape)
            return f"{desc} -> {new_dims}"
        data = np.array(var[...])
        if data.size == 0 or data.dtype.kind not in "fiu":
            return desc + " (not numeric)"
        flat = data.reshape(-1)
        k = int(rng.integers(1, max(2, min(flat.size, 20))))
        where = rng.integers(0, flat.size, k)
        floating = flat.dtype.kind == "f"
        if kind in ("nan", "inf") and floating:
            flat[where] = np.nan if kind == "nan" else (np.inf if rng.random() < 0.5 else -np.inf)
        elif kind == "fill_value":
            fill = var.getncattr("_FillValue") if "_FillValue" in var.ncattrs() else None
            flat[where] = fill if fill is not None else (1e36 if floating else -9999)
        elif kind == "negative":
            flat[where] = -np.abs(flat[where]) - 1
        elif kind == "huge":
            flat[where] = 1e30 if floating else np.iinfo(flat.dtype).max
        elif kind == "bad_index" and not floating:
            flat[where] = rng.choice([0, -1, 10**6, np.iinfo(np.int32).min])
        elif kind == "bad_weight" and floating:
            flat[where] = rng.choice([-0.5, 2.0, np.nan])
        elif kind == "spinup_state":
            flat[...] = rng.choice([2, -1, 7])
        else:
            flat[where] = flat[where] * rng.uniform(-3, 3)
        var[...] = flat.reshape(data.shape)
    return desc


# ---- the operations (in the worker) --------------------------------------------------------


class Worker:
    """Runs every operation on one file and classifies each outcome."""

    def __init__(self, bases: dict[str, dict[str, str]], work: Path) -> None:
        from elmai.pretrained import default_model

        self.bases = bases
        self.work = work
        self.model = default_model()
        from elmai.config import lib_dir

        found = lib_dir() / "libelmai.so"  # the installed core's C library, as ELM links it
        self.c = ctypes.CDLL(str(found)) if found.is_file() else None
        if self.c is not None:
            self.c.elmai_last_error.restype = ctypes.c_char_p

    def run(self, path: Path, base: str) -> dict[str, Any]:
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        results = {}
        for op in OPERATIONS:
            if op in ("spinup", "refine") and base != "testbed":
                continue
            results[op] = self._one(op, path, base)
        if hashlib.sha256(path.read_bytes()).hexdigest() != before:
            results["input"] = {"outcome": "modified", "message": "the input's bytes changed"}
        return results

    def _one(self, op: str, path: Path, base: str) -> dict[str, Any]:
        from elmai.errors import ElmaiError

        try:
            finding = getattr(self, op)(path, base)
            if finding:  # the check ran and reports what is wrong
                return {"outcome": "findings", "message": finding}
            return {"outcome": "ok"}
        except ElmaiError as e:
            msg = str(e)
            clean = "\n" not in msg and (path.name in msg or str(path) in msg)
            return {"outcome": "error" if clean else "traceback", "type": type(e).__name__, "message": msg}
        except Exception as e:  # a defect: elmai let something else through
            return {"outcome": "traceback", "type": type(e).__name__, "message": f"{type(e).__name__}: {e}"}

    def check(self, path: Path, base: str) -> str | None:
        from elmai.checks import check_restart

        report = check_restart(path)
        return None if report.ok else report.failure_lines(1)[0]

    def c_abi(self, path: Path, base: str) -> None:
        from elmai.errors import ElmaiError

        if self.c is None:
            raise RuntimeError("libelmai.so not found")
        handle = ctypes.c_void_p()
        status = self.c.elmai_restart_open(os.fsencode(path), ctypes.byref(handle))
        if status != 0:
            raise ElmaiError(self.c.elmai_last_error().decode(errors="replace"))
        try:
            for name in ("soil4c_vr", "pfts1d_wtcol", "spinup_state", "cols1d_ityplun"):
                ndims, shape = ctypes.c_int(), (ctypes.c_int64 * 8)()
                st = self.c.elmai_restart_var_shape(handle, name.encode(), ctypes.byref(ndims), shape, 8)
                if st != 0:
                    msg = self.c.elmai_last_error().decode(errors="replace")
                    if name not in msg:
                        raise ElmaiError(f"{path}: C ABI message does not name '{name}': {msg}")
                    continue
                dims = [shape[i] for i in range(ndims.value)]
                if int(np.prod(dims)) > 50_000_000:
                    continue
                out = np.empty(dims or [1], dtype=np.float64)
                st = self.c.elmai_restart_read_double(
                    handle, name.encode(), out.ctypes.data_as(ctypes.c_void_p), ndims.value, shape
                )
                if st != 0:
                    msg = self.c.elmai_last_error().decode(errors="replace")
                    if name not in msg:
                        raise ElmaiError(f"{path}: C ABI message does not name '{name}': {msg}")
        finally:
            self.c.elmai_restart_close(handle)

    def spinup(self, path: Path, base: str) -> None:
        from elmai.spinup.run import ai_spinup

        world = Path(self.bases[base]["world"])
        out = path.parent / "ai" / path.name
        out.parent.mkdir(exist_ok=True)
        surfdata, forcing = next(world.glob("surfdata_*.nc")), next(world.glob("*.datm.forcing.nc"))
        ai_spinup(path, self.model, out, str(surfdata), str(forcing), str(world / "clm_params.nc"))
        out.unlink(missing_ok=True)

    def refine(self, path: Path, base: str) -> None:
        from elmai.spinup.refine import refine_spinup

        world = Path(self.bases[base]["world"])
        out = path.parent / "refined" / path.name
        out.parent.mkdir(exist_ok=True)
        refine_spinup(path, self.bases[base]["end"], out, params=str(world / "clm_params.nc"),
                      forcing=str(next(world.glob("*.datm.forcing.nc"))), history=[])  # fmt: skip
        out.unlink(missing_ok=True)


def case_of(i: int, seed: int, bases: dict[str, dict[str, str]]) -> tuple[str, str, np.random.Generator]:
    """File i's base and mutation (deterministic in seed and i)."""
    rng = np.random.default_rng([seed, i])
    names = sorted(bases)
    base = names[i % len(names)]
    kinds = BYTE_MUTATIONS + NC_MUTATIONS
    return base, kinds[int(rng.integers(0, len(kinds)))], rng


def worker_main(work: Path, start: int, stop: int, seed: int, skip: set[int]) -> None:
    import resource
    import warnings

    # a file that makes a library allocate without bound fails here, not in the OOM killer
    # (which picks any process of the machine)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    warnings.simplefilter("ignore")
    bases = json.loads((work / "bases" / "bases.json").read_text())
    worker = Worker(bases, work)
    cases = work / "cases"
    cases.mkdir(exist_ok=True)
    for i in range(start, stop):
        if i in skip:
            continue
        base, kind, rng = case_of(i, seed, bases)
        folder = cases / f"{i:06d}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        path = folder / (f"fuzz{i:06d}.elm.r.0005-01-01-00000.nc" if base == "testbed" else f"fuzz{i:06d}.nc")
        src = Path(bases[base]["file"])
        t0 = time.perf_counter()
        try:
            desc = (mutate_bytes if kind in BYTE_MUTATIONS else mutate_netcdf)(kind, src, path, rng)
        except Exception as e:  # the mutation itself could not be written: not elmai's
            desc = f"unwritable ({type(e).__name__})"
            shutil.copyfile(src, path)
        print(json.dumps({"i": i, "started": True}), flush=True)
        results = worker.run(path, base)
        record = {"i": i, "base": base, "mutation": kind, "what": desc, "results": results,
                  "seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip
        print(json.dumps(record), flush=True)
        shutil.rmtree(folder, ignore_errors=True)


# ---- the parent ----------------------------------------------------------------------------


def _pump(stream: Any, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _drain(stream: Any, into: list[str]) -> None:
    into.append(stream.read())


def _defect(log: Any, i: int, outcome: str, message: str) -> None:
    rec = {
        "i": i,
        "base": "?",
        "mutation": "?",
        "what": "",
        "results": {"worker": {"outcome": outcome, "message": message}},
    }
    log.write(json.dumps(rec) + "\n")
    log.flush()


def _done(outcomes: Path) -> dict[int, dict[str, Any]]:
    done = {}
    if outcomes.exists():
        for line in outcomes.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a stop
            done[rec["i"]] = rec
    return done


def run_fuzz(files: int, work: Path, seed: int = 0, timeout: float = 120.0, progress: bool = True) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    make_bases(work)
    outcomes = work / "outcomes.jsonl"
    t_start = time.perf_counter()
    while True:
        done = _done(outcomes)
        todo = [i for i in range(files) if i not in done]
        if not todo:
            break
        skip = work / "skip.json"
        skip.write_text(json.dumps(sorted(done)))
        cmd = [sys.executable, "-m", "tests.fuzz_restarts", "--worker", "--work", str(work),
               "--seed", str(seed), "--start", str(todo[0]), "--stop", str(files)]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        errors: list[str] = []
        threading.Thread(target=_drain, args=(proc.stderr, errors), daemon=True).start()
        current: int | None = None
        with outcomes.open("a") as log:
            while True:
                try:
                    line = lines.get(timeout=timeout)
                except queue.Empty:  # the current file takes too long
                    proc.kill()
                    proc.wait()
                    if current is not None:
                        _defect(log, current, "hang", f"no answer in {timeout:g} s")
                    break
                if line is None:  # the worker ended
                    proc.wait()
                    if proc.returncode != 0 and current is not None:
                        time.sleep(0.2)
                        tail = (errors[0] if errors else "")[-400:]
                        _defect(log, current, "crash", f"worker exit {proc.returncode}: {tail}")
                    break
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # something the code under test printed
                if rec.get("started"):
                    current = rec["i"]
                    continue
                log.write(json.dumps(rec) + "\n")
                log.flush()
                current = None
                if progress and rec["i"] % 250 == 0:
                    print(f"fuzz: file {rec['i']} of {files}", flush=True)
    return summarise(_done(outcomes), files, time.perf_counter() - t_start)


def _normalise(message: str) -> str:
    """A message with paths, numbers and names of this run taken out, to count kinds."""
    text = re.sub(r"'?/[^\s':,]+'?", "FILE", message)
    text = re.sub(r"fuzz\d+\S*", "FILE", text)
    text = re.sub(r"-?\d+(\.\d+)?(e[+-]?\d+)?", "N", text)
    return text[:160]


def summarise(done: dict[int, dict[str, Any]], files: int, seconds: float) -> dict[str, Any]:
    outcome_counts: Counter[str] = Counter()
    per_op: dict[str, Counter[str]] = {}
    messages: Counter[str] = Counter()
    defects = []
    mutations: Counter[str] = Counter()
    for rec in done.values():
        mutations[rec["mutation"]] += 1
        for op, res in rec["results"].items():
            outcome_counts[res["outcome"]] += 1
            per_op.setdefault(op, Counter())[res["outcome"]] += 1
            if res["outcome"] in ("error", "findings"):
                messages[_normalise(res["message"])] += 1
            elif res["outcome"] != "ok":
                defects.append({"i": rec["i"], "base": rec["base"], "mutation": rec["what"], "op": op, **res})
    return {
        "files": len(done),
        "files_asked": files,
        "crashes": outcome_counts["crash"],
        "hangs": outcome_counts["hang"],
        "tracebacks": outcome_counts["traceback"],
        "inputs_modified": outcome_counts["modified"],
        "operations": {op: dict(c) for op, c in per_op.items()},
        "mutations": dict(mutations),
        "error_messages": dict(messages.most_common()),
        "defects": defects[:200],
        "seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz_restarts", description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--work", default="bench-results/fuzz", help="cases, bases and outcomes.jsonl (resumable)")
    p.add_argument("--out", help="summary JSON (e.g. results/fuzz.json)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds one file may take (a hang beyond)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    work = Path(a.work).resolve()
    if a.worker:
        skip = set(json.loads((work / "skip.json").read_text())) if (work / "skip.json").exists() else set()
        worker_main(work, a.start, a.stop, a.seed, skip)
        return 0
    summary = run_fuzz(a.files, work, a.seed, a.timeout)
    text = json.dumps(summary, indent=1) + "\n"
    if a.out:
        tmp = Path(a.out).with_suffix(".json.tmp")
        tmp.write_text(text)
        tmp.replace(a.out)
    print(json.dumps({k: summary[k] for k in ("files", "crashes", "hangs", "tracebacks", "inputs_modified",
                                              "seconds")}))  # fmt: skip
    return (
        0
        if not (summary["crashes"] or summary["hangs"] or summary["tracebacks"] or summary["inputs_modified"])
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
