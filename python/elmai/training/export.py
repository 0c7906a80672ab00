"""Export a trained spin-up model to TorchScript plus a JSON sidecar, for the C++ runner
(`elmai.Model`, `elmai spinup`) and the Fortran bridge.

The TorchScript file takes and returns physical units (the normalisation is inside); the
sidecar names every input and output, its shape per gridcell, units, the variables along
each axis and the normalisation, so a caller can assemble inputs without Python.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from elmai.data.features import FORCING_VARS, PFT_POOLS, SOIL_VARS, STATIC_VARS, TRAIT_VARS
from elmai.io.elm_names import NATPFT, NATPFT_NAMES, NLEVDECOMP
from elmai.models.spinup_transformer import INPUT_NAMES, OUTPUT_NAMES, SpinupTransformer

FORMAT = "elmai-spinup-model/1"


def example_inputs(batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random inputs in plausible physical ranges (for tracing and parity checks)."""
    g = torch.Generator().manual_seed(seed)
    forcing = torch.rand(batch, 12, len(FORCING_VARS), generator=g)
    forcing = forcing * torch.tensor([60.0, 1e-4, 300.0, 200.0, 0.02, 2e4, 5.0]) + torch.tensor(
        [240.0, 0.0, 0.0, 150.0, 0.0, 8e4, 0.5]
    )
    static = torch.rand(batch, len(STATIC_VARS), generator=g)
    weight = torch.rand(batch, NATPFT, generator=g) * (torch.rand(batch, NATPFT, generator=g) > 0.6)
    weight[:, 1] += 0.1  # at least one PFT
    weight = weight / weight.sum(dim=1, keepdim=True)
    pft = torch.rand(batch, NATPFT, len(PFT_POOLS), generator=g) * 500.0
    soil = torch.rand(batch, NLEVDECOMP, len(SOIL_VARS), generator=g) * 2000.0
    rate = torch.rand(batch, NLEVDECOMP, len(SOIL_VARS), generator=g) * 10.0
    return forcing, static, weight, pft, soil, rate


def sidecar(model: SpinupTransformer, extra: dict | None = None) -> dict:
    def tensor(name: str, dims: list[str], units: str, axes: dict[str, list[str]]) -> dict:
        shape = [-1] + [
            {
                "cell": -1,
                "month": 12,
                "forcing_var": len(FORCING_VARS),
                "static_var": len(STATIC_VARS),
                "pft": NATPFT,
                "pft_pool": len(PFT_POOLS),
                "level": NLEVDECOMP,
                "soil_pool": len(SOIL_VARS),
            }[d]
            for d in dims
        ]
        return {
            "name": name,
            "dims": ["cell", *dims],
            "shape": shape,
            "dtype": "float32",
            "units": units,
            "axes": axes,
        }

    pft_axes = {"pft": list(NATPFT_NAMES), "pft_pool": list(PFT_POOLS)}
    soil_axes = {"level": list(range(1, NLEVDECOMP + 1)), "soil_pool": list(SOIL_VARS)}
    norm = {}
    for name, buf in model.named_buffers():
        if name.endswith(("_mean", "_std")):
            group, stat = name.rsplit("_", 1)
            norm.setdefault(group, {"space": "log1p" if group.startswith(("pft_", "soil_")) else "linear"})
            norm[group][stat] = buf.tolist()
    return {
        "format": FORMAT,
        "inputs": [
            tensor("forcing", ["month", "forcing_var"], "datm units", {"forcing_var": list(FORCING_VARS)}),
            tensor("static", ["static_var"], "mixed", {"static_var": list(STATIC_VARS)}),
            tensor("pft_weight", ["pft"], "1", {"pft": list(NATPFT_NAMES)}),
            tensor("pft_early", ["pft", "pft_pool"], "gC/m2", pft_axes),
            tensor("soil_early", ["level", "soil_pool"], "gC/m3", soil_axes),
            tensor("soil_rate", ["level", "soil_pool"], "1/yr", soil_axes),
        ],
        "outputs": [
            tensor("pft_pools", ["pft", "pft_pool"], "gC/m2", pft_axes),
            tensor("soil_pools", ["level", "soil_pool"], "gC/m3", soil_axes),
        ],
        "input_order": list(INPUT_NAMES),
        "output_order": list(OUTPUT_NAMES),
        "trait_vars": list(TRAIT_VARS),
        "normalisation": norm,
        **(extra or {}),
    }


def export(model_path: str | Path, out: str | Path, tolerance: float = 1e-5) -> dict:
    """Write `out` (TorchScript) and `out` with .json (sidecar); returns the sidecar.
    Raises if the exported and eager models differ by more than `tolerance` (relative)."""
    from elmai.training.trainer import load_model

    model, cfg = load_model(model_path)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # the GRU's hidden-size check is traced as a constant: parity below checks other sizes
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, example_inputs(8), check_trace=False)
    worst = parity(model, traced)
    if worst > tolerance:
        raise RuntimeError(f"exported model differs from the eager one by {worst:.2e} (> {tolerance:g})")
    tmp = out.with_name(out.name + ".tmp")
    traced.save(str(tmp))
    tmp.replace(out)
    summary_file = Path(model_path).parent / "summary.json"
    extra = {"parity_max_rel_diff": worst, "config": cfg.to_dict()}
    if summary_file.exists():
        extra["training"] = json.loads(summary_file.read_text())
    meta = sidecar(model, extra)
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return meta


def parity(model: torch.nn.Module, exported: torch.jit.ScriptModule) -> float:
    """Largest relative difference between eager and exported outputs on batches of
    several sizes (not the traced one)."""
    worst = 0.0
    with torch.no_grad():
        for batch, seed in ((1, 1), (37, 2), (300, 3)):
            x = example_inputs(batch, seed)
            for a, b in zip(model(*x), exported(*x), strict=True):
                scale = torch.clamp(a.abs(), min=1e-3)
                worst = max(worst, float(((a - b).abs() / scale).max()))
    return worst


def load_sidecar(model_file: str | Path) -> dict:
    path = Path(model_file).with_suffix(".json")
    if not path.exists():
        raise FileNotFoundError(f"no sidecar '{path}' beside the model (written by `elmai export`)")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"'{path}' is not an elmai spin-up model sidecar (format {meta.get('format')!r})")
    return meta


__all__ = ["export", "parity", "sidecar", "load_sidecar", "example_inputs"]
