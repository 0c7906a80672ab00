"""The transfer protocol: spin up worlds the model never saw, the way a user would.

Settings (SETTINGS): zero-shot with the source model (trained on 2 deg worlds) on an
unseen 1 deg and 0.5 deg world; few-shot, where the target's equilibrium is known for k%
of its gridcells only (in ELM terms, a conventional spin-up of a sparse sample of points)
and the source model is fine-tuned on them; full-train on the target (the upper bound);
and a world whose decomposition parameters the model never saw. Each setting scores the
model on the target cells it did not train on, then runs the AI route on the whole world
(`elmai spinup`, one forcing cycle, `elmai refine`, one more cycle to verify), and
counts its cost in gridcell-years against native and AD spin-ups of the same world
(run on a random sample of its gridcells: cells are independent in the testbed).
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elmai.apps.transfer.settings import SETTINGS
from elmai.apps.transfer.worlds import PreparedWorld, WorldSpec, prepare_world
from elmai.errors import InvalidArgumentError

# worlds the source model never saw (seeds differ from every source world's)
TARGETS = {
    "1deg": WorldSpec("target_1deg", 1.0, 101),
    "0p5deg": WorldSpec("target_0p5deg", 0.5, 102),
    "params": WorldSpec("target_params_2deg", 2.0, 103, params_draw=7),
}
REFERENCE_SAMPLE = 500  # gridcells of the native/AD reference spin-ups
AD_YEARS = 50  # AD years before the native ones (ELM's factors from the parameter file)


@dataclass
class TransferOptions:
    out: Path
    model: Path  # exported source model (TorchScript .pt with its .json)
    checkpoint: Path | None  # its training checkpoint (best.pt), for fine-tuning
    early_years: int = 20
    forcing_years: int = 20  # ELM's forcing cycle
    finetune_epochs: int = 60
    full_epochs: int = 60  # as the shipped model (pretrained_build.EPOCHS)
    reference_max_years: int = 6000
    seed: int = 0
    progress: bool = True
    source_cells: int = 0  # gridcells whose equilibrium trained the source model (its card)
    targets: dict[str, WorldSpec] | None = None  # replaces TARGETS (small worlds in tests)
    reference_sample: int = REFERENCE_SAMPLE
    keep_files: bool = True  # False: a finished setting's restarts and h0 are deleted (the bench)


def source_options(
    out: Path, model: Path | None = None, checkpoint: Path | None = None, **options: object
) -> TransferOptions:
    """Options for a source model, by default the shipped one: its fine-tuning checkpoint
    beside it (when there) and, for the shipped model, its card's cell count (the
    amortised line of the cost)."""
    from elmai import pretrained

    cells = 0
    if model is None:
        model = pretrained.default_model()
        cells = int(pretrained.load_card()["trained_on"].get("cells", 0))
    checkpoint = checkpoint or model.parent / pretrained.CHECKPOINT_NAME
    found = checkpoint if checkpoint.exists() else None
    return TransferOptions(out=out, model=model, checkpoint=found, source_cells=cells, **options)  # type: ignore[arg-type]


def step(msg: str) -> None:
    print(f"[elmai transfer] {msg}", flush=True)


def run_transfer(settings: list[str], opts: TransferOptions) -> dict:
    """Run `settings`; returns {setting: entry} and writes OUT/transfer.json (kept up to date
    after each setting, and read back: a setting already there is not run again)."""
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise InvalidArgumentError(f"unknown transfer settings {unknown}; choose from {', '.join(SETTINGS)}")
    opts.out.mkdir(parents=True, exist_ok=True)
    record = opts.out / "transfer.json"
    done = json.loads(record.read_text()) if record.exists() else {}
    for name in settings:
        if name in done:
            step(f"{name}: kept from {record}")
            continue
        t0 = time.perf_counter()
        done[name] = run_setting(name, opts) | {"seconds": round(time.perf_counter() - t0, 1)}
        done[name]["peak_rss_gb"] = round(peak_rss_gb(), 2)
        if not opts.keep_files:  # gigabytes per setting at 1 deg; the figures are in the JSON
            for f in (opts.out / name).rglob("*.nc"):
                f.unlink()
        # merged with the file as it is now: another process may have added a setting
        now = json.loads(record.read_text()) if record.exists() else {}
        done = now | {name: done[name]}
        record.write_text(json.dumps(done, indent=1))
    return {k: done[k] for k in settings}


def peak_rss_gb() -> float:
    """Peak resident memory of this process and its finished children (GB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024**2


def target_world(key: str, opts: TransferOptions) -> PreparedWorld:
    spec = (opts.targets or TARGETS)[key]
    step(
        f"world {spec.name}: {opts.early_years} years from bare ground at {spec.resolution:g} deg and its "
        "matrix equilibrium (kept for the next setting)"
    )
    return prepare_world(spec, opts.out / "worlds", opts.early_years, opts.forcing_years, opts.progress)


def world_dataset(world: PreparedWorld, opts: TransferOptions) -> Path:
    from elmai.data.dataset import build_dataset

    path = world.folder / "dataset.nc"
    if not path.exists():
        step(f"data set of {world.spec.name} ({world.ncell} gridcells)")
        build_dataset(world.folder, world.early_year, out=path, seed=opts.seed)
    return path


def run_setting(name: str, opts: TransferOptions) -> dict:
    from elmai.data.dataset import load

    key, kind, fraction = SETTINGS[name]
    world = target_world(key, opts)
    data = load(world_dataset(world, opts))
    folder = opts.out / name
    folder.mkdir(parents=True, exist_ok=True)
    known = np.zeros(data.ncell, dtype=bool)  # cells whose equilibrium the setting trained on
    train_seconds = 0.0
    if kind == "zero":
        model_file = opts.model
    else:
        t0 = time.perf_counter()
        model_file, known = _trained_on_target(data, world, kind, fraction, folder, opts)
        train_seconds = time.perf_counter() - t0
    scores = _scores(model_file, data, np.flatnonzero(~known))
    route = ai_route(world, model_file, folder, opts)
    refs = reference_years(world, opts)
    cost = gridcell_years(world, refs, int(known.sum()), opts)
    return {
        "target_world": world.spec.describe(),
        "resolution_deg": world.spec.resolution,
        "seed": world.spec.seed,
        "cells": world.ncell,
        "cells_trained_on": int(known.sum()),
        **scores,
        **route,
        "reference_years": refs,
        "gridcell_years": cost,
        "train_seconds": round(train_seconds, 1),
    }


def _trained_on_target(
    data, world: PreparedWorld, kind: str, fraction: float, folder: Path, opts: TransferOptions
) -> tuple[Path, np.ndarray]:
    """Fine-tune the source model on a k% sample (few), or train on the target (full)."""
    import yaml

    from elmai.data.dataset import save, with_split
    from elmai.data.splits import TEST, TRAIN, VALID, random_split, sample_split
    from elmai.training.config import TrainConfig
    from elmai.training.export import export
    from elmai.training.trainer import train

    if kind == "few":
        if opts.checkpoint is None or not opts.checkpoint.exists():
            raise InvalidArgumentError("few-shot needs the source model's training checkpoint (--checkpoint)")
        split = sample_split(data.ncell, fraction, seed=opts.seed)
        base = _source_config(opts.checkpoint)
        cfg = base | {
            "epochs": opts.finetune_epochs,
            "lr": base["lr"] / 4,
            "init": str(opts.checkpoint.resolve()),
            "patience": 10,
            "batch_size": min(base["batch_size"], 64),
        }
    else:
        split = random_split(data.ncell, seed=opts.seed)
        base = _source_config(opts.checkpoint) if opts.checkpoint else {}
        cfg = base | {"epochs": opts.full_epochs}  # from scratch: no init
    known = np.isin(split, (TRAIN, VALID))
    step(
        f"{folder.name}: training on {int((split == TRAIN).sum())} cells of {world.spec.name} "
        f"({int((split == VALID).sum())} validation, {int((split == TEST).sum())} never seen)"
    )
    dataset = folder / "dataset.nc"
    save(with_split(data, split, "random"), dataset)
    # absolute: the config's relative paths are read against its own folder
    cfg |= {
        "dataset": str(dataset.resolve()),
        "out": str((folder / "train").resolve()),
        "split": "random",
        "threads": 2,
    }
    config = folder / "train_config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    train(TrainConfig.from_yaml(config), progress=opts.progress, overwrite=True)
    model_file = folder / "spinup_model.pt"
    export(folder / "train" / "best.pt", model_file)
    return model_file, known


def _source_config(checkpoint: Path) -> dict:
    """The source model's training config (through the checked loader: a file that is not a
    best.pt is named), less what belongs to its own run."""
    from elmai.training.trainer import load_model

    cfg = load_model(checkpoint)[1].to_dict()
    for key in ("dataset", "out", "init", "max_minutes", "max_steps"):
        cfg.pop(key, None)
    return cfg


def _scores(model_file: Path, data, cells: np.ndarray) -> dict:
    import torch

    from elmai.apps.transfer.metrics import cell_scores

    model = torch.jit.load(str(model_file), map_location="cpu").eval()
    return cell_scores(model, data, cells)


def ai_route(world: PreparedWorld, model_file: Path, folder: Path, opts: TransferOptions) -> dict:
    """`elmai spinup` on the early restart, one forcing cycle, `elmai refine`, and one more
    cycle (plus a year, for CTSM's GPP and TLAI criteria) to verify; both cycles judged."""
    from elmai.apps.testbed.verify import verify
    from elmai.apps.transfer.metrics import ctsm_criteria, mean_nee
    from elmai.spinup import ai_spinup
    from elmai.spinup.refine import refine_spinup

    n = opts.forcing_years
    year = world.early_year
    ai_file = folder / f"{world.spec.name}_ai.elm.r.{year:04d}-01-01-00000.nc"
    step(f"{folder.name}: AI spin-up of all {world.ncell} gridcells")
    t0 = time.perf_counter()
    spun = ai_spinup(world.early, model_file, ai_file, force=True)
    spin_s = time.perf_counter() - t0
    step(f"{folder.name}: {n + 1} years from the AI restart")
    v_ai = verify(ai_file, n + 1, folder / "verify_ai", progress=opts.progress, restart_years=(year + n,))
    cycle_end = next(r for r in v_ai.restarts if f".{year + n:04d}-01-01" in r)
    refined_file = folder / f"{world.spec.name}_refined.elm.r.{year:04d}-01-01-00000.nc"
    refined = refine_spinup(
        ai_file, cycle_end, refined_file, params=str(world.folder / "clm_params.nc"), force=True
    )
    for h0 in (folder / "verify_ai").glob("*.elm.h0.*.nc"):  # read by the refine; gigabytes at 1 deg
        h0.unlink()
    step(f"{folder.name}: {n + 1} years from the refined restart")
    v_ref = verify(refined_file, n + 1, folder / "verify_refined", progress=opts.progress, history=False)
    ai_crit, ref_crit = ctsm_criteria(v_ai, n), ctsm_criteria(v_ref, n)
    return {
        "drifting_fraction_ai_alone": ai_crit["area_drifting"]["value"],
        "drifting_fraction_refined": ref_crit["area_drifting"]["value"],
        "ctsm_criteria": ref_crit,
        "ctsm_criteria_ai_alone": ai_crit,
        "nee_pgc_ai_alone": mean_nee(v_ai, n),
        "nee_pgc_refined": mean_nee(v_ref, n),
        "checks_ok": bool(spun.checks_ok and refined.checks_ok),
        "balance_failures": v_ai.balance_failures + v_ref.balance_failures,
        "spinup_seconds": round(spin_s, 1),
        "input_ranges": {k: v for k, v in spun.input_ranges.items() if not isinstance(v, (list, dict))},
    }


def reference_years(world: PreparedWorld, opts: TransferOptions) -> dict:
    """Years to CLM5's criterion of native and AD + native spin-ups of a random sample of
    the world's gridcells (kept in the world's folder)."""
    from elmai.apps.testbed.reference_spinups import reference_spinup

    path = world.folder / "reference_spinups.json"
    if path.exists():
        return json.loads(path.read_text())
    out = {"sample_cells": min(opts.reference_sample, world.ncell), "ad_years": AD_YEARS}
    for mode in ("native", "ad"):
        step(f"{mode} spin-up of {out['sample_cells']} random gridcells of {world.spec.name}")
        c = reference_spinup(
            mode,
            world.spec.resolution,
            opts.forcing_years,
            seed=world.spec.seed,
            ad_years=AD_YEARS,
            max_years=opts.reference_max_years,
            progress=opts.progress,
            params=world.spec.params(),
            warming=world.spec.warming,
            sample=opts.reference_sample,
            sample_seed=opts.seed,
        )
        out[mode] = c.years_to_criterion
        out[f"{mode}_years_run"] = c.years[-1] if c.years else 0
    path.write_text(json.dumps(out, indent=1))
    return out


def gridcell_years(world: PreparedWorld, refs: dict, trained_cells: int, opts: TransferOptions) -> dict:
    """Simulated gridcell-years of each route on this world. The AI route: the early run,
    the cycle before the refine, the verification cycle (+1 year), and the training
    targets: the trained-on cells spun up conventionally by AD + native (the cheaper
    route); the source worlds' targets (zero-shot) are a separate, amortised line. A
    reference that never met the criterion counts the years it ran (a lower bound)."""
    n = world.ncell
    ad_route = refs["ad"] if refs["ad"] is not None else refs["ad_years_run"]
    native = refs["native"] if refs["native"] is not None else refs["native_years_run"]
    route = (opts.early_years + opts.forcing_years + opts.forcing_years + 1) * n
    targets = trained_cells * ad_route
    return {
        "ai_route": route + targets,
        "ai_route_simulation": route,
        "training_targets": targets,
        "native": native * n,
        "ad": ad_route * n,
        # zero-shot's amortised share: the source worlds' targets, at this world's AD cost per cell
        "source_training_targets_amortised": opts.source_cells * ad_route,
        "native_met": refs["native"] is not None,
        "ad_met": refs["ad"] is not None,
    }
