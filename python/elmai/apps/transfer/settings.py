"""The transfer protocol's settings by name: (target world in protocol.TARGETS, kind of
training: zero-shot, few-shot or full, share of the target's cells trained on). Apart from
the protocol so that the command line lists them without importing the testbed."""

from __future__ import annotations

__all__ = ["SETTINGS"]

SETTINGS: dict[str, tuple[str, str, float]] = {
    "zero_shot_1deg": ("1deg", "zero", 0.0),
    "zero_shot_0p5deg": ("0p5deg", "zero", 0.0),
    "few_shot_1pct": ("1deg", "few", 0.01),
    "few_shot_5pct": ("1deg", "few", 0.05),
    "few_shot_20pct": ("1deg", "few", 0.20),
    "full_train": ("1deg", "full", 0.0),
    "unseen_params": ("params", "zero", 0.0),
}
