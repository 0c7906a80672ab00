"""Ways to run one model on several ranks (`mpirun -n N`, gloo on CPU, nccl on GPU):
"single" (one process), "ddp" (DistributedDataParallel: each rank a share of the batch),
"fsdp" (FSDP2 `fully_shard`: parameters, gradients and optimiser state sharded per block,
each rank a share of the batch), "tp" (tensor parallel with DTensor: attention q/k/v and
fc1 split by columns, proj and fc2 by rows, every rank the whole batch), "deepspeed"
(DeepSpeed ZeRO stage 3: parameters, gradients and optimiser state partitioned, each rank
a share of the batch). Every engine's full model state is gathered to a plain state dict
for checkpoints (`full_state`), so a run resumes under any engine; the optimiser state
travels between single/ddp/fsdp/tp, while DeepSpeed's partitioned optimiser state does
not (a run resumed into or out of deepspeed restarts AdamW's moments)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from elmai.errors import InvalidArgumentError
from elmai.ml.distributed import Context

__all__ = [
    "DATA_PARALLEL",
    "ENGINES",
    "batch_share",
    "deepspeed_engine",
    "full_state",
    "load_full_state",
    "wrap",
]

ENGINES = ("single", "ddp", "fsdp", "tp", "deepspeed")
DATA_PARALLEL = ("ddp", "fsdp", "deepspeed")  # engines whose ranks split the batch


def wrap(model: nn.Module, engine: str, ctx: Context) -> nn.Module:
    if engine not in ENGINES:
        raise InvalidArgumentError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "single" or not ctx.distributed:
        return model
    if engine == "deepspeed":
        raise InvalidArgumentError("deepspeed wraps model and optimiser together: use deepspeed_engine")
    if engine == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)
    from torch.distributed.device_mesh import init_device_mesh

    mesh = init_device_mesh(ctx.device.split(":")[0], (ctx.world,))
    if engine == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for block in model.blocks:
            fully_shard(block, mesh=mesh)
        fully_shard(model, mesh=mesh)
        return model
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    for block in model.blocks:
        if block.attn.heads % ctx.world:
            raise InvalidArgumentError(f"tp: {block.attn.heads} heads do not split over {ctx.world} ranks")
        parallelize_module(
            block,
            mesh,
            {
                "attn.q": ColwiseParallel(),
                "attn.k": ColwiseParallel(),
                "attn.v": ColwiseParallel(),
                "attn.proj": RowwiseParallel(),
                "fc1": ColwiseParallel(),
                "fc2": RowwiseParallel(),
            },
        )
    return model


def batch_share(engine: str, ctx: Context) -> tuple[int, int]:
    """(rank, world) of the batch split: data-parallel engines split it, TP does not."""
    if engine in DATA_PARALLEL and ctx.distributed:
        return ctx.rank, ctx.world
    return 0, 1


def _plain(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)


def deepspeed_engine(model: nn.Module, lr: float, weight_decay: float, batch: int, ctx: Context):  # noqa: ANN201
    """(DeepSpeed engine, its optimiser) with ZeRO stage 3 over the ranks, AdamW as torch's."""
    import deepspeed

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    config = {
        "train_batch_size": batch,
        "train_micro_batch_size_per_gpu": batch // ctx.world,
        "gradient_accumulation_steps": 1,
        "zero_optimization": {"stage": 3},
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    engine, optimizer, _, _ = deepspeed.initialize(model=model, optimizer=opt, config=config)
    return engine, optimizer


def _options(ctx: Context, full: bool):  # noqa: ANN202 - torch's StateDictOptions
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    if not ctx.distributed:
        return StateDictOptions()
    return StateDictOptions(full_state_dict=True, cpu_offload=full)


def full_state(model: nn.Module, optimizer: torch.optim.Optimizer, ctx: Context) -> tuple[dict, dict]:
    """Full (unsharded) model and optimiser state dicts keyed by parameter name, on CPU,
    the same for every engine (collective under fsdp/tp)."""
    if type(model).__name__ == "DeepSpeedEngine":  # ZeRO-3: gather the partitions, no optimiser state
        from deepspeed.runtime.zero.partition_parameters import GatheredParameters

        with GatheredParameters(list(model.module.parameters()), modifier_rank=None):
            return {k: v.detach().cpu().clone() for k, v in model.module.state_dict().items()}, {}
    from torch.distributed.checkpoint.state_dict import get_state_dict

    model_state, optim_state = get_state_dict(model, optimizer, options=_options(ctx, True))
    return {k: v.detach().cpu().clone() for k, v in model_state.items()}, optim_state


def load_full_state(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ctx: Context,
    model_state: dict,
    optim_state: dict[str, Any] | None,
) -> None:
    from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_state_dict

    if optim_state:
        set_state_dict(
            model,
            optimizer,
            model_state_dict=model_state,
            optim_state_dict=optim_state,
            options=_options(ctx, False),
        )
    else:
        set_model_state_dict(model, model_state, options=_options(ctx, False))
