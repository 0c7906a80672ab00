"""Fortran inference through module elmai equals Python torch on the same TorchScript
model; every failure is a status and a message; no leaks over many cycles."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.compiled import compile_program, run_program
from tests.conftest import ROOT

EXAMPLE = ROOT / "fortran_bridge" / "examples" / "01_forward_mlp"
TESTS = ROOT / "fortran_bridge" / "tests"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    for script, args in ((EXAMPLE / "make_model.py", [str(out / "cell_mlp.pt")]),
                         (TESTS / "make_test_models.py", [str(out)])):  # fmt: skip
        done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return out


def load_example_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_model", EXAMPLE / "make_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("threads", ["1", "2"])
def test_example_01_matches_python_torch(models: Path, tmp_path: Path, threads: str) -> None:
    exe = compile_program(EXAMPLE / "forward_mlp.F90", tmp_path / "forward_mlp")
    done = run_program(exe, str(models / "cell_mlp.pt"), str(tmp_path / "out.txt"), threads)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"with {threads} thread(s)" in done.stdout
    fortran = np.loadtxt(tmp_path / "out.txt")  # (ncells, noutputs)
    example = load_example_module()
    with torch.no_grad():
        ref = torch.jit.load(str(models / "cell_mlp.pt"))(torch.from_numpy(example.example_input())).numpy()
    assert fortran.shape == ref.shape == (1000, 3)
    # the text file holds 9 significant digits; the arrays agree to float32 round-off
    assert np.max(np.abs(fortran - ref)) <= 1e-6


@pytest.fixture(scope="module")
def model_api_output(models: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    exe = compile_program(TESTS / "model_api.F90", tmp_path_factory.mktemp("api") / "model_api")
    done = run_program(exe, str(models))
    assert done.returncode == 0, done.stdout + done.stderr
    lines: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        key, *rest = line.split()
        if key == "error":
            lines[f"error {rest[0]}"] = rest[1:]
        else:
            lines[key] = rest
    return lines


def test_two_inputs_dict_outputs_real64(models: Path, model_api_output: dict[str, list[str]]) -> None:
    n = 6
    i = np.arange(1, 5)[:, None]
    j = np.arange(1, n + 1)[None, :]
    forcing_f = 0.1 * i + 0.01 * j  # Fortran (4, n)
    pools_f = 100.0 * np.arange(1, 4)[:, None] + j  # Fortran (3, n)
    model = torch.jit.load(str(models / "two_inputs_dict.pt"))
    out = model(torch.from_numpy(forcing_f.T.copy()), torch.from_numpy(pools_f.T.copy()))  # [n, 4], [n, 3]
    # Fortran prints arrays in column-major order = the C order of the model's [n, k] result
    got_pools = np.array(model_api_output["pools_eq"], float)
    got_flux = np.array(model_api_output["flux"], float)
    np.testing.assert_allclose(got_pools, out["pools_eq"].numpy().ravel(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_flux, out["flux"].numpy().ravel(), rtol=1e-15, atol=1e-12)


def test_layouts_map_fortran_dims_to_model_dims(model_api_output: dict[str, list[str]]) -> None:
    i, j, k = np.meshgrid(np.arange(1, 3), np.arange(1, 4), np.arange(1, 5), indexing="ij")
    z = (i + 10 * j + 100 * k).astype(np.float64)  # z[i-1, j-1, k-1] = Fortran z(i, j, k)
    # identity layout: the model sees [2, 3, 4] indexed like Fortran
    expect_identity = z * np.arange(z.size).reshape(z.shape)
    got = np.array(model_api_output["identity_layout"], float).reshape(z.shape, order="F")
    np.testing.assert_array_equal(got, expect_identity)
    # default layout: the model sees [4, 3, 2] = z transposed
    zt = z.transpose(2, 1, 0)
    expect_default = (zt * np.arange(zt.size).reshape(zt.shape)).transpose(2, 1, 0)
    got = np.array(model_api_output["default_layout"], float).reshape(z.shape, order="F")
    np.testing.assert_array_equal(got, expect_default)


def test_threads_and_namelist(model_api_output: dict[str, list[str]]) -> None:
    assert model_api_output["threads"] == ["2"]
    assert model_api_output["inparm"] == ["0", "/models/spinup.pt", "cpu", "4"]
    assert model_api_output["inparm_missing_file"] == ["1"]


EXPECTED_ERRORS = {
    "missing_file": (1, "missing.pt"),
    "not_a_model": (2, "TorchScript"),
    "no_cuda": (7, "CUDA"),
    "bad_device": (7, "tpu"),
    "too_many_inputs": (7, "takes 1 inputs (features) but 2"),
    "no_inputs": (7, "but 0 were given"),
    "too_many_outputs": (7, "returns 1 outputs but 2"),
    "wrong_output_shape": (4, "[6, 3] but the output array has [6, 4]"),
    "wrong_input_dtype": (6, "dtype"),
    "wrong_input_shape": (6, "cannot be multiplied"),
    "freed_tensor": (7, "null"),
    "layout_not_permutation": (7, "not a permutation"),
    "layout_wrong_length": (7, "layout has 2 entries"),
    "zero_threads": (7, ">= 1"),
    "model_not_loaded": (7, "invalid argument"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_error_paths_return_status_and_message(model_api_output: dict[str, list[str]], name: str) -> None:
    code, fragment = EXPECTED_ERRORS[name]
    status, *message = model_api_output[f"error {name}"]
    assert int(status) == code, " ".join(message)
    assert fragment in " ".join(message)


def test_models_still_work_after_errors(models: Path, model_api_output: dict[str, list[str]]) -> None:
    with torch.no_grad():
        ref = torch.jit.load(str(models / "cell_mlp.pt"))(torch.full((1, 5), 0.5)).numpy()[0]
    np.testing.assert_allclose(np.array(model_api_output["mlp_after_errors"], float), ref, atol=1e-6)
    assert "done" in model_api_output


def test_no_memory_growth_over_1000_cycles(models: Path, tmp_path: Path) -> None:
    exe = compile_program(TESTS / "model_cycles.F90", tmp_path / "model_cycles")
    done = run_program(exe, str(models / "cell_mlp.pt"), "1000")
    assert done.returncode == 0, done.stdout + done.stderr
    out = dict(line.split() for line in done.stdout.splitlines())
    growth_kb = int(out["rss_end_kb"]) - int(out["rss_early_kb"])
    # a leaked model is ~20 kB of weights plus the module graph: 900 of them would be >> 4 MB
    assert growth_kb < 4096, f"resident memory grew by {growth_kb} kB over 900 cycles"


@pytest.mark.slow
def test_valgrind_finds_no_definite_leak(models: Path, tmp_path: Path) -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    exe = compile_program(TESTS / "model_cycles.F90", tmp_path / "model_cycles")
    done = subprocess.run(
        ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=9",
         str(exe), str(models / "cell_mlp.pt"), "1000"],
        capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert "definitely lost: 0 bytes" in done.stderr or "no leaks are possible" in done.stderr


def test_handles_released_at_end_of_scope(models: Path, tmp_path: Path) -> None:
    """Final procedures: handles local to a subroutine (copied, re-wrapped, never freed
    explicitly) are released when it returns; copies keep an object alive."""
    from elmai.io.sample_restart import make_sample_restart

    restart = tmp_path / "r.nc"
    make_sample_restart(restart, ngridcells=24)
    exe = compile_program(TESTS / "handle_scope.F90", tmp_path / "handle_scope")
    done = run_program(exe, str(models / "cell_mlp.pt"), str(restart), "1000")
    assert done.returncode == 0, done.stdout + done.stderr
    out = dict(line.split(maxsplit=1) for line in done.stdout.splitlines())
    assert out["live_after"] == "0 0 0", "handles leaked at the end of their scope"
    assert out["copies"] == "0", "a copied handle was released with its original"
    assert out["live_end"] == "0 0 0"
    growth_kb = int(out["rss_end_kb"]) - int(out["rss_early_kb"])
    # a leak grows with the scopes run; a one-time allocation after the early sample does
    # not (about 4.1 MB here whether 900 or 5,400 scopes follow it): compare two lengths
    longer = run_program(exe, str(models / "cell_mlp.pt"), str(restart), "4000")
    more = dict(line.split(maxsplit=1) for line in longer.stdout.splitlines())
    longer_kb = int(more["rss_end_kb"]) - int(more["rss_early_kb"])
    assert growth_kb < 16384, f"resident memory grew by {growth_kb} kB over 900 scopes"
    assert longer_kb - growth_kb < 1024, (
        f"resident memory grew by {longer_kb} kB over 3,600 scopes against {growth_kb} kB over 900: a leak"
    )
