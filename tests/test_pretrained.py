"""The shipped pre-trained model's card: write_card records what the model is (sha256,
size, versions, inputs and their trained ranges), check_card finds a tampered model, a
changed input schema, a new sidecar format or elmai version and an oversized file; the
shipped folder matches its card once it is built; `elmai spinup` without --model uses it
or says how to build it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import elmai
import elmai.pretrained as pretrained
from elmai.cli import main
from elmai.errors import InputNotFoundError
from elmai.spinup.input_ranges import INPUT_MARGIN
from elmai.training.export import FORMAT, export

TRAINED_ON = {"case": "elmai testbed", "resolution": "10deg", "cells": 147, "years": 5}


@pytest.fixture
def folder(trained_small_model: Path, tmp_path: Path) -> Path:
    """A model exported here from the session's checkpoint, with its card."""
    out = tmp_path / "pretrained"
    export(trained_small_model.parent / "run" / "best.pt", out / "model.pt")
    pretrained.write_card(out, out / "model.pt", TRAINED_ON, None, "make pretrained")
    return out


def test_write_card_records_the_model(folder: Path) -> None:
    card = json.loads((folder / "model_card.json").read_text())
    assert card == pretrained.load_card(folder)
    model, sidecar = folder / "model.pt", json.loads((folder / "model.json").read_text())
    assert card["format"] == "elmai-model-card/1" and card["model_file"] == "model.pt"
    assert card["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert card["bytes"] == model.stat().st_size and card["elmai_version"] == elmai.__version__
    assert card["sidecar_format"] == sidecar["format"] == FORMAT
    assert card["input_order"] == sidecar["input_order"]
    assert card["inputs"] == [
        {k: i[k] for k in ("name", "dims", "shape", "units")} for i in sidecar["inputs"]
    ]
    assert card["input_ranges"] == sidecar["input_ranges"] and card["input_margin"] == INPUT_MARGIN
    assert card["trained_on"] == TRAINED_ON and card["transfer"] is None
    assert card["rebuild"] == "make pretrained"
    assert pretrained.check_card(folder) == []


def test_check_card_finds_what_no_longer_agrees(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, side = folder / "model.pt", folder / "model.json"
    good_model, good_side = model.read_bytes(), side.read_text()
    model.write_bytes(good_model + b"\0")  # tampered
    problems = pretrained.check_card(folder)
    assert any("sha256" in p for p in problems) and any("bytes" in p for p in problems)
    model.write_bytes(good_model)
    meta = json.loads(good_side)
    meta["inputs"][1]["shape"] = [-1, 11]  # one more static variable
    side.write_text(json.dumps(meta))
    assert any("input schema differs" in p and "static" in p for p in pretrained.check_card(folder))
    meta = json.loads(good_side)
    meta["format"] = "elmai-spinup-model/2"
    side.write_text(json.dumps(meta))
    assert any("sidecar format" in p for p in pretrained.check_card(folder))
    side.write_text(good_side)
    card = pretrained.load_card(folder)
    (folder / "model_card.json").write_text(json.dumps({**card, "elmai_version": "99.0.0"}))
    assert any("major.minor" in p for p in pretrained.check_card(folder))
    (folder / "model_card.json").write_text(json.dumps(card))
    monkeypatch.setattr(pretrained, "MAX_BYTES", 1000)
    assert any("limit" in p for p in pretrained.check_card(folder))
    monkeypatch.undo()
    assert pretrained.check_card(folder) == []
    (folder / "model_card.json").unlink()
    assert "no model card" in pretrained.check_card(folder)[0]


def test_missing_shipped_model_names_the_rebuild_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(pretrained, "MODEL_FILE", tmp_path / "spinup_testbed_2deg.pt")
    with pytest.raises(InputNotFoundError, match="make pretrained") as e:
        pretrained.default_model()
    assert "spinup_testbed_2deg.pt" in str(e.value)
    restart = tmp_path / "early.elm.r.0005-01-01-00000.nc"
    restart.write_bytes(b"")
    assert main(["spinup", "--restart", str(restart), "--out", str(tmp_path / "ai.nc")]) == 2
    assert "make pretrained" in capsys.readouterr().err


def test_spinup_without_model_uses_the_shipped_one(
    folder: Path, trained_small_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # the shipped folder stood in for by the test's: the CLI says which model and its data
    monkeypatch.setattr(pretrained, "FOLDER", folder)
    monkeypatch.setattr(pretrained, "MODEL_FILE", folder / "model.pt")
    early = trained_small_model.parent / "case" / "elmai_testbed.elm.r.0005-01-01-00000.nc"
    assert main(["spinup", "--restart", str(early), "--out", str(tmp_path / "ai.nc")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("model: the shipped pre-trained model.pt") and "resolution 10deg" in first


@pytest.mark.skipif(
    not (pretrained.FOLDER / "model_card.json").exists(),
    reason="shipped model not built yet (make pretrained)",
)
def test_the_shipped_model_matches_its_card(tmp_path: Path) -> None:
    card = pretrained.load_card()
    assert pretrained.check_card() == []
    assert card["model_file"] == pretrained.MODEL_FILE.name == pretrained.default_model().name
    assert card["input_ranges"] and card["trained_on"] and card["rebuild"]
    # the card still describes the model when copied elsewhere (what a wheel installs)
    for name in (card["model_file"], pretrained.MODEL_FILE.with_suffix(".json").name, "model_card.json"):
        shutil.copy(pretrained.FOLDER / name, tmp_path / name)
    assert pretrained.check_card(tmp_path) == []
