"""Export a trained spin-up model to TorchScript (.pt) or a torch.export / AOTInductor
package (.pt2), plus a JSON sidecar, for the C++ runner (`elmai.Model`, `elmai spinup`)
and the Fortran bridge.

The .pt2 path never touches torch.jit (TorchScript is deprecated): torch.export with a
dynamic batch dimension, then torch._inductor.aoti_compile_and_package, which compiles
the model to C++ kernels for this machine's CPU (or GPU). elmai writes its own input
description into the package metadata (names, dtypes, shapes with -1 for the batch),
which the C++ backend checks every call against.

The TorchScript file takes and returns physical units (the normalisation is inside); the
sidecar names every input and output, its shape per gridcell, units, the variables along
each axis and the normalisation, so a caller can assemble inputs without Python. It also
carries "input_ranges" (the training cells' min and max of every input feature, in the
space named per input) when the checkpoint records them: `elmai spinup` checks a case
against them (elmai.spinup.input_ranges).
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from elmai.artifact import FORMAT, load_sidecar, sidecar_path
from elmai.data.features import FORCING_VARS, PFT_POOLS, SOIL_VARS, STATIC_VARS, TRAIT_VARS
from elmai.errors import RunError
from elmai.io.elm_names import NATPFT, NATPFT_NAMES, NLEVDECOMP
from elmai.models.spinup_transformer import INPUT_NAMES, OUTPUT_NAMES, SpinupTransformer


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


FORMATS = ("torchscript", "pt2")


def _dtype_name(t: torch.Tensor) -> str:
    if t.dtype not in (torch.float32, torch.float64):
        raise RunError(f"example input has dtype {t.dtype}; elmai models take float32 or float64")
    return "float32" if t.dtype == torch.float32 else "float64"


def _output_names(result: object) -> list[str]:
    if isinstance(result, dict):
        return [str(k) for k in result]
    if isinstance(result, (tuple, list)):
        return [f"output{i}" for i in range(len(result))]
    return ["output0"]


def export_pt2(
    module: torch.nn.Module,
    example: Sequence[torch.Tensor],
    out: str | Path,
    input_names: Sequence[str] | None = None,
    batch_max: int | None = None,
) -> Path:
    """Compile `module` with torch.export + AOTInductor into the package `out` (.pt2).

    Dimension 0 of every input is the batch and is dynamic (it must be the same size for
    all inputs); every other dimension is fixed at the example's size, as is the dtype.
    Never uses torch.jit. Returns `out`; the package is written beside it first and moved
    into place, so a failed compile leaves no partial file."""
    out = Path(out)
    if out.suffix != ".pt2":
        raise RunError(f"a torch.export package must be named *.pt2, not '{out.name}'")
    module = module.eval()
    example = tuple(example)
    names = list(input_names or list(inspect.signature(module.forward).parameters))
    if len(names) != len(example):
        raise RunError(f"{len(names)} input names {names} for {len(example)} example inputs")
    batch = torch.export.Dim("batch", min=1, max=batch_max or 2**31 - 2)
    dynamic = tuple({0: batch} for _ in example)
    with torch.no_grad():
        outputs = _output_names(module(*example))
        program = torch.export.export(module, example, dynamic_shapes=dynamic, strict=False)
    metadata = {
        "elmai_input_names": ",".join(names),
        "elmai_input_dtypes": ",".join(_dtype_name(t) for t in example),
        "elmai_input_shapes": ";".join("x".join(["-1", *(str(d) for d in t.shape[1:])]) for t in example),
        "elmai_output_names": ",".join(outputs),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp.pt2")
    try:
        torch._inductor.aoti_compile_and_package(
            program,
            package_path=str(tmp),
            # dynamic_threads: parallel kernels use the caller's thread count at run time
            # (elmai_model_load nthreads / set_num_threads), not this machine's core count
            inductor_configs={"aot_inductor.metadata": metadata, "cpp.dynamic_threads": True},
        )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def load_pt2(path: str | Path):
    """The package as a Python callable (torch._inductor.aoti_load_package), for parity checks."""
    return torch._inductor.aoti_load_package(str(path))


# Parity tolerances (relative, |a - b| / max(|a|, 1e-3)). A TorchScript trace runs the
# eager kernels: identical results. AOTInductor fuses and reorders float32 arithmetic;
# the pools are expm1 of log-space values, so a pool near zero (0.005 gC/m2) carries the
# log-space rounding (~1e-6 absolute) whole: measured 2.4e-4 at worst on the test model,
# with 99.97% of values within 1e-5 (eager vs torch.export alone: 8e-6).
PARITY_TOLERANCE = {"torchscript": 1e-5, "pt2": 1e-3}


def export(
    model_path: str | Path, out: str | Path, tolerance: float | None = None, format: str | None = None
) -> dict:
    """Write `out` (TorchScript .pt, or a torch.export/AOTInductor package .pt2) and `out`
    with .json (sidecar); returns the sidecar. `format` ("torchscript" or "pt2") defaults
    to what the suffix of `out` says. Raises if the exported and eager models differ by
    more than `tolerance` (relative; default PARITY_TOLERANCE[format]) on batches of 1,
    37 and 300."""
    from elmai.training.trainer import load_model

    out = Path(out)
    if format is None:
        format = "pt2" if out.suffix == ".pt2" else "torchscript"
    if format not in FORMATS:
        raise RunError(f"unknown export format {format!r}; choose one of {FORMATS}")
    if format == "pt2" and out.suffix != ".pt2":
        raise RunError(f"--format pt2 writes a .pt2 package; name it '{out.with_suffix('.pt2').name}'")
    if tolerance is None:
        tolerance = PARITY_TOLERANCE[format]
    model, cfg = load_model(model_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "pt2":
        export_pt2(model, example_inputs(8), out, input_names=list(INPUT_NAMES))
        worst = parity(model, load_pt2(out))
        if worst > tolerance:
            out.unlink(missing_ok=True)
            raise RunError(f"exported model differs from the eager one by {worst:.2e} (> {tolerance:g})")
        return _write_sidecar(model, cfg, model_path, out, worst, "pt2")
    with torch.no_grad(), warnings.catch_warnings():
        # the GRU's hidden-size check is traced as a constant: parity below checks other sizes
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, example_inputs(8), check_trace=False)
    worst = parity(model, traced)
    if worst > tolerance:
        raise RunError(f"exported model differs from the eager one by {worst:.2e} (> {tolerance:g})")
    tmp = out.with_name(out.name + ".tmp")
    traced.save(str(tmp))
    tmp.replace(out)
    return _write_sidecar(model, cfg, model_path, out, worst, "torchscript")


def _write_sidecar(model, cfg, model_path: str | Path, out: Path, worst: float, fmt: str) -> dict:
    summary_file = Path(model_path).parent / "summary.json"
    extra = {"parity_max_rel_diff": worst, "config": cfg.to_dict(), "model_format": fmt}
    if summary_file.exists():
        extra["training"] = json.loads(summary_file.read_text())
    from elmai.training.trainer import checkpoint_input_ranges

    ranges = checkpoint_input_ranges(model_path)
    if ranges is not None:
        # the space each input's min/max is in is named per input ("space": log1p or linear)
        extra["input_ranges"] = ranges
    meta = sidecar(model, extra)
    # one sidecar per model: a .pt and a .pt2 of the same checkpoint are both listed
    path = sidecar_path(out)
    artifacts = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError:
            old = {}
        if old.get("config") == meta["config"] and old.get("normalisation") == meta["normalisation"]:
            artifacts = dict(old.get("artifacts") or {})
    artifacts[fmt] = {"file": out.name, "parity_max_rel_diff": worst}
    meta["artifacts"] = artifacts
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(path)
    return meta


def parity(model: torch.nn.Module, exported) -> float:
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


__all__ = [
    "export",
    "export_pt2",
    "load_pt2",
    "parity",
    "sidecar",
    "load_sidecar",
    "example_inputs",
    "FORMAT",
]
