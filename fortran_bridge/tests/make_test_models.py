"""TorchScript models for the Fortran inference tests (run by tests/test_fortran_inference.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch


class TwoInputsDict(torch.nn.Module):
    """float64, two named inputs, dict output: the shape of the spin-up model's interface."""

    def forward(self, forcing: torch.Tensor, pools: torch.Tensor) -> dict[str, torch.Tensor]:
        scale = forcing.mean(dim=1, keepdim=True)
        return {"pools_eq": pools * 2.0 + scale, "flux": (pools * forcing[:, :1]).sum(dim=1, keepdim=True)}


class IndexWeighted(torch.nn.Module):
    """Multiplies each element by its flat index: any mix-up of dimensions shows."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.arange(x.numel(), dtype=x.dtype).reshape(x.shape)


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.jit.script(TwoInputsDict()).save(str(out / "two_inputs_dict.pt"))
    torch.jit.script(IndexWeighted()).save(str(out / "index_weighted.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
