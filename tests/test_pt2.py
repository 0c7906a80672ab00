"""The torch.export / AOTInductor (.pt2) backend: same results as TorchScript and eager
torch, chosen from the file, clear errors, and the Fortran examples run with a .pt2.

AOTInductor compiles C++ (~45 s a model on 2 cores): the packages are built once per
session, two at a time, by the examples' own make_model.py scripts."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

import elmai
from elmai import _runner, errors
from tests.compiled import compile_program, run_program
from tests.conftest import ROOT

EXAMPLES = ROOT / "fortran_bridge" / "examples"
EX01, EX04 = EXAMPLES / "01_forward_mlp", EXAMPLES / "04_forward_pt2"


def load_script(path: Path):
    spec = importlib.util.spec_from_file_location(path.parent.name + "_make_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pt2")
    jobs = [
        [sys.executable, str(EX01 / "make_model.py"), str(out / "cell_mlp.pt2")],
        [sys.executable, str(EX04 / "make_model.py"), str(out / "pool_model.pt2")],
        [sys.executable, str(EX01 / "make_model.py"), str(out / "cell_mlp.pt")],
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")  # two compiles side by side on two cores
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env) for cmd in jobs]
    for cmd, p in zip(jobs, procs, strict=True):
        _, err = p.communicate(timeout=900)  # stdout: the pytest log
        assert p.returncode == 0, f"{cmd}: {err[-3000:]}"
    return out


def mlp_eager(x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return load_script(EX01 / "make_model.py").make_module()(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("batch", [1, 7, 1000, 4096])
def test_pt2_matches_torchscript_and_eager(pt2_dir: Path, batch: int) -> None:
    x = np.random.default_rng(batch).standard_normal((batch, 5)).astype(np.float32)
    pt2 = elmai.Model(pt2_dir / "cell_mlp.pt2", threads=1)
    ts = elmai.Model(pt2_dir / "cell_mlp.pt", threads=1)
    assert (pt2.format, ts.format) == ("pt2", "torchscript")
    a, b, want = pt2(x), ts(x), mlp_eager(x)
    assert a.dtype == np.float32 and a.shape == (batch, 3)
    np.testing.assert_allclose(a, want, rtol=0, atol=1e-6)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert pt2.input_names == ["features"] and pt2.output_names == ["output0"]


def test_pt2_two_inputs_dict_float64(pt2_dir: Path) -> None:
    ex = load_script(EX04 / "make_model.py")
    forcing, pools = ex.example_inputs(300)
    model = elmai.Model(pt2_dir / "pool_model.pt2")
    assert model.input_names == ["forcing", "pools"]
    got = model(forcing=forcing, pools=pools)
    with torch.no_grad():
        want = ex.make_module()(torch.from_numpy(forcing), torch.from_numpy(pools))
    assert list(got) == ["pools_eq", "flux"] == model.output_names
    for k in got:
        assert got[k].dtype == np.float64
        np.testing.assert_allclose(got[k], want[k].numpy(), rtol=1e-12, atol=1e-12)


def test_backend_chosen_from_file(pt2_dir: Path, tmp_path: Path) -> None:
    # by extension, and by the zip's layout when the extension says nothing
    shutil.copy(pt2_dir / "cell_mlp.pt2", tmp_path / "model.bin")
    shutil.copy(pt2_dir / "cell_mlp.pt", tmp_path / "script.bin")
    assert _runner.model_format(str(tmp_path / "model.bin")) == "pt2"
    assert _runner.model_format(str(tmp_path / "script.bin")) == "torchscript"
    x = np.ones((3, 5), np.float32)
    np.testing.assert_allclose(elmai.Model(tmp_path / "model.bin")(x), mlp_eager(x), atol=1e-6)


def test_pt2_error_paths(pt2_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(errors.ElmaiFileError, match="missing.pt2' does not exist"):
        elmai.Model(tmp_path / "missing.pt2")
    (tmp_path / "garbage.pt2").write_bytes(b"not a zip file at all" * 100)
    with pytest.raises(errors.FileFormatError, match="AOTInductor"):
        elmai.Model(tmp_path / "garbage.pt2")
    data = (pt2_dir / "cell_mlp.pt2").read_bytes()
    (tmp_path / "truncated.pt2").write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.FileFormatError, match="AOTInductor"):
        elmai.Model(tmp_path / "truncated.pt2")
    with pytest.raises(errors.InvalidArgumentError, match="CUDA|compiled for device 'cpu'"):
        elmai.Model(pt2_dir / "cell_mlp.pt2", device="cuda")

    model = elmai.Model(pt2_dir / "cell_mlp.pt2")
    x = np.ones((4, 5), np.float32)
    with pytest.raises(errors.InvalidArgumentError, match=r"takes 1 inputs \(features\) but 2"):
        model(x, x)
    with pytest.raises(errors.ShapeError, match=r"has shape \[4, 6\] but the model takes \[\*, 5\]"):
        model(np.ones((4, 6), np.float32))
    with pytest.raises(errors.ShapeError, match=r"\[4\] but the model takes \[\*, 5\]"):
        model(np.ones(4, np.float32))
    with pytest.raises(errors.DtypeError, match="must be float32, not float64"):
        model(x.astype(np.float64))
    with pytest.raises(errors.DtypeError, match="float32 or float64"):
        model(x.astype(np.int32))
    np.testing.assert_allclose(model(x), mlp_eager(x), atol=1e-6)  # still works after errors
    # non-contiguous input: a strided view is made dense for the compiled kernels
    wide = np.random.default_rng(1).standard_normal((6, 10)).astype(np.float32)
    np.testing.assert_allclose(model(wide[:, ::2]), mlp_eager(np.ascontiguousarray(wide[:, ::2])), atol=1e-6)


def test_pt2_from_threads(pt2_dir: Path) -> None:
    model = elmai.Model(pt2_dir / "cell_mlp.pt2", threads=1)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((int(n), 5)).astype(np.float32) for n in rng.integers(1, 2000, size=32)]
    serial = [model(x) for x in xs]
    with ThreadPoolExecutor(8) as pool:
        for a, b in zip(serial, pool.map(model, xs), strict=True):
            np.testing.assert_array_equal(a, b)


THREADS_PROBE = """
import os, sys, numpy as np, elmai
from elmai.inference import get_num_threads
def nthreads():
    return len(os.listdir("/proc/self/task"))
