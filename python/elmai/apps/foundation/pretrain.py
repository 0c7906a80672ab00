"""The pretraining loop: AdamW with a linear warm-up and cosine decay (a function of the
step, so a resumed run needs no scheduler state), a checkpoint every `checkpoint_every`
steps, at the end and when `max_minutes` runs out (then `pretrain` again resumes where it
stopped). Under mpirun every rank runs it; rank 0 alone writes. The losses are the
global batch's (averaged over ranks), so engines and rank counts compare step by step."""

from __future__ import annotations

import json
import math
import os
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from elmai.apps.foundation.checkpoint import check_state, load_checkpoint, save_checkpoint
from elmai.apps.foundation.corpus import Corpus
from elmai.apps.foundation.engines import (
    DATA_PARALLEL,
    batch_share,
    deepspeed_engine,
    full_state,
    load_full_state,
    wrap,
)
from elmai.apps.foundation.model import FoundationViT
from elmai.apps.foundation.objective import PretrainData, lat_weights, weighted_mse
from elmai.apps.foundation.sizes import size_config
from elmai.errors import InvalidArgumentError
from elmai.ml.distributed import Context

__all__ = ["CHECKPOINT", "PretrainOptions", "load_fields", "pretrain"]

CHECKPOINT = "checkpoint.pt"


@dataclass
class PretrainOptions:
    size: str = "vit1m"
    patch: int | None = None  # None: the size's own
    steps: int = 200
    batch: int = 8
    lr: float = 1e-3
    warmup: int = 20
    weight_decay: float = 0.01
    seed: int = 0
    engine: str = "single"
    checkpoint_every: int = 50
    max_minutes: float = 0.0  # 0: no limit
    worlds: list[int] = field(default_factory=list)  # corpus worlds to train on; empty: all


def load_fields(corpus: Corpus, worlds: list[int]) -> torch.Tensor:
    return torch.from_numpy(np.stack([corpus.fields(w) for w in worlds]))


def _lr(opts: PretrainOptions, step: int) -> float:
    if step < opts.warmup:
        return opts.lr * (step + 1) / opts.warmup
    frac = (step - opts.warmup) / max(1, opts.steps - opts.warmup)
    return opts.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def _global_mean(value: torch.Tensor, engine: str, ctx: Context) -> float:
    if ctx.distributed and engine in DATA_PARALLEL:
        import torch.distributed as dist

        value = value.detach().clone()
        dist.all_reduce(value)
        value /= ctx.world
    return float(value.detach())


