"""Example 01, step 1: build a small MLP in PyTorch and save it as TorchScript (.pt) or
as a torch.export / AOTInductor package (.pt2; compiles for this machine, ~1 min).

    python make_model.py [OUT.pt | OUT.pt2]

The network maps 5 features per grid cell to 3 outputs (a 5-64-64-3 MLP, the size used
in the inference benchmark). The input of the Fortran program is defined by a formula
(`example_input`) so Python and Fortran build the same array without sharing a file.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

NFEATURES, NOUTPUTS, NCELLS = 5, 3, 1000


class CellMLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(NFEATURES, 64),
            torch.nn.Tanh(),
            torch.nn.Linear(64, 64),
            torch.nn.Tanh(),
            torch.nn.Linear(64, NOUTPUTS),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


def example_input(ncells: int = NCELLS) -> np.ndarray:
    """[ncells, nfeatures] float32: x(f, c) = sin(0.37 f + 0.011 c) in Fortran's (f, c) indexing (1-based)."""
    f = np.arange(1, NFEATURES + 1)[None, :]
    c = np.arange(1, ncells + 1)[:, None]
    return np.sin(0.37 * f + 0.011 * c).astype(np.float32)


def make_module() -> CellMLP:
    torch.manual_seed(20260101)
    return CellMLP().eval()


def main(out: str = "cell_mlp.pt") -> None:
    if out.endswith(".pt2"):  # torch.export + AOTInductor: no torch.jit on this path
        from elmai.training.export import export_pt2

        export_pt2(make_module(), (torch.from_numpy(example_input(8)),), out)
    else:
        torch.jit.script(make_module()).save(out)
    print(f"saved {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
