"""Training of the spin-up model under mpirun: DDP (gloo/nccl) or DeepSpeed (ZeRO).

The global batch is fixed and split over the ranks; DistributedSampler deals every rank
its share of the same seeded permutation, so rank r's j-th batch is its slice of the
global j-th batch and 1 or N ranks see the same batches (gradients are averaged).
Statistics come from the training cells only; the validation cells drive early stopping
and the learning-rate schedule; the test cells are never looked at here. Rank 0 alone
writes: a checkpoint every epoch (resumable), the best model, metrics.csv and
metrics.json, and shows the progress bar.
"""

from __future__ import annotations

import csv
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from elmai.data.dataset import MODEL_INPUTS, TRAIN, VALID, SpinupData, load
from elmai.data.normalize import to_log
from elmai.errors import ConfigError, ElmaiFileError, InputNotFoundError, ModelFileError
from elmai.ml import distributed
from elmai.models.constraints import DEAD_WOOD, S3, S4, initial_drift, physics_terms
from elmai.models.quasi_equilibrium import MORTALITY
from elmai.models.spinup_transformer import SpinupTransformer
from elmai.training.config import TrainConfig


@dataclass
class Batch:
    inputs: tuple[torch.Tensor, ...]
    pft_z: torch.Tensor  # standardised log targets
    soil_z: torch.Tensor
    rate: torch.Tensor
    area: torch.Tensor
    pft_c: torch.Tensor  # physical targets over their training-cell spread
    soil_c: torch.Tensor


class Tensors:
    """Every array of the data set as float32 tensors, targets standardised."""

    def __init__(self, data: SpinupData, stats: dict, train: np.ndarray) -> None:
        a = data.arrays
        t = {k: torch.as_tensor(np.asarray(a[k]), dtype=torch.float32) for k in (*MODEL_INPUTS, "area")}
        self.inputs = tuple(t[k] for k in MODEL_INPUTS)
        z = {g: (to_log(a[g]) - stats[g][0]) / stats[g][1] for g in ("pft_target", "soil_target")}
        self.pft_z = torch.as_tensor(z["pft_target"], dtype=torch.float32)
        self.soil_z = torch.as_tensor(z["soil_target"], dtype=torch.float32)
        self.rate, self.area = t["decay_rate"], t["area"]
        # physical targets scaled by their spread over the training cells (per pool, and per
        # level for soil), so the physical-space term weighs every variable alike
        present = a["pft_weight"][train] > 0
        pft_scale = np.array(
            [a["pft_target"][train][..., j][present].std() for j in range(a["pft_target"].shape[-1])]
        )
        soil_scale = a["soil_target"][train].std(axis=0)
        self.pft_c = torch.as_tensor(
            a["pft_target"] / np.where(pft_scale > 0, pft_scale, 1.0), dtype=torch.float32
        )
        self.soil_c = torch.as_tensor(
            a["soil_target"] / np.where(soil_scale > 0, soil_scale, 1.0), dtype=torch.float32
        )
        self.pft_scale = torch.as_tensor(np.where(pft_scale > 0, pft_scale, 1.0), dtype=torch.float32)
        self.soil_scale = torch.as_tensor(np.where(soil_scale > 0, soil_scale, 1.0), dtype=torch.float32)

    def batch(self, idx: torch.Tensor) -> Batch:
        return Batch(
            tuple(x[idx] for x in self.inputs),
            self.pft_z[idx],
            self.soil_z[idx],
            self.rate[idx],
            self.area[idx],
            self.pft_c[idx],
            self.soil_c[idx],
        )


def build_model(cfg: TrainConfig, data: SpinupData) -> SpinupTransformer:
    stats = data.stats[cfg.split]
    train = data.splits[cfg.split] == TRAIN
    soil_used = (data.arrays["soil_target"][train] > 0).any(axis=0)
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank
    return SpinupTransformer(
        {g: (torch.as_tensor(m), torch.as_tensor(s)) for g, (m, s) in stats.items()},
        torch.as_tensor(data.arrays["traits"]),
        torch.as_tensor(soil_used),
        torch.as_tensor(np.asarray(data.arrays["respired_fraction"])),
        d_model=cfg.d_model,
        heads=cfg.heads,
        layers=cfg.layers,
        dropout=cfg.dropout,
    )


