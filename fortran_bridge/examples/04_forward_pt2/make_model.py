"""Example 04, step 1: export a two-input, dict-output float64 model with torch.export and
AOTInductor (a .pt2 package), without TorchScript.

    python make_model.py [OUT.pt2]

The model has the shape of the spin-up model's interface: per-cell forcing and pools in,
named outputs back. `pools_eq` takes log(pools) only where pools > 0 (torch.where), so
the computation raises floating-point "invalid" on empty pools while the result stays
finite: a host running with FPE traps on (gfortran -ffpe-trap) must survive it.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

NFORCING, NPOOLS, NCELLS = 4, 3, 500


class PoolModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mix = torch.nn.Linear(NFORCING, NPOOLS)

    def forward(self, forcing: torch.Tensor, pools: torch.Tensor) -> dict[str, torch.Tensor]:
        rate = torch.sigmoid(self.mix(forcing))  # [n, 3]
        growth = torch.where(pools > 0, torch.log(pools), torch.zeros_like(pools))
        flux = (pools * rate).sum(dim=1, keepdim=True)
        return {"pools_eq": pools * (1.0 + rate) + 0.01 * growth, "flux": flux}


def make_module() -> PoolModel:
    torch.manual_seed(20260104)
    return PoolModel().to(torch.float64).eval()


def example_inputs(ncells: int = NCELLS) -> tuple[np.ndarray, np.ndarray]:
    """forcing [ncells, 4], pools [ncells, 3] (float64), from formulas the Fortran program
    repeats: forcing(k, c) = cos(0.3 k + 0.01 c); pools(k, c) = mod(k*c, 5) (zeros included)."""
    c = np.arange(1, ncells + 1)[:, None]
    forcing = np.cos(0.3 * np.arange(1, NFORCING + 1)[None, :] + 0.01 * c)
    pools = ((np.arange(1, NPOOLS + 1)[None, :] * c) % 5).astype(np.float64)
    return forcing, pools


def main(out: str = "pool_model.pt2") -> None:
    from elmai.training.export import export_pt2

    forcing, pools = example_inputs(8)
    export_pt2(make_module(), (torch.from_numpy(forcing), torch.from_numpy(pools)), out)
    print(f"saved {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
