"""elmai.Model (the C++ runner) gives what Python torch gives, with clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import elmai
from elmai import errors
from tests.models_for_tests import MLP, Pair, Pools, save


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("models")
    save(MLP(), d / "mlp32.pt")
    save(MLP(), d / "mlp64.pt", torch.float64)
    save(Pools(), d / "pools.pt", torch.float64)
    save(Pair(), d / "pair.pt")
    return d


def torch_ref(path: Path, *xs: np.ndarray):
    with torch.no_grad():
        return torch.jit.load(str(path))(*[torch.from_numpy(np.ascontiguousarray(x)) for x in xs])


@pytest.mark.parametrize("batch", [1, 7, 1000])
@pytest.mark.parametrize("name, dtype", [("mlp32.pt", np.float32), ("mlp64.pt", np.float64)])
def test_matches_python_torch(model_dir: Path, batch: int, name: str, dtype: type) -> None:
    x = np.random.default_rng(batch).standard_normal((batch, 5)).astype(dtype)
    model = elmai.Model(model_dir / name, threads=1)
    y = model(x)
    assert y.dtype == dtype and y.shape == (batch, 3)
    np.testing.assert_allclose(y, torch_ref(model_dir / name, x).numpy(), rtol=0, atol=1e-6)
    assert model.input_names == ["x"] and model.output_names == ["output0"]


def test_strided_inputs_are_used_in_place(model_dir: Path) -> None:
    base = np.random.default_rng(1).standard_normal((5, 40)).astype(np.float32)
    x = base.T  # a transposed view: not C-contiguous
    assert not x.flags.c_contiguous
    model = elmai.Model(model_dir / "mlp32.pt")
    np.testing.assert_allclose(model(x), torch_ref(model_dir / "mlp32.pt", x).numpy(), atol=1e-6)
    every_other = np.random.default_rng(2).standard_normal((20, 5)).astype(np.float32)[::2]
    np.testing.assert_allclose(
        model(every_other), torch_ref(model_dir / "mlp32.pt", every_other).numpy(), atol=1e-6
    )


def test_named_inputs_and_dict_outputs(model_dir: Path) -> None:
    rng = np.random.default_rng(3)
    forcing, pools = rng.random((8, 4)), rng.random((8, 6))
    model = elmai.Model(model_dir / "pools.pt")
    assert model.input_names == ["forcing", "pools"]
    out = model(pools=pools, forcing=forcing)
    ref = torch_ref(model_dir / "pools.pt", forcing, pools)
    assert list(out) == ["soil", "total"]
    np.testing.assert_allclose(out["soil"], ref["soil"].numpy(), rtol=1e-15)
    np.testing.assert_allclose(out["total"], ref["total"].numpy(), rtol=1e-15)
    np.testing.assert_allclose(model(forcing, pools)["total"], ref["total"].numpy(), rtol=1e-15)


def test_tuple_outputs(model_dir: Path) -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    a, b = elmai.Model(model_dir / "pair.pt")(x)
    np.testing.assert_array_equal(a, x + 1)
    np.testing.assert_array_equal(b, x.sum(axis=0))


def test_errors_name_the_model_and_the_problem(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(errors.ElmaiFileError, match="missing.pt"):
        elmai.Model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(errors.FileFormatError, match="junk.pt.*TorchScript"):
        elmai.Model(junk)
    with pytest.raises(errors.InvalidArgumentError, match="CUDA"):
        elmai.Model(model_dir / "mlp32.pt", device="cuda")
    model = elmai.Model(model_dir / "mlp32.pt")
    with pytest.raises(errors.InvalidValueError, match="mlp32.pt.*cannot be multiplied"):
        model(np.zeros((2, 4), np.float32))
    with pytest.raises(errors.InvalidValueError, match="dtype"):
        model(np.zeros((2, 5), np.float64))
    with pytest.raises(errors.DtypeError, match="int64"):
        model(np.zeros((2, 5), np.int64))
    with pytest.raises(errors.InvalidArgumentError, match=r"takes 1 inputs \(x\) but 2"):
        model(np.zeros((2, 5), np.float32), np.zeros((2, 5), np.float32))
    with pytest.raises(errors.InvalidArgumentError, match="no inputs"):
        model(y=np.zeros((2, 5), np.float32))
    # still usable after every error
    assert model(np.zeros((2, 5), np.float32)).shape == (2, 3)


def test_thread_count_is_settable() -> None:
    before = elmai.inference.get_num_threads()
    try:
        elmai.inference.set_num_threads(1)
        assert elmai.inference.get_num_threads() == 1
        with pytest.raises(errors.InvalidArgumentError, match=">= 1"):
            elmai.inference.set_num_threads(0)
    finally:
        elmai.inference.set_num_threads(before)