class Normalized(torch.nn.Module):
    """The model's standardised log-space outputs as `forward`, for DDP/DeepSpeed to wrap
    (their gradient hooks run through the wrapper's forward)."""

    def __init__(self, model: SpinupTransformer) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.normalized(*inputs)


class GlobalMean:
    """Masked means over the global batch: each rank divides its sums by the counts summed
    over the ranks (times the world size, since DDP averages gradients), so 1 and N ranks
    minimise the same loss. The counts come from the inputs, so one all-reduce per step
    serves every term."""

    def __init__(self, counts: torch.Tensor, ctx: distributed.Context | None) -> None:
        self.ctx = ctx if ctx is not None and ctx.distributed else None
        self.scale = 1.0
        if self.ctx is not None:
            counts = distributed.all_reduce_sum(counts.detach().clone(), self.ctx)
            self.scale = float(self.ctx.world)
        self.counts = counts.clamp(min=1.0)

    def __call__(self, total: torch.Tensor, which: int) -> torch.Tensor:
        return total / self.counts[which] * self.scale

    def ratio(self, num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
        """num/den of batch-wide sums (differentiable across ranks)."""
        both = torch.stack([num, den])
        if self.ctx is not None:
            from torch.distributed.nn.functional import all_reduce  # differentiable

            with warnings.catch_warnings():  # deprecated for a functional API still in flux
                warnings.simplefilter("ignore", FutureWarning)
                both = all_reduce(both)
        return both[0] / both[1].clamp(min=1e-6)


def losses(
    model: SpinupTransformer,
    b: Batch,
    cfg: TrainConfig,
    tensors: Tensors,
    predict=None,
    ctx: distributed.Context | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The fit in standardised log space over real entries, the fit in physical units (what
    R2 is scored in: large stocks matter most), and the soft physics terms."""
    weight = b.inputs[2]
    pft_mask = (weight > 0).unsqueeze(-1).float() * model.pool_mask
    soil_mask = model.soil_used.expand(weight.shape[0], -1, -1)
    used = model.soil_used  # (level, pool): levels holding slow carbon, for the cascade terms
    n = float(weight.shape[0])
    counts = torch.stack(
        [pft_mask.sum(), soil_mask.sum(), n * used[:, S4].sum(), n * used[:, S3].sum(), torch.tensor(n)]
    )
    mean = GlobalMean(counts, ctx)
    pft, soil = (predict or model.normalized)(*b.inputs)
    fit = mean(((pft - b.pft_z) ** 2 * pft_mask).sum(), 0) + mean(
        ((soil - b.soil_z) ** 2 * soil_mask).sum(), 1
    )
    total = fit
    parts = {"fit": float(fit.detach())}
    pft_c, soil_c = model.to_physical(pft, soil, weight)
    if cfg.physical_weight:
        phys = mean(((pft_c / tensors.pft_scale - b.pft_c) ** 2 * pft_mask).sum(), 0)
        phys = phys + mean(((soil_c / tensors.soil_scale - b.soil_c) ** 2 * soil_mask).sum(), 1)
        total = total + cfg.physical_weight * phys
        parts["physical"] = float(phys.detach())
    if cfg.physics_cell_weight or cfg.physics_grid_weight:
        terms = physics_terms(soil_c, b.rate, model.rf, b.area, used)
        cell = mean(terms["cell"][0], 2) + mean(terms["cell"][1], 3)
        grid = mean.ratio(*terms["grid"]) ** 2
        total = total + cfg.physics_cell_weight * cell + cfg.physics_grid_weight * grid
        parts |= {"physics_cell": float(cell.detach()), "physics_grid": float(grid.detach())}
    if cfg.drift_weight:
        wood_err = (pft_c - b.pft_c * tensors.pft_scale)[..., DEAD_WOOD] * pft_mask[..., DEAD_WOOD]
        soil_err = (soil_c - b.soil_c * tensors.soil_scale) * soil_mask
        d = initial_drift(soil_err, b.rate, wood_err, weight, MORTALITY)
        # pseudo-Huber at the criterion's 1 gC/m2/yr: a cell far off does not drown the rest
        drift = mean((torch.sqrt(1 + d**2) - 1).sum(), 4)
        total = total + cfg.drift_weight * drift
        parts["drift"] = float(drift.detach())
    return total, parts


def _evaluate_loss(model: SpinupTransformer, tensors: Tensors, idx: np.ndarray, cfg: TrainConfig) -> float:
    model.eval()
    with torch.no_grad():
        total, n = 0.0, 0
        for chunk in np.array_split(idx, max(1, idx.size // 512)):
            loss, _ = losses(model, tensors.batch(torch.as_tensor(chunk)), cfg, tensors)
            total += float(loss) * chunk.size
            n += chunk.size
    model.train()
    return total / max(n, 1)


# settings a resumed run may change: how long it trains, not what it trains
RESUMABLE = ("epochs", "patience", "max_minutes", "max_steps")


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, overwrite: bool = False) -> dict:
    """Train; returns the summary (also in OUT/summary.json). OUT/resolved_config.yaml
    records the run; a folder holding another run's is refused unless `overwrite`."""
    from elmai import config_file

    torch.set_num_threads(cfg.threads)
    ctx = distributed.init()
    out = Path(cfg.out)
    record = config_file.prepare_output(
        out, cfg.to_dict(), overwrite=overwrite, kind="train", ignore=RESUMABLE if resume else ()
    )
    data = load(cfg.dataset)
    if ctx.is_root:  # once the inputs are known good: a failed start leaves no record behind
        out.mkdir(parents=True, exist_ok=True)
        config_file.write_resolved(out, record)
    source = _fine_tune_from(cfg, data) if cfg.init else None
    tensors = Tensors(data, data.stats[cfg.split], data.splits[cfg.split] == TRAIN)
    model = build_model(cfg, data)
    if source is not None:  # the source's weights, normalisation, traits and masks
        model.load_state_dict(source)
    train_idx, valid_idx = data.indices(cfg.split, TRAIN), data.indices(cfg.split, VALID)
    if cfg.batch_size % ctx.world:
        raise ConfigError(f"batch_size {cfg.batch_size} does not divide over {ctx.world} ranks (--config)")
    sampler = DistributedSampler(
        TensorDataset(torch.as_tensor(train_idx)),
        num_replicas=ctx.world,
        rank=ctx.rank,
        shuffle=True,
        seed=cfg.seed,
        drop_last=True,
    )
    loader = DataLoader(
        TensorDataset(torch.as_tensor(train_idx)), batch_size=cfg.batch_size // ctx.world, sampler=sampler
    )
    engine = _Engine(cfg, model, ctx)
    ranges = input_ranges(data, cfg.split) if ctx.is_root else None
    if ranges is not None and cfg.init:  # a fine-tuned model has seen its source's cells too
        ranges = _widened(ranges, checkpoint_input_ranges(cfg.init))
    state = {"epoch": 0, "best": float("inf"), "best_epoch": -1, "stale": 0, "history": []}
    ckpt = out / "checkpoint"
    if resume and (ckpt / "state.json").exists():
        state = engine.load(ckpt)
    from tqdm import tqdm

    bar = tqdm(
        total=cfg.epochs,
        initial=state["epoch"],
        desc="train",
        unit="epoch",
        disable=not (progress and ctx.is_root),
    )
    t_start = time.perf_counter()
    for epoch in range(state["epoch"], cfg.epochs):
        sampler.set_epoch(epoch)
        t0, seen, sums = time.perf_counter(), 0, {}
        for (idx,) in loader:
            if cfg.max_steps and state.get("steps", 0) >= cfg.max_steps:
                break
            loss, parts = losses(engine.module, tensors.batch(idx), cfg, tensors, engine.forward, ctx)
            engine.step(loss)
            state["steps"] = state.get("steps", 0) + 1
            seen += idx.numel()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v * idx.numel()
        elapsed = time.perf_counter() - t0
        totals = distributed.all_reduce_sum(torch.tensor([float(seen), elapsed] + list(sums.values())), ctx)
        seen_all = float(totals[0])
        train_parts = {k: float(v) / seen_all for k, v in zip(sums, totals[2:], strict=True)}
        valid = _evaluate_loss(engine.module, tensors, valid_idx, cfg)
        engine.scheduler_step(valid)
        improved = valid < state["best"] - 1e-6
        state["stale"] = 0 if improved else state["stale"] + 1
        if improved:
            state["best"], state["best_epoch"] = valid, epoch
        row = {
            "epoch": epoch,
            **{f"train_{k}": v for k, v in train_parts.items()},
            "valid_loss": valid,
            "lr": engine.lr,
            "samples_per_s": seen_all / elapsed,
            "seconds": elapsed,
        }
        state["history"].append(row)
        state["epoch"] = epoch + 1
        if ctx.is_root:
            if improved:
                save_model(out / "best.pt", engine.module, cfg, data, ranges)
            _write_metrics(out, state["history"])
        engine.save(ckpt, state)
        bar.update(1)
        bar.set_postfix(train=f"{train_parts['fit']:.4f}", valid=f"{valid:.4f}")
        if state["stale"] >= cfg.patience or (cfg.max_steps and state["steps"] >= cfg.max_steps):
            break
        if cfg.max_minutes and (time.perf_counter() - t_start) / 60 > cfg.max_minutes:
            break
    bar.close()
    summary = {
        "epochs_run": state["epoch"],
        "best_valid_loss": state["best"],
        "best_epoch": state["best_epoch"],
        "ranks": ctx.world,
        "engine": cfg.engine,
        "split": cfg.split,
        "samples_per_s": float(np.mean([h["samples_per_s"] for h in state["history"][-5:]])),
        "train_minutes": (time.perf_counter() - t_start) / 60,
    }
    if ctx.is_root:
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    distributed.shutdown(ctx)
    return summary


def _write_metrics(out: Path, history: list[dict]) -> None:
    (out / "metrics.json").write_text(json.dumps(history, indent=2))
    keys = list(dict.fromkeys(k for row in history for k in row))
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(history)


def _fine_tune_from(cfg: TrainConfig, data: SpinupData) -> dict:
    """The state of the model `cfg.init` starts from; its normalisation replaces the data
    set's, so targets are standardised as the model standardises them."""
    source, source_cfg = load_model(cfg.init)
    for key in ("d_model", "heads", "layers"):
        if getattr(source_cfg, key) != getattr(cfg, key):
            raise ConfigError(
                f"init model '{cfg.init}' has {key} {getattr(source_cfg, key)}; "
                f"the config says {getattr(cfg, key)}"
            )
    sd = source.state_dict()
    data.stats[cfg.split] = {
        g: (sd[f"{g}_mean"].double().numpy(), sd[f"{g}_std"].double().numpy()) for g in data.stats[cfg.split]
    }
    return sd


def input_ranges(data: SpinupData, split: str) -> dict:
    """Per model input and feature, the min and max over the training cells of `split`
    (elmai.spinup.input_ranges.training_ranges): what `elmai spinup` checks a case against."""
    from elmai.models.spinup_transformer import INPUT_NAMES
    from elmai.spinup.input_ranges import training_ranges

    train = data.splits[split] == TRAIN
    # the data set's names in the model's input order -> the model's (sidecar's) names
    inputs = {name: data.arrays[k][train] for name, k in zip(INPUT_NAMES, MODEL_INPUTS, strict=True)}
    return training_ranges(inputs, split)


def _widened(ranges: dict, other: dict | None) -> dict:
    """`ranges` widened to cover `other` too (per group and feature; None: no value seen)."""
    if not other:
        return ranges
    for name, g in ranges["groups"].items():
        o = other["groups"].get(name)
        if o is None or o.get("features") != g.get("features"):
            continue
        for key, pick in (("min", min), ("max", max)):
            pairs = zip(g[key], o[key], strict=True)
            g[key] = [b if a is None else a if b is None else pick(a, b) for a, b in pairs]
    ranges["training_cells"] = ranges.get("training_cells", 0) + other.get("training_cells", 0)
    return ranges


def save_model(
    path: Path, model: SpinupTransformer, cfg: TrainConfig, data: SpinupData, ranges: dict | None = None
) -> None:
    """The trained weights with what rebuilds the model (config, stats, traits, masks) and
    the training cells' input ranges (`ranges`, computed here when not given)."""
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "state_dict": model.state_dict(),
            "config": cfg.to_dict(),
            "dataset_attrs": {k: str(v) for k, v in data.attrs.items()},
            "input_ranges": ranges if ranges is not None else input_ranges(data, cfg.split),
        },
        tmp,
    )
    tmp.replace(path)