def pretrain(
    corpus: Corpus,
    out: str | os.PathLike[str],
    opts: PretrainOptions,
    ctx: Context | None = None,
    progress: bool = True,
    fields: torch.Tensor | None = None,
) -> dict:
    """Pretrain (or resume) into OUT/checkpoint.pt; returns the run's summary."""
    from tqdm import tqdm

    ctx = ctx or Context()
    out = Path(out)
    worlds = opts.worlds or list(range(corpus.nworld))
    if opts.batch % (ctx.world if opts.engine in DATA_PARALLEL else 1):
        raise InvalidArgumentError(f"batch {opts.batch} does not split evenly over {ctx.world} ranks")
    fields = load_fields(corpus, worlds) if fields is None else fields
    names = corpus.names
    static = [c["name"] for c in corpus.manifest["channels"] if c["group"] == "static"]
    data = PretrainData(fields, names, static, seed=opts.seed, batch=opts.batch)
    lat, _ = corpus.coords()
    weights = lat_weights(lat, corpus.land_mask())
    cfg = size_config(opts.size, opts.patch)
    torch.manual_seed(opts.seed)  # the same initial weights on every rank and engine
    model = FoundationViT(cfg, names, tuple(fields.shape[-2:]))
    nparam = model.count()
    ckpt = out / CHECKPOINT
    start, losses, seconds = 0, [], 0.0
    blob = load_checkpoint(ckpt) if ckpt.exists() else None
    if blob is not None:
        check_state(ckpt, model, blob["model"], opts.size)
    speed = opts.engine == "deepspeed" and ctx.distributed
    if speed:  # the full state goes in before ZeRO-3 partitions it
        if blob is not None:
            model.load_state_dict(blob["model"])
        wrapped, optimizer = deepspeed_engine(model, opts.lr, opts.weight_decay, opts.batch, ctx)
    else:
        wrapped = wrap(model, "single" if opts.engine == "deepspeed" else opts.engine, ctx)
        optimizer = torch.optim.AdamW(wrapped.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
        if blob is not None:
            load_full_state(wrapped, optimizer, ctx, blob["model"], blob["optimizer"] or None)
    if blob is not None:
        start, losses, seconds = int(blob["step"]), list(blob["losses"]), float(blob.get("seconds", 0.0))
    rank, world = batch_share(opts.engine, ctx)
    meta = {
        "size": opts.size,
        "parameters": nparam,
        "config": cfg.as_dict(),
        "grid": list(fields.shape[-2:]),
        "variables": names,
        "static": static,
        "corpus": str(corpus.folder),
        "worlds": worlds,
        "options": asdict(opts),
        "mean": corpus.manifest["mean"],
        "std": corpus.manifest["std"],
    }

    def save(step: int) -> None:
        model_state, optim_state = full_state(wrapped, optimizer, ctx)  # collective
        if ctx.is_root:
            card = {
                "trained_on": {
                    "corpus": str(corpus.folder),
                    "worlds": [corpus.manifest["worlds"][w]["label"] for w in worlds],
                    "months_per_world": int(fields.shape[1]),
                },
                "objective": "next-month prediction of every non-static variable + masked-variable "
                "reconstruction, latitude-weighted MSE over land (model space)",
                "last_loss": losses[-1] if losses else None,
                "engine": opts.engine,
                "ranks": ctx.world,
            }
            save_checkpoint(
                ckpt,
                meta
                | {
                    "model": model_state,
                    "optimizer": optim_state,
                    "step": step,
                    "losses": losses,
                    "seconds": seconds,
                },
                card,
            )

    tokens = 0
    t_run = time.perf_counter()
    bar = tqdm(
        range(start, opts.steps),
        desc=f"pretrain {opts.size}",
        unit="step",
        disable=not (progress and ctx.is_root),
    )
    stopped = False
    step = start
    for step in bar:
        t0 = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = _lr(opts, step)
        b = data.batch_of(step, rank, world)
        pred = wrapped(b.x, b.inputs, b.lead, b.outputs)
        loss = weighted_mse(pred, b.target, weights)
        if speed:
            wrapped.backward(loss)
            wrapped.step()
        else:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        losses.append(_global_mean(loss, opts.engine, ctx))
        seconds += time.perf_counter() - t0
        tokens += b.x.shape[0] * b.x.shape[1] * (fields.shape[-2] * fields.shape[-1]) // cfg.patch**2
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
        done = step + 1
        over = opts.max_minutes > 0 and (time.perf_counter() - t_run) > 60 * opts.max_minutes
        if ctx.distributed:  # every rank stops at the same step
            flag = torch.tensor([1.0 if over else 0.0])
            import torch.distributed as dist

            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            over = bool(flag.item())
        if done % opts.checkpoint_every == 0 or done == opts.steps or over:
            save(done)
        if over:
            stopped = True
            break
    run_seconds = time.perf_counter() - t_run
    summary = {
        "size": opts.size,
        "parameters": nparam,
        "engine": opts.engine,
        "ranks": ctx.world,
        "steps_done": len(losses),
        "losses": losses,
        "train_seconds": seconds,
        "tokens_per_s": tokens * (world if opts.engine in DATA_PARALLEL else 1) / max(run_seconds, 1e-9),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "stopped_early": stopped,
        "checkpoint": str(ckpt),
    }
    if ctx.is_root:
        tmp = out / f".pretrain_summary.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(summary, indent=1))
        os.replace(tmp, out / "pretrain_summary.json")
    return summary