m = elmai.Model(sys.argv[1], threads=int(sys.argv[2]))
before = nthreads()
m(np.ones((200000, 5), np.float32))
print(get_num_threads(), nthreads() - before)
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_pt2_thread_count_honoured(pt2_dir: Path, threads: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", THREADS_PROBE, str(pt2_dir / "cell_mlp.pt2"), str(threads)],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    reported, spawned = map(int, done.stdout.split())
    assert reported == threads
    assert spawned <= threads - 1, f"{spawned} worker threads started for threads={threads}"


def test_pt2_export_does_not_need_torch_jit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """export_pt2 never calls torch.jit (deprecated, may be absent)."""
    from elmai.training.export import export_pt2

    def no_jit(*a, **k):
        raise AssertionError("torch.jit used on the .pt2 path")

    for name in ("script", "trace", "save", "load", "freeze"):
        monkeypatch.setattr(torch.jit, name, no_jit)

    class Tiny(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.where(x > 0, x * 2.0, -x)

    out = export_pt2(Tiny(), (torch.randn(4, 3),), tmp_path / "tiny.pt2")
    monkeypatch.undo()
    x = np.random.default_rng(3).standard_normal((9, 3)).astype(np.float32)
    np.testing.assert_array_equal(elmai.Model(out)(x), np.where(x > 0, x * 2.0, -x))


@pytest.mark.parametrize("threads", ["1", "2"])
def test_fortran_example_01_with_pt2(pt2_dir: Path, tmp_path: Path, threads: str) -> None:
    exe = compile_program(EX01 / "forward_mlp.F90", tmp_path / "forward_mlp")
    done = run_program(exe, str(pt2_dir / "cell_mlp.pt2"), str(tmp_path / "out.txt"), threads)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"with {threads} thread(s)" in done.stdout
    fortran = np.loadtxt(tmp_path / "out.txt")
    ex = load_script(EX01 / "make_model.py")
    np.testing.assert_allclose(fortran, mlp_eager(ex.example_input()), rtol=0, atol=1e-6)


def test_fortran_example_04_forward_pt2(pt2_dir: Path, tmp_path: Path) -> None:
    """Example 04, built with FPE traps on: the model raises 'invalid' inside (log of
    empty pools under torch.where) and the program still gets ELMAI_OK."""
    exe = compile_program(EX04 / "forward_pt2.F90", tmp_path / "forward_pt2",
                          extra_flags=("-ffpe-trap=invalid,zero,overflow",))  # fmt: skip
    done = run_program(exe, str(pt2_dir / "pool_model.pt2"), str(tmp_path / "out.txt"), "2")
    assert done.returncode == 0, done.stdout + done.stderr
    out = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert "forwarded 500 cells with 2 thread(s)" in done.stdout and "done" in out
    assert re.search(r"wrong_dtype 5 .*must be float64, not float32", out["wrong_dtype"]), out["wrong_dtype"]
    assert re.search(r"wrong_shape 4 .*\[500, 5\] but the model takes \[\*, 4\]", out["wrong_shape"])
    ex = load_script(EX04 / "make_model.py")
    forcing, pools = ex.example_inputs()
    with torch.no_grad():
        want = ex.make_module()(torch.from_numpy(forcing), torch.from_numpy(pools))
    got = np.loadtxt(tmp_path / "out.txt")  # per cell: pools_eq(3), flux
    np.testing.assert_allclose(got[:, :3], want["pools_eq"].numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(got[:, 3], want["flux"].numpy()[:, 0], rtol=1e-14, atol=1e-14)


CLI_WITHOUT_JIT = """
import sys, torch
def unavailable(*args, **kwargs):
    raise RuntimeError("torch.jit is unavailable here")
for name in ("script", "trace", "save", "load", "freeze"):
    setattr(torch.jit, name, unavailable)
from elmai.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_spinup_model_pt2_matches_torchscript(trained_small_model: Path, tmp_path: Path) -> None:
    """`elmai export --format pt2` of the spin-up transformer, with torch.jit unavailable:
    same sidecar, parity with eager (compiled float32: export.PARITY_TOLERANCE)."""
    import json

    best = trained_small_model.parent / "run" / "best.pt"
    out = tmp_path / "spinup.pt2"
    cli = [sys.executable, "-c", CLI_WITHOUT_JIT, "export", "--model", str(best), "--out", str(out)]
    cli += ["--format", "pt2"]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads(out.with_suffix(".json").read_text())
    ts_meta = json.loads(trained_small_model.with_suffix(".json").read_text())
    assert meta["model_format"] == "pt2" and meta["inputs"] == ts_meta["inputs"]
    assert meta["parity_max_rel_diff"] <= 1e-3  # compiled float32 (export.PARITY_TOLERANCE)
    from elmai.training.export import example_inputs

    x = [t.numpy() for t in example_inputs(64, seed=9)]
    a = elmai.Model(out)(*x)
    b = elmai.Model(trained_small_model)(*x)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-3, atol=1e-3)
        assert np.mean(np.abs(u - v) <= 1e-5 * np.maximum(np.abs(v), 1e-3)) > 0.999
    # `elmai spinup` runs the .pt2 unchanged: the same pools as with the TorchScript model
    import netCDF4

    from elmai.spinup import ai_spinup

    early = trained_small_model.parent / "case" / "elmai_testbed.elm.r.0005-01-01-00000.nc"
    res_pt2 = ai_spinup(early, out, tmp_path / "ai_pt2.nc")
    res_ts = ai_spinup(early, trained_small_model, tmp_path / "ai_ts.nc")
    assert res_pt2.checks_ok and res_ts.checks_ok
    with netCDF4.Dataset(tmp_path / "ai_pt2.nc") as a, netCDF4.Dataset(tmp_path / "ai_ts.nc") as b:
        for name in ("soil4c_vr", "soil3c_vr", "deadstemc"):
            np.testing.assert_allclose(a[name][:], b[name][:], rtol=1e-3, atol=1e-6)