def checkpoint_input_ranges(model_path: str | Path) -> dict | None:
    """The training cells' input ranges a checkpoint records (None for one saved before
    elmai recorded them: it still exports, and `elmai spinup` says it cannot check)."""
    blob = torch.load(Path(model_path), map_location="cpu", weights_only=False)
    ranges = blob.get("input_ranges") if isinstance(blob, dict) else None
    return ranges or None


def load_model(path: str | Path) -> tuple[SpinupTransformer, TrainConfig]:
    """A trained model from `best.pt` (no data set needed: the buffers hold the stats)."""
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"model '{path}' does not exist (best.pt of `elmai train`)")
    if not path.is_file():
        raise ElmaiFileError(f"model '{path}' is not a file (best.pt of `elmai train`)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises EOFError, RuntimeError, UnpicklingError, ...
        first = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise ModelFileError(f"model '{path}' is not a saved elmai spin-up model: {first}") from None
    if not isinstance(blob, dict) or not {"config", "state_dict"} <= set(blob):
        raise ModelFileError(f"model '{path}' is not an elmai spin-up model (best.pt of `elmai train`)")
    cfg = TrainConfig(**blob["config"])
    sd = blob["state_dict"]
    groups = {k[: -len("_mean")] for k in sd if k.endswith("_mean")}
    stats = {g: (sd[f"{g}_mean"], sd[f"{g}_std"]) for g in groups}
    model = SpinupTransformer(
        stats,
        sd["traits"],
        sd["soil_used"],
        sd["rf"],
        d_model=cfg.d_model,
        heads=cfg.heads,
        layers=cfg.layers,
        dropout=cfg.dropout,
    )
    model.load_state_dict(sd)
    model.eval()
    return model, cfg


class _Engine:
    """The optimiser step under DDP or DeepSpeed, with the same interface."""

    def __init__(self, cfg: TrainConfig, model: SpinupTransformer, ctx: distributed.Context) -> None:
        self.cfg, self.ctx, self.module = cfg, ctx, model
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        view = Normalized(model)
        if cfg.engine == "deepspeed":
            import deepspeed

            ds_config = {
                "train_batch_size": cfg.batch_size,
                "train_micro_batch_size_per_gpu": cfg.batch_size // ctx.world,
                "gradient_accumulation_steps": 1,
                "zero_optimization": {"stage": cfg.zero_stage},
                "zero_allow_untested_optimizer": True,
                "gradient_clipping": cfg.grad_clip,
                "steps_per_print": 10**9,
                "wall_clock_breakdown": False,
            }
            self.ds, self.opt, _, _ = deepspeed.initialize(model=view, optimizer=opt, config=ds_config)
            self.wrapped = self.ds
            base_opt = opt
        else:
            self.ds = None
            self.opt = opt
            base_opt = opt
            self.wrapped = torch.nn.parallel.DistributedDataParallel(view) if ctx.distributed else view
        self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(base_opt, factor=0.5, patience=5)
        self.base_opt = base_opt

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.wrapped(*inputs)

    @property
    def lr(self) -> float:
        return float(self.base_opt.param_groups[0]["lr"])

    def step(self, loss: torch.Tensor) -> None:
        if self.ds is not None:
            self.ds.backward(loss)
            self.ds.step()
            return
        self.opt.zero_grad(set_to_none=True)
        loss.backward()  # under DDP its hooks average the gradients over the ranks here
        if self.cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.cfg.grad_clip)
        self.opt.step()

    def scheduler_step(self, valid: float) -> None:
        self.sched.step(valid)

    def save(self, folder: Path, state: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.ds is not None:  # every rank writes its ZeRO shard
            self.ds.save_checkpoint(str(folder), tag="current")
        elif self.ctx.is_root:
            tmp = folder / "model.tmp"
            torch.save({"model": self.module.state_dict(), "opt": self.opt.state_dict()}, tmp)
            tmp.replace(folder / "model.pt")
        if self.ctx.is_root:
            torch.save(self.sched.state_dict(), folder / "sched.pt")
            (folder / "state.json").write_text(json.dumps(state))
        distributed.barrier(self.ctx)

    def load(self, folder: Path) -> dict:
        if self.ds is not None:
            self.ds.load_checkpoint(str(folder), tag="current")
        else:
            blob = torch.load(folder / "model.pt", map_location="cpu", weights_only=False)
            self.module.load_state_dict(blob["model"])
            self.opt.load_state_dict(blob["opt"])
        self.sched.load_state_dict(torch.load(folder / "sched.pt", weights_only=False))
        return json.loads((folder / "state.json").read_text())
