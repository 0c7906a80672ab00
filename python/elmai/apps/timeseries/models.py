"""Sequence -> value regressors: an LSTM (NeuralHydrology's many-to-one form: the
hidden state after the last step) and a small transformer encoder (sinusoidal positions,
the last step's token)."""

from __future__ import annotations

import math

import torch
from torch import nn

from elmai.errors import ConfigError


class LSTMRegressor(nn.Module):
    def __init__(self, n_in: int, hidden: int = 64, layers: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_in, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)
        with torch.no_grad():  # forget-gate bias 3: remember by default (as NeuralHydrology)
            self.lstm.bias_hh_l0[hidden : 2 * hidden] = 3.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.drop(out[:, -1]))[:, 0]


class TransformerRegressor(nn.Module):
    def __init__(
        self,
        n_in: int,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.1,
        max_len: int = 1000,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(n_in, d_model)
        pos = torch.arange(max_len)[:, None]
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer("pe", pe)
        layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # positions counted back from the last step, so any window length shares them
        h = self.embed(x) + self.pe[: x.shape[1]].flip(0)
        return self.head(self.encoder(h)[:, -1])[:, 0]


def build(kind: str, n_in: int, **kw: int | float) -> nn.Module:
    if kind == "lstm":
        return LSTMRegressor(n_in, **kw)
    if kind == "transformer":
        return TransformerRegressor(n_in, **kw)
    raise ConfigError(f"unknown model type {kind!r}; choose lstm or transformer")
