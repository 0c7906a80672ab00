"""Checkpoints of the foundation model: one torch file holding the model's full state,
the optimiser's, the step, the loss history and what the model is (size, variables,
grid, normalisation), written to a temporary name and renamed, with a model card
(`<checkpoint>.card.json`) beside it. A full (unsharded) state is what every engine
saves and loads, so a run resumes under another engine or rank count."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from elmai.apps.foundation.model import FoundationViT
from elmai.apps.foundation.sizes import ModelConfig
from elmai.errors import ElmaiFileError, ModelFileError, ShapeError

__all__ = ["card_path", "load_checkpoint", "load_model", "save_checkpoint"]

FORMAT = "elmai-foundation-checkpoint/1"


def card_path(path: str | os.PathLike[str]) -> Path:
    return Path(f"{path}.card.json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike[str], blob: dict[str, Any], card: dict[str, Any]) -> Path:
    """Write `blob` (model/optimizer state, meta) and its model card atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(blob | {"format": FORMAT}, tmp)
    os.replace(tmp, path)
    import elmai

    full = {
        "format": "elmai-foundation-card/1",
        "checkpoint": path.name,
        "sha256": _sha256(path),
        "bytes": path.stat().st_size,
        "elmai_version": str(elmai.__version__),
        "torch_version": str(torch.__version__),
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "size": blob["size"],
        "parameters": blob["parameters"],
        "config": blob["config"],
        "grid": list(blob["grid"]),
        "variables": blob["variables"],
        "step": blob["step"],
    } | card
    ctmp = card_path(path).with_name(f".{card_path(path).name}.{os.getpid()}.tmp")
    ctmp.write_text(json.dumps(full, indent=2))
    os.replace(ctmp, card_path(path))
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ElmaiFileError(f"checkpoint '{path}' does not exist")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a truncated or foreign file
        raise ModelFileError(f"checkpoint '{path}' cannot be read: {type(e).__name__}: {e}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ModelFileError(f"'{path}' is not an elmai foundation checkpoint (want format {FORMAT})")
    return blob


def check_state(
    path: str | os.PathLike[str], model: torch.nn.Module, state: dict[str, torch.Tensor], size: str
) -> None:
    """A one-line error naming the file, the tensor and both shapes when `state` is of
    another size than `model`."""
    own = model.state_dict()
    for name, tensor in own.items():
        if name not in state:
            raise ShapeError(f"checkpoint '{path}': no tensor '{name}' that model size '{size}' needs")
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise ShapeError(
                f"checkpoint '{path}': tensor '{name}' has shape {tuple(state[name].shape)}, model size "
                f"'{size}' expects {tuple(tensor.shape)} (a checkpoint of another size)"
            )


def load_model(path: str | os.PathLike[str], size: str | None = None) -> tuple[FoundationViT, dict[str, Any]]:
    """The model a checkpoint holds (of `size` when given: another size is an error)."""
    blob = load_checkpoint(path)
    from elmai.apps.foundation.sizes import size_config

    if size is not None:
        cfg = size_config(size, blob["config"]["patch"])
    else:
        cfg = ModelConfig(**blob["config"])
    model = FoundationViT(cfg, blob["variables"], tuple(blob["grid"]))
    check_state(path, model, blob["model"], size or blob["size"])
    model.load_state_dict(blob["model"])
    return model, blob
