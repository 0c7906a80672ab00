"""The ViT (ClimaX/ORBIT form). Every variable's map is cut into p x p patches and each
patch embedded by that variable's own linear map, plus a learned variable embedding; a
cross-attention with one learned query per patch then aggregates over whatever variables
are present, so the model takes any subset of its variables. Learned position embeddings
and a lead-time embedding are added, pre-norm transformer blocks follow, and a linear
head gives every variable's patch at the target time. Present variables are predicted as
a residual on their input (persistence is the starting point, the model learns change)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from elmai.apps.foundation.sizes import ModelConfig
from elmai.errors import ShapeError, VariableNotFoundError

__all__ = ["Block", "FoundationViT", "patchify", "unpatchify"]


def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, V, H, W) -> (B, V, H/p * W/p, p*p)."""
    b, v, h, w = x.shape
    x = x.reshape(b, v, h // p, p, w // p, p).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(b, v, (h // p) * (w // p), p * p)


def unpatchify(x: torch.Tensor, p: int, h: int, w: int) -> torch.Tensor:
    """(B, V, N, p*p) -> (B, V, H, W)."""
    b, v = x.shape[:2]
    x = x.reshape(b, v, h // p, w // p, p, p).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(b, v, h, w)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:  # heads follow the local width (TP shards it)
            return t.reshape(b, n, -1, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, -1))

    @property
    def head_dim(self) -> int:
        return self.proj.out_features // self.heads


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class FoundationViT(nn.Module):
    def __init__(self, cfg: ModelConfig, variables: list[str], grid: tuple[int, int]) -> None:
        super().__init__()
        h, w = grid
        p = cfg.patch
        if h % p or w % p:
            raise ShapeError(f"grid {h}x{w} does not divide into patches of {p}x{p}")
        self.cfg, self.variables, self.grid = cfg, list(variables), (h, w)
        nv, d, npatch = len(variables), cfg.dim, (h // p) * (w // p)
        self.patch_weight = nn.Parameter(torch.randn(nv, p * p, d) * (p * p) ** -0.5)
        self.patch_bias = nn.Parameter(torch.zeros(nv, d))
        self.var_embed = nn.Parameter(torch.randn(nv, d) * 0.02)
        self.agg_query = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.agg = nn.MultiheadAttention(d, cfg.agg_heads, batch_first=True)
        self.pos_embed = nn.Parameter(torch.randn(1, npatch, d) * 0.02)
        self.lead_embed = nn.Linear(1, d)
        self.blocks = nn.ModuleList(Block(d, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, nv * p * p)
        nn.init.zeros_(self.head.weight)  # start from persistence
        nn.init.zeros_(self.head.bias)

    def count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def index(self, names: list[str], where: str = "input") -> list[int]:
        out = []
        for n in names:
            if n not in self.variables:
                raise VariableNotFoundError(
                    f"{where} variable '{n}' is not one the model was pretrained on "
                    f"({len(self.variables)} variables: {', '.join(self.variables)})"
                )
            out.append(self.variables.index(n))
        return out

    def encode(self, x: torch.Tensor, names: list[str], lead: torch.Tensor) -> torch.Tensor:
        """(B, V_in, H, W) maps of `names` and lead times (B,) in months -> (B, N, D) tokens."""
        b, v, h, w = x.shape
        if (h, w) != self.grid:
            raise ShapeError(f"input grid {h}x{w} is not the model's {self.grid[0]}x{self.grid[1]}")
        if v != len(names):
            raise ShapeError(f"input has {v} channels but {len(names)} variable names")
        idx = torch.tensor(self.index(names), dtype=torch.long, device=x.device)
        patches = patchify(x, self.cfg.patch)  # (B, V, N, pp)
        tok = torch.einsum("bvnq,vqd->bvnd", patches, self.patch_weight[idx])
        tok = tok + (self.patch_bias[idx] + self.var_embed[idx])[None, :, None, :]
        n, d = tok.shape[2], tok.shape[3]
        kv = tok.permute(0, 2, 1, 3).reshape(b * n, v, d)
        agg, _ = self.agg(self.agg_query.expand(b * n, 1, d), kv, kv, need_weights=False)
        z = agg.reshape(b, n, d) + self.pos_embed
        z = z + self.lead_embed(lead.to(z.dtype).reshape(b, 1, 1))
        for blk in self.blocks:
            z = blk(z)
        return self.norm(z)

    def forward(
        self, x: torch.Tensor, names: list[str], lead: torch.Tensor, out_names: list[str] | None = None
    ) -> torch.Tensor:
        """Maps of `out_names` (default: every variable) at lead months after the input."""
        z = self.encode(x, names, lead)
        b, n, _ = z.shape
        h, w = self.grid
        p = self.cfg.patch
        out = self.head(z).reshape(b, n, len(self.variables), p * p).permute(0, 2, 1, 3)
        y = unpatchify(out, p, h, w)
        present = self.index(names)
        y = y.index_add(1, torch.tensor(present, device=x.device), x)  # residual on present inputs
        if out_names is None:
            return y
        return y[:, self.index(out_names, "output")]
