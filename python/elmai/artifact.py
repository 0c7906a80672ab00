"""The exported spin-up model as an artifact with one owner: the model file (TorchScript
.pt or AOTInductor .pt2) and its JSON sidecar, read once into a typed record.

`elmai export` (elmai.training.export) writes the sidecar, `elmai spinup` reads it here,
the shipped pre-trained package (elmai.pretrained) points at one. The sidecar of
`model.pt` and of `model.pt2` is the same `model.json`: its "artifacts" block names each
exported file of that model with its own parity figure, so exporting both formats of one
checkpoint no longer lets the second overwrite the first's record.

This module needs no torch: the C++ runner (elmai.inference.Model, libtorch inside the
compiled core) serves the forward pass.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from elmai.errors import InputNotFoundError, ModelFileError, ShapeError

__all__ = ["FORMAT", "TensorSpec", "Sidecar", "ModelArtifact", "sidecar_path", "load_sidecar", "load_model"]

FORMAT = "elmai-spinup-model/1"
SUFFIXES = {".pt": "torchscript", ".pt2": "pt2"}


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output: its name, dimensions and shape per call (-1: any)."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    units: str = ""
    dtype: str = "float32"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TensorSpec:
        return cls(str(d["name"]), tuple(d.get("dims", ())), tuple(int(x) for x in d["shape"]),
                   str(d.get("units", "")), str(d.get("dtype", "float32")))  # fmt: skip


@dataclass(frozen=True)
class Sidecar(Mapping[str, Any]):
    """The sidecar as a typed record (format, inputs in call order with shapes, outputs,
    trained input ranges, the card fields), read once. It also reads as the JSON mapping
    it came from (`sidecar["normalisation"]`) for the fields not typed here."""

    path: Path
    format: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    input_order: tuple[str, ...]
    input_ranges: dict[str, Any] | None
    artifacts: dict[str, dict[str, Any]]
    raw: dict[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def spec(self, name: str) -> TensorSpec:
        return next(s for s in self.inputs if s.name == name)

    def check_inputs(self, inputs: Mapping[str, np.ndarray], model_file: str | Path) -> None:
        """Every input present with the per-cell shape the model wants (one-line error)."""
        for spec in self.inputs:
            if spec.name not in inputs:
                raise ShapeError(f"model '{model_file}' wants input '{spec.name}', which was not given")
            got = list(np.shape(inputs[spec.name])[1:])
            if got != list(spec.shape[1:]):
                raise ShapeError(
                    f"model '{model_file}' wants {spec.name} per cell as {list(spec.shape[1:])}, got {got}"
                )


def sidecar_path(model_file: str | os.PathLike[str]) -> Path:
    """The sidecar of a model file: `model.pt` and `model.pt2` share `model.json`."""
    return Path(model_file).with_suffix(".json")


def load_sidecar(model_file: str | os.PathLike[str]) -> Sidecar:
    path = sidecar_path(model_file)
    if not path.exists():
        raise InputNotFoundError(f"no sidecar '{path}' beside the model (written by `elmai export`)")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ModelFileError(f"'{path}' is not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ModelFileError(f"'{path}' is not an elmai spin-up model sidecar (format {got!r})")
    try:
        inputs = tuple(TensorSpec.from_dict(d) for d in meta["inputs"])
        outputs = tuple(TensorSpec.from_dict(d) for d in meta.get("outputs", []))
        order = tuple(meta.get("input_order") or [s.name for s in inputs])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"'{path}': a malformed input or output description ({e})") from None
    artifacts = dict(meta.get("artifacts") or {})
    if not artifacts and "model_format" in meta:  # a sidecar written before the artifacts block
        artifacts[meta["model_format"]] = {"parity_max_rel_diff": meta.get("parity_max_rel_diff")}
    return Sidecar(path, FORMAT, inputs, outputs, order, meta.get("input_ranges") or None, artifacts, meta)


@dataclass
class ModelArtifact:
    """A model file and its sidecar; `runner` loads the C++ runner (once per artifact)."""

    path: Path
    sidecar: Sidecar
    _runner: Any = field(default=None, repr=False)

    def runner(self, threads: int = 0):
        from elmai.inference import Model

        if self._runner is None:
            self._runner = Model(self.path, threads=threads)
        return self._runner

    def forward(self, inputs: Mapping[str, np.ndarray], threads: int = 0) -> tuple[np.ndarray, ...]:
        """The model's outputs for `inputs` (by name), in the sidecar's order, as float32."""
        self.sidecar.check_inputs(inputs, self.path)
        x = [np.ascontiguousarray(inputs[name], dtype=np.float32) for name in self.sidecar.input_order]
        return tuple(self.runner(threads)(*x))


def load_model(model_file: str | os.PathLike[str]) -> ModelArtifact:
    """The artifact of a model file: the file must exist and its sidecar be elmai's."""
    path = Path(model_file)
    if not path.exists():
        raise InputNotFoundError(f"model '{path}' does not exist")
    if path.suffix not in SUFFIXES:
        raise ModelFileError(f"model '{path}': expected a .pt (TorchScript) or .pt2 (AOTInductor) file")
    return ModelArtifact(path, load_sidecar(path))
