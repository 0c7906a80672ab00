"""Named model sizes. The parameter counts (for 37 variables, patch 10) are what
`FoundationViT.count()` reports; `vit115m` is ORBIT's smallest configuration
(embedding 1024, 16 heads) and is meant for a GPU."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from elmai.errors import InvalidArgumentError

__all__ = ["SIZES", "ModelConfig", "size_config"]


@dataclass(frozen=True)
class ModelConfig:
    dim: int
    depth: int
    heads: int
    patch: int = 10  # 2 deg maps (90 x 180) -> 9 x 18 patch tokens, what a CPU trains in minutes
    mlp_ratio: float = 4.0
    agg_heads: int = 4  # heads of the variable-aggregation cross-attention

    def as_dict(self) -> dict:
        return asdict(self)


SIZES: dict[str, ModelConfig] = {
    "tiny": ModelConfig(dim=32, depth=1, heads=2, agg_heads=2),  # tests only
    "vit1m": ModelConfig(dim=96, depth=4, heads=4),
    "vit5m": ModelConfig(dim=224, depth=6, heads=8),
    "vit20m": ModelConfig(dim=384, depth=10, heads=8),
    "vit115m": ModelConfig(dim=1024, depth=8, heads=16, agg_heads=16),
}


def size_config(name: str, patch: int | None = None) -> ModelConfig:
    if name not in SIZES:
        raise InvalidArgumentError(f"model size must be one of {', '.join(SIZES)}, not {name!r}")
    cfg = SIZES[name]
    return cfg if patch is None else replace(cfg, patch=patch)
