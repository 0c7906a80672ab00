"""Simulation-mode models (no observed streamflow as input): daily forcing plus static
attributes in, streamflow out at every step (the loss uses the last days of each window)."""

from __future__ import annotations

import math

import torch
from torch import nn


def _with_static(x: torch.Tensor, static: torch.Tensor | None) -> torch.Tensor:
    if static is None or static.shape[-1] == 0:
        return x
    return torch.cat([x, static[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)


class LSTMSim(nn.Module):
    """NeuralHydrology's cudalstm: static attributes repeated at every step."""

    def __init__(self, n_dynamic: int, n_static: int, hidden: int = 64, dropout: float = 0.2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_dynamic + n_static, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)
        with torch.no_grad():  # forget-gate bias 3: remembers snow and storage from the start
            self.lstm.bias_hh_l0[hidden : 2 * hidden].fill_(3.0)

    def forward(self, x: torch.Tensor, static: torch.Tensor | None = None) -> torch.Tensor:
        h, _ = self.lstm(_with_static(x, static))
        return self.head(self.drop(h)).squeeze(-1)


def positional(length: int, dim: int) -> torch.Tensor:
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return pe


class CausalBlock(nn.Module):
    """Pre-norm self-attention block on scaled_dot_product_attention(is_causal=True): the
    fused causal kernel, about 10x faster on CPU than nn.TransformerEncoderLayer with a mask."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        n, t, d = h.shape
        q, k, v = self.qkv(self.norm1(h)).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        h = h + self.drop(self.proj(a.transpose(1, 2).reshape(n, t, d)))
        return h + self.drop(self.ff(self.norm2(h)))


class TransformerSim(nn.Module):
    """Encoder-only transformer, causal over the window (as NeuralHydrology's transformer):
    day t sees the forcing of days <= t only."""

    def __init__(
        self,
        n_dynamic: int,
        n_static: int,
        hidden: int = 32,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(n_dynamic + n_static, hidden)
        self.blocks = nn.ModuleList(CausalBlock(hidden, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, static: torch.Tensor | None = None) -> torch.Tensor:
        h = self.embed(_with_static(x, static)) + positional(x.shape[1], self.embed.out_features).to(x)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h)).squeeze(-1)


def build(
    kind: str, n_dynamic: int, n_static: int, hidden: int, dropout: float, last: int = 1, span: int = 60
) -> nn.Module:
    """The simulation model `kind`; the iLSTM predicts the `last` days of each window."""
    if kind == "lstm":
        return LSTMSim(n_dynamic, n_static, hidden, dropout)
    if kind == "transformer":
        return TransformerSim(n_dynamic, n_static, hidden, dropout=dropout)
    if kind == "ilstm":
        from elmai.apps.hydrology.ilstm import ILSTM

        return ILSTM(n_dynamic, n_static, hidden, span, last)
    raise ValueError(f"unknown simulation model '{kind}'")
