"""Training-state memory per rank by size and engine, computed (not measured): fp32
parameters, gradients and AdamW's two moments are 16 bytes a parameter; DDP keeps all of
it on every rank, FSDP2 and ZeRO-3 a 1/N share, tensor parallel a 1/N share of the split
attention and MLP weights and all of the rest. Activations are excluded (they depend on
batch and grid), so this says which engines make a size's state fit a per-rank budget."""

from __future__ import annotations

__all__ = ["BYTES_PER_PARAMETER", "state_memory"]

BYTES_PER_PARAMETER = 16  # fp32 weight + gradient + AdamW exp_avg + exp_avg_sq


def _split_parameters(model) -> int:  # noqa: ANN001 - a FoundationViT
    """Parameters tensor parallel splits: q, k, v, fc1 (weight and bias), proj and fc2 weights."""
    n = 0
    for b in model.blocks:
        for lin in (b.attn.q, b.attn.k, b.attn.v, b.fc1):
            n += lin.weight.numel() + lin.bias.numel()
        n += b.attn.proj.weight.numel() + b.fc2.weight.numel()
    return n


def state_memory(
    sizes: list[str], variables: list[str], grid: tuple[int, int], ranks: int = 2, patch: int | None = None
) -> dict:
    """{size: {"parameters", "ddp_mb", "fsdp_mb", "zero3_mb", "tp_mb"}} per rank."""
    import torch

    from elmai.apps.foundation.model import FoundationViT
    from elmai.apps.foundation.sizes import size_config

    out = {}
    for size in sizes:
        with torch.device("meta"):  # shapes only: no memory for the 115M model
            m = FoundationViT(size_config(size, patch), variables, grid)
        total, split = m.count(), _split_parameters(m)
        mb = BYTES_PER_PARAMETER / 2**20
        out[size] = {
            "parameters": total,
            "ddp_mb": total * mb,
            "fsdp_mb": total * mb / ranks,
            "zero3_mb": total * mb / ranks,
            "tp_mb": (total - split + split / ranks) * mb,
            "ranks": ranks,
        }
    return out
