"""Run exported models through the compiled core: the same code path ELM's Fortran uses.

model = elmai.Model("spinup.pt", threads=1)   # TorchScript; "spinup.pt2": torch.export/AOTInductor
y = model(x)                         # one output -> array
pools = model(forcing=f, static=s)   # inputs by name; several outputs -> tuple or dict
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from elmai import _runner
from elmai.errors import InvalidArgumentError


class Model:
    """A model loaded once by the C++ runner (libtorch), forwarded many times: TorchScript
    (.pt) or a torch.export/AOTInductor package (.pt2, `elmai export --format pt2`); the
    backend is chosen from the file (`format` says which).

    Inputs are float32/float64 arrays, used in place (no copy). Returns one array for a
    single output, a tuple for several, or a dict when the model returns a dict. A .pt2
    package is compiled for one dtype and fixed non-batch dimensions: other inputs get a
    DtypeError / ShapeError. One Model may be called from several threads (calls on it
    are serialised; separate Models run in parallel).
    """

    def __init__(self, path: str | os.PathLike[str], device: str = "cpu", threads: int = 0, warmup: int = 2):
        self.path = os.fspath(path)
        self._model = _runner.Model(self.path, device, threads, warmup)
        self._input_names = list(self._model.input_names)
        self._output_names: list[str] = []
        self._returns_dict = False

    @property
    def input_names(self) -> list[str]:
        return list(self._input_names)

    @property
    def output_names(self) -> list[str]:
        """Names of the outputs (dict keys, or output0, output1, ...); known after a call."""
        return list(self._model.output_names)

    @property
    def device(self) -> str:
        return self._model.device

    @property
    def format(self) -> str:
        """The model file format: "torchscript" or "pt2"."""
        return self._model.format

    def __call__(
        self, *args: Any, **kwargs: Any
    ) -> np.ndarray | tuple[np.ndarray, ...] | dict[str, np.ndarray]:
        names = self._input_names
        if kwargs:
            unknown = set(kwargs) - set(names)
            if unknown:
                raise InvalidArgumentError(
                    f"model '{self.path}' has no inputs {sorted(unknown)}; inputs: {names}"
                )
            merged = dict(zip(names, args, strict=False))
            merged.update(kwargs)
            missing = [n for n in names if n not in merged]
            if missing:
                raise InvalidArgumentError(f"model '{self.path}' needs inputs {missing}")
            args = tuple(merged[n] for n in names)
        outputs = self._model.forward(args)
        if not self._output_names:  # the first call tells how the model returns its results
            self._output_names = list(self._model.output_names)
            self._returns_dict = any(
                not (n.startswith("output") and n[6:].isdigit()) for n in self._output_names
            )
        if self._returns_dict:
            return dict(zip(self._output_names, outputs, strict=True))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def __repr__(self) -> str:
        return f"<elmai.Model {self.path!r} ({self.format}) on {self.device}; inputs {self.input_names}>"


def set_num_threads(n: int) -> None:
    """Intra-op threads of the inference runtime (process-wide)."""
    _runner.set_num_threads(n)


def get_num_threads() -> int:
    return _runner.get_num_threads()
