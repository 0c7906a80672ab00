"""The measured study behind results/foundation.json and bench-results/foundation.json:
corpora, pretraining per size, the three tasks on unseen worlds, data efficiency and the
parallel engines. Every stage keeps its result under ROOT/stages/ (maps under
ROOT/maps/), so a rerun does only what is missing; delete a stage's file to redo it."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from elmai.apps.foundation.corpus import MANIFEST_FILE, Corpus, build_corpus
from elmai.apps.foundation.worlds import WorldSpec

__all__ = ["Plan", "full_plan", "quick_plan", "run_study"]

WARMING = [-1.0, 0.0, 1.0, 2.0]


@dataclass
class Plan:
    root: Path
    resolution: float = 2.0
    pretrain_worlds: int = 20
    unseen_worlds: int = 6
    downscale_worlds: int = 4
    sizes: list[str] = field(default_factory=lambda: ["vit1m", "vit5m", "vit20m"])
    patch: int | None = None
    pretrain_steps: dict[str, int] = field(
        default_factory=lambda: {"vit1m": 1000, "vit5m": 600, "vit20m": 300}
    )
    pretrain_minutes: dict[str, float] = field(
        default_factory=lambda: {"vit1m": 10, "vit5m": 10, "vit20m": 8}
    )
    forecast_steps: int = 30
    forecast_batch: int = 4
    fractions: list[float] = field(default_factory=lambda: [0.01, 0.05, 0.25, 1.0])
    fraction_sizes: list[str] = field(default_factory=lambda: ["vit1m", "vit5m"])  # the others: 100% only
    downscale_sizes: list[str] = field(default_factory=lambda: ["vit1m", "vit5m"])
    downscale_steps: int = 60
    emulation_sizes: list[str] = field(default_factory=lambda: ["vit5m"])
    emulation_worlds: int = 10
    emulation_test: int = 2
    emulation_resolution: float = 4.0
    emulation_steps: int = 80
    engine_size: str = "vit1m"
    engine_steps: int = 20
    engines: list[str] = field(default_factory=lambda: ["ddp", "fsdp", "tp", "deepspeed"])
    quick: bool = False


def full_plan(root: str | os.PathLike[str]) -> Plan:
    return Plan(Path(root))


def quick_plan(root: str | os.PathLike[str]) -> Plan:
    """Small everything: checks the study runs end to end, not its figures."""
    return Plan(
        Path(root),
        resolution=10.0,
        pretrain_worlds=2,
        unseen_worlds=3,
        downscale_worlds=2,
        sizes=["tiny"],
        patch=6,
        pretrain_steps={"tiny": 6},
        pretrain_minutes={"tiny": 2},
        forecast_steps=2,
        forecast_batch=2,
        fractions=[0.25, 1.0],
        fraction_sizes=["tiny"],
        downscale_sizes=["tiny"],
        downscale_steps=2,
        emulation_sizes=["tiny"],
        emulation_worlds=3,
        emulation_test=1,
        emulation_resolution=20.0,
        emulation_steps=2,
        engine_size="tiny",
        engine_steps=4,
        engines=["ddp"],
        quick=True,
    )


def _stage(plan: Plan, name: str) -> Path:
    (plan.root / "stages").mkdir(parents=True, exist_ok=True)
    return plan.root / "stages" / f"{name}.json"


def _save(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=1, default=float))
    os.replace(tmp, path)


def _maps(plan: Plan, name: str, example: dict) -> None:
    (plan.root / "maps").mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in example.items() if isinstance(v, np.ndarray)}
    meta = {k: v for k, v in example.items() if not isinstance(v, np.ndarray)}
    tmp = plan.root / "maps" / f".{name}.tmp.npz"
    np.savez_compressed(tmp, meta=json.dumps(meta), **arrays)
    os.replace(tmp, plan.root / "maps" / f"{name}.npz")


def corpora(plan: Plan) -> dict[str, Corpus]:
    r, n = plan.resolution, plan.unseen_worlds
    specs = {
        "pretrain": ([WorldSpec(r, 100 + i, WARMING[i % 4], i) for i in range(plan.pretrain_worlds)], 2, 1),
        "unseen": ([WorldSpec(r, 200 + i, WARMING[(i + 1) % 4] + 0.5, 40 + i) for i in range(n)], 2, 1),
        "downscale": (
            [WorldSpec(r / 2, 300 + i, WARMING[i % 4], 60 + i) for i in range(plan.downscale_worlds)],
            1,
            1,
        ),
    }
    out = {}
    for name, (s, years, spin) in specs.items():
        folder = plan.root / f"corpus_{name}"
        if not (folder / MANIFEST_FILE).exists():
            build_corpus(folder, s, years, spin, progress=not plan.quick)
        out[name] = Corpus.open(folder)
    return out


def _pretrained(plan: Plan, size: str) -> Path:
    return plan.root / f"pretrain_{size}" / "checkpoint.pt"


def pretrain_sizes(plan: Plan, corpus: Corpus) -> dict:
    import torch

    from elmai.apps.foundation.pretrain import PretrainOptions, pretrain

    results = {}
    for size in plan.sizes:
        path = _stage(plan, f"pretrain_{size}")
        if not path.exists():
            torch.set_num_threads(1)
            opts = PretrainOptions(
                size=size,
                patch=plan.patch,
                steps=plan.pretrain_steps[size],
                batch=8,
                lr=5e-4 if size in ("vit20m", "vit115m") else 1e-3,
                warmup=30 if not plan.quick else 2,
                checkpoint_every=50,
                max_minutes=plan.pretrain_minutes[size],
            )
            s = pretrain(corpus, _pretrained(plan, size).parent, opts, progress=not plan.quick)
            _save(path, s)
        results[size] = json.loads(path.read_text())
    return results


def forecast_stage(plan: Plan, unseen: Corpus) -> dict:
    from elmai.apps.foundation.checkpoint import load_model
    from elmai.apps.foundation.forecast import ForecastOptions, forecast_task

    n = plan.unseen_worlds
    train, test = list(range(n - 2)), list(range(n - 2, n))
    out: dict = {}
    for size in plan.sizes:
        for frac in plan.fractions if size in plan.fraction_sizes else [1.0]:
            path = _stage(plan, f"forecast_{size}_{frac:g}")
            if not path.exists():
                model, blob = load_model(_pretrained(plan, size))
                r = forecast_task(
                    model,
                    blob,
                    unseen,
                    ForecastOptions(
                        steps=plan.forecast_steps,
                        batch=plan.forecast_batch,
                        fraction=frac,
                        train_worlds=train,
                        test_worlds=test,
                    ),
                )
                if frac == 1.0:
                    _maps(plan, f"forecast_{size}", r["example"])
                _save(path, {k: v for k, v in r.items() if k != "example"})
            out.setdefault(size, {})[f"{frac:g}"] = json.loads(path.read_text())
    return out


def downscale_stage(plan: Plan, fine: Corpus) -> dict:
    from elmai.apps.foundation.checkpoint import load_model
    from elmai.apps.foundation.downscale import DownscaleOptions, downscale_task

    n = plan.downscale_worlds
    out = {}
    for size in plan.downscale_sizes:
        path = _stage(plan, f"downscale_{size}")
        if not path.exists():
            model, blob = load_model(_pretrained(plan, size))
            r = downscale_task(
                model,
                blob,
                fine,
                DownscaleOptions(
                    steps=plan.downscale_steps, batch=2, train_worlds=list(range(n - 1)), test_worlds=[n - 1]
                ),
            )
            _maps(plan, f"downscale_{size}", {k: v for k, v in r["example"].items()})
            _save(path, {k: v for k, v in r.items() if k != "example"})
        out[size] = json.loads(path.read_text())
    return out


def emulation_worlds(plan: Plan) -> list[dict]:
    from elmai.apps.foundation.emulation import prepare_emulation_world
    from elmai.apps.transfer.worlds import WorldSpec as TransferWorld

    cache = plan.root / "emulation" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    worlds = []
    tag = f"{plan.emulation_resolution:g}".replace(".", "p")
    for i in range(plan.emulation_worlds):
        spec = TransferWorld(f"emu{tag}_{i:02d}", plan.emulation_resolution, 700 + i, WARMING[i % 4], i % 16)
        f = cache / f"{spec.name}.pkl"
        if not f.exists():
            t0 = time.perf_counter()
            w = prepare_emulation_world(spec, plan.root / "emulation" / "worlds")
            w["spec"], w["prepare_seconds"] = spec.describe(), time.perf_counter() - t0
            tmp = f.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(w))
            os.replace(tmp, f)
        worlds.append(pickle.loads(f.read_bytes()))
    return worlds


def emulation_stage(plan: Plan, pre: Corpus) -> dict:
    from elmai.apps.foundation.checkpoint import load_model
    from elmai.apps.foundation.emulation import EmulationOptions, emulation_task

    out = {}
    worlds = None
    for size in plan.emulation_sizes:
        path = _stage(plan, f"emulation_{size}")
        if not path.exists():
            worlds = worlds or emulation_worlds(plan)
            n, k = len(worlds), plan.emulation_test
            model, blob = load_model(_pretrained(plan, size))
            lat, _ = pre.coords()
            r = emulation_task(
                model,
                blob,
                worlds,
                EmulationOptions(
                    steps=plan.emulation_steps,
                    train_worlds=list(range(n - k)),
                    test_worlds=list(range(n - k, n)),
                ),
                lat,
            )
            r["prepare_seconds_per_world"] = float(np.mean([w["prepare_seconds"] for w in worlds]))
            _maps(plan, f"emulation_{size}", r["example"])
            _save(path, {k: v for k, v in r.items() if k != "example"})
        out[size] = json.loads(path.read_text())
    return out


def engines_stage(plan: Plan, corpus: Corpus) -> dict:
    """`elmai foundation pretrain` for `engine_steps` steps: one process, then each engine
    under `mpirun -n 2`; the largest relative loss difference per step, tokens/s, peak RSS."""
    import yaml

    from elmai.ml.distributed import mpirun_command

    path = _stage(plan, "engines")
    if path.exists():
        return json.loads(path.read_text())
    work = (plan.root / "engines").resolve()
    work.mkdir(parents=True, exist_ok=True)
    runs = {}
    for engine in ["single", *plan.engines]:
        folder = work / engine
        cfg = {
            "corpus": str(corpus.folder.resolve()),
            "out": str(folder),
            "size": plan.engine_size,
            "steps": plan.engine_steps,
            "batch": 8,
            "engine": engine,
            "checkpoint_every": plan.engine_steps,
            "warmup": plan.engine_steps,
        }
        if plan.patch:
            cfg["patch"] = plan.patch
        (work / f"{engine}.yaml").write_text(yaml.safe_dump(cfg))
        args = ["foundation", "pretrain", "--config", str(work / f"{engine}.yaml"), "--quiet", "--overwrite"]
        cmd, env = mpirun_command(2, *args)
        if engine == "single":
            cmd = [cmd[-len(args) - 1], *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        if proc.returncode:
            runs[engine] = {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
            continue
        runs[engine] = json.loads((folder / "pretrain_summary.json").read_text())
    if "error" in runs["single"]:
        raise RuntimeError(f"engines: the one-process run failed: {runs['single']['error']}")
    ref = runs["single"]["losses"]
    out = {"size": plan.engine_size, "steps": plan.engine_steps, "ranks": 2, "engines": {}}
    for engine, s in runs.items():
        if "error" in s:
            out["engines"][engine] = s
            continue
        diff = max(abs(a - b) / abs(b) for a, b in zip(s["losses"], ref, strict=True))
        out["engines"][engine] = {
            "max_rel_loss_diff": diff,
            "tokens_per_s": s["tokens_per_s"],
            "peak_rss_mb_rank0": s["peak_rss_mb"],
            "ranks": s["ranks"],
            "speedup_vs_single": s["tokens_per_s"] / runs["single"]["tokens_per_s"],
        }
    _save(path, out)
    return out


def large_stage(plan: Plan, corpus: Corpus, size: str = "vit115m") -> dict:
    """ORBIT's smallest size is defined for a GPU; here one AdamW step of it on one real
    batch (CPU, batch 1) shows it runs, with its time and the process's peak memory."""
    import resource

    import torch

    from elmai.apps.foundation.model import FoundationViT
    from elmai.apps.foundation.objective import PretrainData, lat_weights, weighted_mse
    from elmai.apps.foundation.sizes import size_config

    path = _stage(plan, f"large_{size}")
    if path.exists():
        return json.loads(path.read_text())
    fields = torch.from_numpy(corpus.fields(0)[None, :2])
    static = [c["name"] for c in corpus.manifest["channels"] if c["group"] == "static"]
    b = PretrainData(fields, corpus.names, static, batch=1).batch_of(1)
    torch.manual_seed(0)
    model = FoundationViT(size_config(size, plan.patch), corpus.names, tuple(fields.shape[-2:]))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    lat, _ = corpus.coords()
    t0 = time.perf_counter()
    loss = weighted_mse(
        model(b.x, b.inputs, b.lead, b.outputs), b.target, lat_weights(lat, corpus.land_mask())
    )
    loss.backward()
    opt.step()
    out = {
        "size": size,
        "parameters": model.count(),
        "step_seconds_cpu": time.perf_counter() - t0,
        "loss": float(loss.detach()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": "cpu",
        "config": size_config(size, plan.patch).as_dict(),
    }
    _save(path, out)
    return out


def real_stage(plan: Plan) -> dict:
    """The COADS demonstration (elmai.apps.foundation.realfields) with the smallest trained
    size; absent data (no ferret-datasets) is reported, not an error."""
    from elmai.apps.foundation.checkpoint import load_model
    from elmai.apps.foundation.realfields import COADS_FILE, real_forecast_demo

    path = _stage(plan, "real_fields")
    if path.exists():
        return json.loads(path.read_text())
    if not COADS_FILE.is_file():
        return {"status": f"not run: {COADS_FILE} absent (apt-get install ferret-datasets)"}
    size = plan.sizes[0]
    model, blob = load_model(_pretrained(plan, size))
    if tuple(model.grid) != (90, 180):
        return {"status": f"not run: the {size} model's grid {model.grid} is not COADS's 2 deg"}
    r = real_forecast_demo(model, blob, steps=plan.forecast_steps) | {"size": size}
    _save(path, r)
    return r


def run_study(plan: Plan, stages: list[str] | None = None) -> dict:
    """Every stage (or those named), then the summary results/foundation.json holds."""
    want = set(stages or ["pretrain", "forecast", "downscale", "emulation", "engines", "large", "real"])
    t0 = time.perf_counter()
    c = corpora(plan)
    res: dict = {
        "corpora": {
            k: {
                "worlds": v.nworld,
                "shape": v.manifest["shape"],
                "megabytes": v.manifest["bytes"] / 1e6,
                "build_seconds": v.manifest["build_seconds"],
                "resolution": v.manifest["resolution"],
            }
            for k, v in c.items()
        }
    }
    if "pretrain" in want:
        res["pretrain"] = pretrain_sizes(plan, c["pretrain"])
    if "forecast" in want:
        res["forecast_runs"] = forecast_stage(plan, c["unseen"])
    if "downscale" in want:
        res["downscale_runs"] = downscale_stage(plan, c["downscale"])
    if "emulation" in want:
        res["emulation_runs"] = emulation_stage(plan, c["pretrain"])
    if "engines" in want:
        res["engine_runs"] = engines_stage(plan, c["pretrain"])
    if "large" in want:
        res["large"] = large_stage(plan, c["pretrain"], "tiny" if plan.quick else "vit115m")
    if "real" in want:
        res["real_fields"] = real_stage(plan)
    if "large" in want:  # computed, no stage file: cheap
        from elmai.apps.foundation.memory import state_memory

        shape = c["pretrain"].manifest["shape"]
        big = [] if plan.quick else ["vit115m"]
        res["memory"] = state_memory(
            plan.sizes + big, c["pretrain"].names, (shape["lat"], shape["lon"]), patch=plan.patch
        )
    res["seconds"] = time.perf_counter() - t0
    return res
