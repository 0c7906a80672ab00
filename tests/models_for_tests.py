"""Small TorchScript models built with real torch for the inference tests."""

from __future__ import annotations

from pathlib import Path

import torch


class MLP(torch.nn.Module):
    def __init__(self, n_in: int = 5, n_out: int = 3) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_in, 64),
            torch.nn.Tanh(),
            torch.nn.Linear(64, 64),
            torch.nn.Tanh(),
            torch.nn.Linear(64, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Pools(torch.nn.Module):
    """Two named inputs, a dict of outputs."""

    def forward(self, forcing: torch.Tensor, pools: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"soil": pools * forcing.mean(dim=1, keepdim=True), "total": pools.sum(dim=1)}


class Pair(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x + 1, x.sum(dim=0)


def save(module: torch.nn.Module, path: Path, dtype: torch.dtype = torch.float32) -> Path:
    torch.manual_seed(0)
    scripted = torch.jit.script(module.to(dtype).eval())
    scripted.save(str(path))
    return path
