"""`elmai foundation`: the land foundation model (issue 27; elmai.apps.foundation).

build-corpus (simulate many testbed worlds into one chunked NetCDF store), pretrain
(under `mpirun -n N` with engine ddp, fsdp or tp), finetune (forecast or downscale on
unseen worlds) and evaluate (score a checkpoint's next-month forecast against persistence
and climatology). Each takes one strict YAML config and saves the resolved one in its
output folder. Torch is imported inside the commands only."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("foundation", help="the land foundation model: corpus, pretraining, fine-tuning")
    fs = p.add_subparsers(dest="action", required=True)
    for name, func, text in (
        (
            "build-corpus",
            cmd_build_corpus,
            "simulate testbed worlds into a corpus (corpus.nc + manifest.json)",
        ),
        ("pretrain", cmd_pretrain, "pretrain (or resume) a ViT on a corpus; mpirun -n N for ddp/fsdp/tp"),
        ("finetune", cmd_finetune, "fine-tune a checkpoint to a task (forecast, downscale) on unseen worlds"),
        ("evaluate", cmd_evaluate, "score a checkpoint's next-month forecast vs persistence and climatology"),
    ):
        q = fs.add_parser(name, help=text)
        q.add_argument("--config", required=True, help="YAML configuration")
        q.add_argument("--overwrite", action="store_true", help="reuse an output folder of another run")
        q.add_argument("--quiet", action="store_true", help="no progress bar")
        q.set_defaults(func=func)


# keys a resumed run may change: more steps, another time limit, another engine or rank count
_RESUMABLE = ("steps", "max_minutes", "engine", "threads", "checkpoint_every")


def _prepare(cfg: object, out: str, overwrite: bool, kind: str, root: bool = True) -> dict:
    from elmai.config_file import prepare_output, write_resolved

    record = prepare_output(out, cfg, overwrite=overwrite, kind=kind, ignore=_RESUMABLE)
    if root:
        write_resolved(out, record)
    return record


def cmd_build_corpus(args: argparse.Namespace) -> int:
    from elmai.apps.foundation.config import CorpusConfig, load
    from elmai.apps.foundation.corpus import build_corpus
    from elmai.apps.foundation.worlds import WorldSpec

    cfg = load(CorpusConfig, args.config)
    _prepare(cfg, cfg.out, args.overwrite, "foundation-corpus")
    warm = cfg.warming or [0.0]
    specs = [
        WorldSpec(
            cfg.resolution,
            cfg.first_seed + i,
            float(warm[i % len(warm)]),
            cfg.first_draw + i if cfg.param_draws else -1,
            cfg.params_file,
        )
        for i in range(cfg.worlds)
    ]
    m = build_corpus(cfg.out, specs, cfg.years, cfg.spin_years, progress=not args.quiet)
    shape = m["shape"]
    print(
        f"corpus {Path(cfg.out) / m['file']}: {shape['world']} worlds x {shape['time']} months x "
        f"{shape['channel']} channels on {shape['lat']}x{shape['lon']}, {m['bytes'] / 1e6:.1f} MB, "
        f"built in {m['build_seconds']:.1f} s"
    )
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from elmai.apps.foundation.config import PretrainConfig, load

    cfg = load(PretrainConfig, args.config)
    import torch

    from elmai.apps.foundation.corpus import Corpus
    from elmai.apps.foundation.pretrain import PretrainOptions, pretrain
    from elmai.errors import InvalidArgumentError
    from elmai.ml import distributed

    torch.set_num_threads(max(1, cfg.threads))
    corpus = Corpus.open(cfg.corpus)
    ctx = distributed.init()
    try:
        if ctx.distributed and cfg.engine == "single":
            raise InvalidArgumentError(f"engine 'single' under {ctx.world} ranks: use ddp, fsdp or tp")
        _prepare(cfg, cfg.out, args.overwrite, "foundation-pretrain", root=ctx.is_root)
        opts = PretrainOptions(
            size=cfg.size,
            patch=cfg.patch or None,
            steps=cfg.steps,
            batch=cfg.batch,
            lr=cfg.lr,
            warmup=cfg.warmup,
            weight_decay=cfg.weight_decay,
            seed=cfg.seed,
            engine=cfg.engine,
            checkpoint_every=cfg.checkpoint_every,
            max_minutes=cfg.max_minutes,
            worlds=list(cfg.worlds),
        )
        s = pretrain(corpus, cfg.out, opts, ctx, progress=not args.quiet)
        if ctx.is_root:
            last = f"{s['losses'][-1]:.5f}" if s["losses"] else "-"
            print(
                f"pretrained {s['size']} ({s['parameters']:,} parameters) with {s['engine']} on {s['ranks']} "
                f"rank(s): {s['steps_done']} steps, last loss {last}, {s['tokens_per_s']:.0f} tokens/s; "
                f"checkpoint {s['checkpoint']}"
            )
    finally:
        distributed.shutdown(ctx)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from elmai.apps.foundation.config import FinetuneConfig, load

    cfg = load(FinetuneConfig, args.config)
    import torch

    from elmai.apps.foundation.checkpoint import load_model
    from elmai.apps.foundation.corpus import Corpus
    from elmai.errors import InvalidArgumentError

    if cfg.task == "emulation":  # its worlds are restarts and h0 files, not a corpus
        raise InvalidArgumentError(
            f"config '{args.config}': task 'emulation' runs in the study (benchmarks/bench_foundation.py); "
            "finetune takes forecast or downscale"
        )
    torch.set_num_threads(max(1, cfg.threads))
    corpus = Corpus.open(cfg.corpus)
    model, blob = load_model(cfg.checkpoint)
    _prepare(cfg, cfg.out, args.overwrite, "foundation-finetune")
    if cfg.task == "forecast":
        from elmai.apps.foundation.forecast import ForecastOptions, forecast_task

        r = forecast_task(
            model,
            blob,
            corpus,
            ForecastOptions(
                steps=cfg.steps,
                batch=cfg.batch,
                lr=cfg.lr,
                seed=cfg.seed,
                fraction=cfg.fraction,
                train_worlds=list(cfg.train_worlds),
                test_worlds=list(cfg.test_worlds),
            ),
        )
        lines = [
            f"{g}: RMSE {v['vit']:.4f} vs persistence x{v['rmse_vs_persistence']:.3f}, "
            f"climatology x{v['rmse_vs_climatology']:.3f}"
            for g, v in r["groups"].items()
        ]
    else:
        from elmai.apps.foundation.downscale import DownscaleOptions, downscale_task

        r = downscale_task(
            model,
            blob,
            corpus,
            DownscaleOptions(
                steps=cfg.steps,
                batch=cfg.batch,
                lr_vit=cfg.lr,
                seed=cfg.seed,
                train_worlds=list(cfg.train_worlds),
                test_worlds=list(cfg.test_worlds),
            ),
        )
        lines = [
            f"{n}: RMSE {v['vit']['rmse']:.4g} {v['units']} = x{v['rmse_vs_bilinear']:.3f} bilinear "
            f"(CNN x{v['cnn_rmse_vs_bilinear']:.3f})"
            for n, v in r["variables"].items()
        ]
    _write_result(Path(cfg.out) / "finetune_result.json", r)
    if cfg.task == "forecast":
        from elmai.apps.foundation.checkpoint import save_checkpoint

        save_checkpoint(
            Path(cfg.out) / "finetuned.pt",
            {k: v for k, v in blob.items() if k not in ("model", "optimizer")}
            | {"model": model.state_dict(), "optimizer": {}, "losses": []},
            {"fine_tuned": {"task": cfg.task, "from": str(cfg.checkpoint), "corpus": str(cfg.corpus)}},
        )
    print("\n".join(lines))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from elmai.apps.foundation.config import EvaluateConfig, load

    cfg = load(EvaluateConfig, args.config)
    import torch

    from elmai.apps.foundation.checkpoint import load_model
    from elmai.apps.foundation.corpus import Corpus
    from elmai.apps.foundation.forecast import ForecastOptions, forecast_task

    torch.set_num_threads(max(1, cfg.threads))
    corpus = Corpus.open(cfg.corpus)
    model, blob = load_model(cfg.checkpoint)
    _prepare(cfg, cfg.out, args.overwrite, "foundation-evaluate")
    r = forecast_task(
        model,
        blob,
        corpus,
        ForecastOptions(steps=0, train_worlds=list(cfg.test_worlds[:1]), test_worlds=list(cfg.test_worlds)),
    )
    _write_result(Path(cfg.out) / "evaluate_result.json", r)
    for g, v in r["groups"].items():
        print(
            f"{g}: RMSE {v['vit']:.4f} vs persistence x{v['rmse_vs_persistence']:.3f}, "
            f"climatology x{v['rmse_vs_climatology']:.3f}"
        )
    return 0


def _write_result(path: Path, result: dict) -> None:
    import os

    plain = {k: v for k, v in result.items() if k != "example"}  # maps stay out of the JSON
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(plain, indent=1))
    os.replace(tmp, path)
