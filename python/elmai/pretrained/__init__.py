"""The pre-trained spin-up model elmai ships, and its model card.

This folder holds the model `elmai spinup` uses when no --model is given:
spinup_testbed_2deg.pt (TorchScript from `elmai export`), spinup_testbed_2deg.json (its
sidecar) and model_card.json, which says what the model is (sha256, size, the elmai
version and sidecar format it was exported with, its inputs and their trained ranges),
what it was trained on, how it transfers, and the command that rebuilds it
(`make pretrained`). check_card tells whether the three files still agree: a model
replaced without rebuilding its card, a sidecar whose inputs changed, or an elmai whose
sidecar format or major.minor version moved on since the model was exported.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from elmai.errors import InputNotFoundError, InvalidArgumentError, ModelFileError

FOLDER = Path(__file__).resolve().parent
MODEL_FILE = FOLDER / "spinup_testbed_2deg.pt"
CARD_NAME = "model_card.json"
# the full training checkpoint beside the shipped model (few-shot fine-tuning starts from it)
CHECKPOINT_NAME = "spinup_testbed_2deg_checkpoint.pt"
CARD_FORMAT = "elmai-model-card/1"
REBUILD = "make pretrained"
MAX_BYTES = 20_000_000  # the shipped model stays small enough for the wheel (20 MB)
# what the card copies of each sidecar input: enough to assemble inputs and spot a change
INPUT_KEYS = ("name", "dims", "shape", "units")


def default_model() -> Path:
    """The shipped model file; a clear error when it has not been built into this copy."""
    if not MODEL_FILE.is_file():
        raise InputNotFoundError(
            f"the shipped pre-trained model '{MODEL_FILE}' is missing: build it with `{REBUILD}` "
            "(in the elmai checkout), or give a model with --model"
        )
    return MODEL_FILE


def _folder(folder: str | os.PathLike[str] | None) -> Path:
    return FOLDER if folder is None else Path(folder)


def load_card(folder: str | os.PathLike[str] | None = None) -> dict:
    """model_card.json of `folder` (default: the shipped one)."""
    path = _folder(folder) / CARD_NAME
    if not path.is_file():
        raise InputNotFoundError(f"no model card '{path}' (written by `{REBUILD}`)")
    try:
        card = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ModelFileError(f"model card '{path}' is not JSON: {e}") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        got = card.get("format") if isinstance(card, dict) else None
        raise ModelFileError(f"'{path}' is not an elmai model card (format {got!r}, want {CARD_FORMAT!r})")
    return card


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inputs(sidecar: dict) -> list[dict]:
    return [{k: spec.get(k) for k in INPUT_KEYS} for spec in sidecar.get("inputs", [])]


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(str(version).split("+")[0].split(".")[:2])


def write_card(
    folder: str | os.PathLike[str],
    model_file: str | os.PathLike[str],
    trained_on: dict,
    transfer: dict | None,
    rebuild: str,
) -> dict:
    """Write `folder`/model_card.json for `model_file` (in `folder`, its sidecar beside it)
    and return the card. `trained_on`: the data the model learnt from (case, resolution,
    cells, years, ...); `transfer`: how it did on a case it did not see (None: not tried);
    `rebuild`: the command that rebuilds model and card."""
    from elmai import __version__
    from elmai.artifact import load_sidecar
    from elmai.spinup.input_ranges import INPUT_MARGIN

    folder = Path(folder)
    model = Path(model_file)
    if not model.is_absolute() and not model.exists():
        model = folder / model
    if not model.is_file():
        raise InputNotFoundError(f"model '{model}' does not exist (from `elmai export`)")
    if model.resolve().parent != folder.resolve():
        # the card names the model file only: check_card looks for it beside the card
        raise InvalidArgumentError(f"model '{model}' is not in the card's folder '{folder}'")
    meta = load_sidecar(model)
    card = {
        "format": CARD_FORMAT,
        "model_file": model.name,
        "sha256": _sha256(model),
        "bytes": model.stat().st_size,
        "elmai_version": __version__,
        "sidecar_format": meta.get("format"),
        "input_order": list(meta.get("input_order", [])),
        "inputs": _inputs(meta),
        "input_ranges": meta.get("input_ranges"),
        "input_margin": INPUT_MARGIN,
        "trained_on": trained_on,
        "transfer": transfer,
        "rebuild": rebuild,
    }
    tmp = folder / f".{CARD_NAME}.tmp"
    tmp.write_text(json.dumps(card, indent=1) + "\n")
    tmp.replace(folder / CARD_NAME)
    return card


def check_card(folder: str | os.PathLike[str] | None = None) -> list[str]:
    """What no longer agrees between the card, the model file, its sidecar and this elmai
    (an empty list: all is well)."""
    from elmai import __version__
    from elmai.artifact import FORMAT

    folder = _folder(folder)
    try:
        card = load_card(folder)
    except (InputNotFoundError, ModelFileError) as e:
        return [str(e)]
    model = folder / str(card.get("model_file", ""))
    if not card.get("model_file") or not model.is_file():
        return [f"the card's model file '{model}' does not exist (rebuild: {card.get('rebuild', REBUILD)})"]
    problems = []
    size = model.stat().st_size
    if size > MAX_BYTES:
        problems.append(f"'{model.name}' is {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:g} MB limit")
    if size != card.get("bytes"):
        problems.append(f"'{model.name}' is {size} bytes, the card says {card.get('bytes')}")
    sha = _sha256(model)
    if sha != card.get("sha256"):
        problems.append(f"sha256 of '{model.name}' is {sha}, the card says {card.get('sha256')}")
    sidecar_path = model.with_suffix(".json")
    try:
        meta = json.loads(sidecar_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        return [*problems, f"sidecar '{sidecar_path}' cannot be read: {e}"]
    if meta.get("format") != card.get("sidecar_format"):
        problems.append(
            f"sidecar format {meta.get('format')!r} differs from the card's {card.get('sidecar_format')!r}"
        )
    if card.get("sidecar_format") != FORMAT:
        problems.append(
            f"the card's sidecar format {card.get('sidecar_format')!r} is not this elmai's {FORMAT!r}"
        )
    if list(meta.get("input_order", [])) != card.get("input_order"):
        problems.append(
            f"input order differs: sidecar {meta.get('input_order')}, card {card.get('input_order')}"
        )
    side_inputs = _inputs(meta)
    if side_inputs != card.get("inputs"):
        changed = [
            a.get("name") for a, b in zip(side_inputs, card.get("inputs") or [], strict=False) if a != b
        ]
        if len(side_inputs) != len(card.get("inputs") or []):
            changed.append(f"{len(side_inputs)} inputs vs {len(card.get('inputs') or [])}")
        problems.append(f"input schema differs between sidecar and card: {', '.join(map(str, changed))}")
    if meta.get("input_ranges") != card.get("input_ranges"):
        problems.append("input_ranges differ between sidecar and card")
    if _major_minor(card.get("elmai_version", "")) != _major_minor(__version__):
        problems.append(
            f"the model was carded with elmai {card.get('elmai_version')}, this is elmai {__version__} "
            f"(major.minor differ: rebuild with `{card.get('rebuild', REBUILD)}`)"
        )
    return problems


__all__ = [
    "CARD_FORMAT",
    "FOLDER",
    "MAX_BYTES",
    "MODEL_FILE",
    "REBUILD",
    "check_card",
    "default_model",
    "load_card",
    "write_card",
]
