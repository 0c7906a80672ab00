"""`elmai foundation` end to end on a tiny corpus: strict configs, one-line errors, the
resolved config and model card, and the parallel engines under `mpirun -n 2` (gloo)
against one process: the global batch's loss over the first 20 steps within 1e-5
relative for DDP and FSDP2 (fully_shard); tensor parallel (DTensor) and DeepSpeed ZeRO-3
in the slow tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.mpi_helpers import ELMAI, mpirun

TOLERANCE = 1e-5  # relative, per step: float32 reductions in another order


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ELMAI, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )


def _yaml(path: Path, **values: object) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fcli")
    cfg = _yaml(root / "corpus.yaml", out="corpus", resolution=10.0, worlds=2, years=1, spin_years=0)
    proc = _cli("foundation", "build-corpus", "--config", str(cfg), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "2 worlds x 12 months x 37 channels on 18x36" in proc.stdout and "MB, built in" in proc.stdout
    assert (root / "corpus" / "resolved_config.yaml").is_file()
    return root / "corpus"


def _pretrain_config(root: Path, corpus: Path, name: str, engine: str, steps: int = 20) -> Path:
    return _yaml(
        root / f"{name}.yaml",
        corpus=str(corpus),
        out=str(root / name),
        size="tiny",
        patch=6,
        steps=steps,
        batch=4,
        engine=engine,
        checkpoint_every=10,
        lr=3e-3,
        warmup=20,
    )


def test_unknown_key_and_bad_values_are_one_line_errors(corpus: Path, tmp_path: Path) -> None:
    from elmai.apps.foundation.config import PretrainConfig, load
    from elmai.errors import ConfigError

    bad = _yaml(tmp_path / "bad.yaml", corpus=str(corpus), out=str(tmp_path / "p"), size="tiny", bogus=1)
    proc = _cli("foundation", "pretrain", "--config", str(bad))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "unknown key 'bogus'" in proc.stderr and "allowed: batch" in proc.stderr
    bad = _yaml(tmp_path / "size.yaml", corpus=str(corpus), out=str(tmp_path / "p"), size="vit9000")
    with pytest.raises(ConfigError, match="size must be one of tiny, vit1m"):
        load(PretrainConfig, bad)
    bad = _yaml(tmp_path / "steps.yaml", corpus=str(corpus), out=str(tmp_path / "p"), steps="many")
    with pytest.raises(ConfigError, match="steps must be an integer, not str 'many'"):
        load(PretrainConfig, bad)


def test_engines_under_mpirun_equal_one_process(corpus: Path, tmp_path: Path) -> None:
    import os
    import sys

    import torch

    from elmai.apps.foundation.corpus import Corpus
    from elmai.apps.foundation.pretrain import PretrainOptions, pretrain
    from elmai.ml.distributed import mpirun_command
    from tests.foundation_mpi_engines import TINY

    torch.set_num_threads(1)
    ref = pretrain(Corpus.open(corpus), tmp_path / "single", PretrainOptions(**TINY), progress=False)[
        "losses"
    ]
    assert len(ref) == 20 and all(0 < v < 10 for v in ref)
    script = Path(__file__).with_name("foundation_mpi_engines.py")
    cmd, env = mpirun_command(2)
    cmd = [*cmd[:-1], sys.executable, str(script), str(corpus), str(tmp_path), "ddp", "fsdp"]
    env = env | {"PYTHONPATH": os.pathsep.join([str(script.parents[1]), env.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for engine in ("ddp", "fsdp"):
        s = json.loads((tmp_path / engine / "pretrain_summary.json").read_text())
        assert s["ranks"] == 2 and s["engine"] == engine
        worst = max(abs(a - b) / abs(b) for a, b in zip(s["losses"], ref, strict=True))
        assert worst < TOLERANCE, (engine, worst)
        # only rank 0 wrote: one checkpoint, one card, no temporary files
        names = sorted(p.name for p in (tmp_path / engine).iterdir())
        assert names == ["checkpoint.pt", "checkpoint.pt.card.json", "pretrain_summary.json"]


@pytest.mark.slow
def test_cross_engine_resume_finetune_and_evaluate(corpus: Path, tmp_path: Path) -> None:
    _cli(
        "foundation",
        "pretrain",
        "--config",
        str(_pretrain_config(tmp_path, corpus, "single", "single")),
        "--quiet",
    )
    ref = json.loads((tmp_path / "single" / "pretrain_summary.json").read_text())["losses"]
    # 10 steps under FSDP, then on to 20 under DDP from the same (full) checkpoint: the
    # warm-up spans the 20 steps, so the schedule is the uninterrupted run's
    mpirun(
        2,
        "foundation",
        "pretrain",
        "--config",
        str(_pretrain_config(tmp_path, corpus, "cross", "fsdp", 10)),
        "--quiet",
    )
    mpirun(
        2,
        "foundation",
        "pretrain",
        "--config",
        str(_pretrain_config(tmp_path, corpus, "cross", "ddp", 20)),
        "--quiet",
    )
    cross = json.loads((tmp_path / "cross" / "pretrain_summary.json").read_text())["losses"]
    assert len(cross) == 20 and max(abs(a - b) / abs(b) for a, b in zip(cross, ref, strict=True)) < TOLERANCE
    ft = _yaml(
        tmp_path / "ft.yaml",
        checkpoint=str(tmp_path / "single" / "checkpoint.pt"),
        corpus=str(corpus),
        out=str(tmp_path / "ft"),
        steps=2,
        batch=2,
        train_worlds=[0],
        test_worlds=[1],
    )
    proc = _cli("foundation", "finetune", "--config", str(ft))
    assert proc.returncode == 0, proc.stderr
    assert "state: RMSE" in proc.stdout and (tmp_path / "ft" / "finetuned.pt.card.json").is_file()
    card = json.loads((tmp_path / "ft" / "finetuned.pt.card.json").read_text())
    assert card["fine_tuned"]["task"] == "forecast" and card["size"] == "tiny"
    ev = _yaml(
        tmp_path / "ev.yaml",
        checkpoint=str(tmp_path / "ft" / "finetuned.pt"),
        corpus=str(corpus),
        out=str(tmp_path / "ev"),
        test_worlds=[1],
    )
    proc = _cli("foundation", "evaluate", "--config", str(ev))
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "ev" / "evaluate_result.json").read_text())
    assert set(result["groups"]) == {"forcing", "flux", "state"}
    ev = _yaml(
        tmp_path / "ev2.yaml",
        checkpoint=str(tmp_path / "none.pt"),
        corpus=str(corpus),
        out=str(tmp_path / "e"),
    )
    proc = _cli("foundation", "evaluate", "--config", str(ev))
    assert proc.returncode == 2 and "none.pt' does not exist" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["tp", "deepspeed"])
def test_tensor_parallel_and_zero3_equal_one_process(engine: str, corpus: Path, tmp_path: Path) -> None:
    if engine == "deepspeed":
        pytest.importorskip("deepspeed")
    _cli(
        "foundation",
        "pretrain",
        "--config",
        str(_pretrain_config(tmp_path, corpus, "single", "single")),
        "--quiet",
    )
    ref = json.loads((tmp_path / "single" / "pretrain_summary.json").read_text())["losses"]
    mpirun(
        2,
        "foundation",
        "pretrain",
        "--config",
        str(_pretrain_config(tmp_path, corpus, engine, engine)),
        "--quiet",
    )
    s = json.loads((tmp_path / engine / "pretrain_summary.json").read_text())["losses"]
    assert max(abs(a - b) / abs(b) for a, b in zip(s, ref, strict=True)) < TOLERANCE
