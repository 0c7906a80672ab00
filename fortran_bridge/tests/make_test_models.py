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


class FpeProne(torch.nn.Module):
    """Raises every floating-point exception inside (log of negatives: invalid; exp of
    large values: overflow; 1/0: division by zero) yet returns finite values through
    torch.where, as real models do. A host with FPE traps on must survive it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros_like(x)
        safe_log = torch.where(x > 0, torch.log(x), zero)
        big = torch.exp(x * 1000.0)
        capped = torch.where(big < 1.0e30, big, zero + 1.0e30)
        inv = torch.where(x != 0, 1.0 / x, zero)
        return safe_log + 1.0e-30 * capped + inv


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.jit.script(TwoInputsDict()).save(str(out / "two_inputs_dict.pt"))
    torch.jit.script(IndexWeighted()).save(str(out / "index_weighted.pt"))
    torch.jit.script(FpeProne()).save(str(out / "fpe_prone.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
