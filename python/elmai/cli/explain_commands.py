"""`elmai explain spinup|timeseries`: integrated gradients and SHAP, with plots."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    ex = sub.add_parser("explain", help="attributions (integrated gradients, SHAP) of a trained model")
    es = ex.add_subparsers(dest="explain_command", required=True)
    s = es.add_parser("spinup", help="the spin-up model: which inputs drive a predicted pool")
    s.add_argument("--model", required=True, help="best.pt of `elmai train`")
    s.add_argument("--dataset", required=True, help="the data set it was trained on")
    s.add_argument("--target", default="soil4c_vr", help="pool to explain (default soil4c_vr)")
    s.add_argument("--cells", type=int, default=64, help="held-out cells explained")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_spinup)
    t = es.add_parser("timeseries", help="an LSTM/transformer run: which drivers at which lags")
    t.add_argument("--run", required=True, help="output folder of `elmai timeseries train`")
    t.add_argument("--samples", type=int, default=256, help="test windows explained")
    t.add_argument("--out", required=True)
    t.set_defaults(func=cmd_timeseries)


def _explain(ex, out: Path, with_shap: bool, max_steps: int = 1024):
    from elmai.apps.explain.attributions import integrated_gradients, plot_groups, shap_values

    ig = integrated_gradients(ex.model, ex.inputs, ex.groups, max_steps=max_steps)
    attrs = [ig]
    if with_shap:
        half = len(ex.inputs[0]) // 2
        background = tuple(x[:half] for x in ex.inputs)
        attrs.append(shap_values(ex.model, tuple(x[half:] for x in ex.inputs), ex.groups, background))
    out.mkdir(parents=True, exist_ok=True)
    plot_groups(attrs, str(out / "attributions.png"), ex.label, ex.variables)
    rel = abs(ig.delta).max() / max(abs(ig.output_change).max(), 1e-12)
    summary = {
        "explained": ex.label,
        "ig_completeness_max_relative_error": float(rel),
        **{
            a.method: {"by_group": a.by_group(), **{g: a.by_variable(g, n) for g, n in ex.variables.items()}}
            for a in attrs
        },
    }
    (out / "attributions.json").write_text(json.dumps(summary, indent=2))
    for a in attrs:
        top = sorted(a.by_group().items(), key=lambda kv: -kv[1])
        print(f"{a.method}: " + ", ".join(f"{k} {v:.3g}" for k, v in top))
    print(f"IG completeness: attributions sum to f(x) - f(baseline) within {rel:.2e} (relative)")
    return ig


def cmd_spinup(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, model="file", dataset="file")
    from elmai.apps.explain.models import spinup_explainable

    ex = spinup_explainable(args.model, args.dataset, args.target, args.cells)
    _explain(ex, Path(args.out), with_shap=True)
    print(f"written: {args.out}/attributions.json, attributions.png")
    return 0


def cmd_timeseries(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, run="dir")
    from elmai.apps.explain.attributions import plot_lags
    from elmai.apps.explain.models import timeseries_explainable

    ex = timeseries_explainable(args.run, args.samples)
    out = Path(args.out)
    # long recurrences saturate gates, so the path integral converges slowly: fewer steps
    ig = _explain(ex, out, with_shap=True, max_steps=256)
    plot_lags(ig, "window", ex.variables["window"], str(out / "lags.png"), ex.label)
    print(f"written: {out}/attributions.json, attributions.png, lags.png")
    return 0
