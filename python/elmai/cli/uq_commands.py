"""`elmai uq emulate train|sobol|ozark` and `elmai uq calibrate`: emulators of parameter
ensembles, their sensitivity indices, and parameter posteriors by DBUQ and MCMC."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np



def register(sub: argparse._SubParsersAction) -> None:
    em = sub.add_parser("emulate", help="emulators of parameter ensembles (PCA-reduced or full)")
    es = em.add_subparsers(dest="emulate_command", required=True)
    t = es.add_parser("train", help="fit an emulator on an ensemble (launch with mpirun -n N for DDP)")
    t.add_argument("--ensemble", required=True, help="ensemble.nc (elmai testbed ensemble, or emulate ozark)")
    t.add_argument("--output", help="output variable (default: the file's first, e.g. GPP)")
    t.add_argument("--out", required=True, help="folder: emulator.pt (TorchScript), emulator.json, fit.png")
    t.add_argument("--full", action="store_true", help="no PCA reduction: the network predicts every output")
    t.add_argument("--variance", type=float, default=0.999, help="variance the kept components explain")
    t.add_argument(
        "--runs", type=int, help="train on the first N members only (default: all but the test ones)"
    )
    t.add_argument("--test", type=int, default=0, help="hold out the last N members to score the emulator")
    t.add_argument("--epochs", type=int, default=3000)
    t.add_argument("--hidden", type=int, default=64)
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="reuse an --out folder that holds another emulator (its resolved_config.yaml differs)",
    )
    t.set_defaults(func=cmd_train)

    s = es.add_parser("sobol", help="Sobol indices (S1, ST) of each parameter on an emulator (SALib)")
    s.add_argument("--emulator", required=True, help="emulator.pt")
    s.add_argument("--ensemble", help="ensemble.nc: with cell areas, indices of global totals per year")
    s.add_argument("--n", type=int, default=1024, help="base samples (power of 2; cost n x (nparam + 2))")
    s.add_argument("--out", required=True, help="folder: sobol.json, sobol.png")
    s.set_defaults(func=cmd_sobol)

    oz = es.add_parser(
        "ozark", help="write the Missouri Ozark ELM ensemble (GenAI4UQ .npy files) as ensemble.nc"
    )
    oz.add_argument("--data", required=True, help="folder with InputPara.npy and Observations.npy")
    oz.add_argument("--out", required=True, help="ensemble.nc to write")
    oz.set_defaults(func=cmd_ozark)

    iv = sub.add_parser("intervals", help="PI3NN prediction intervals for every pool of a spin-up model")
    iv.add_argument("--model", required=True, help="best.pt of `elmai train`")
    iv.add_argument("--dataset", required=True, help="its data set (train/valid/test cells)")
    iv.add_argument("--split", choices=("random", "block"), help="default: the model's")
    iv.add_argument("--level", type=float, default=0.95)
    iv.add_argument("--epochs", type=int, default=60)
    iv.add_argument("--out", required=True, help="folder: intervals.json")
    iv.set_defaults(func=cmd_intervals)

    c = sub.add_parser(
        "calibrate", help="parameter posterior for an observation: DBUQ and MCMC on an emulator"
    )
    c.add_argument("--emulator", required=True, help="emulator.pt")
    obs = c.add_mutually_exclusive_group(required=True)
    obs.add_argument("--obs", help="observations: .npy or text, one value per emulator output")
    obs.add_argument("--member", type=int, help="synthetic case: this ensemble member's outputs plus noise")
    c.add_argument("--ensemble", help="ensemble.nc (needed with --member)")
    c.add_argument("--sigma", type=float, required=True, help="observation noise (output units)")
    c.add_argument("--samples", type=int, default=2000, help="posterior samples (and MCMC's target ESS)")
    c.add_argument(
        "--joint",
        type=int,
        default=10000,
        help="prior draws (and their emulator outputs) DBUQ learns from; raise it when warned",
    )
    c.add_argument("--seed", type=int, default=0)
    c.add_argument(
        "--out", required=True, help="folder: posterior.npz, calibration.json, posterior.png, predictive.png"
    )
    c.set_defaults(func=cmd_calibrate)


def cmd_intervals(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, model="file", dataset="file")
    from dataclasses import asdict

    from elmai.apps.uq.spinup_intervals import spinup_intervals
    from elmai.data import load
    from elmai.training.evaluate import predict
    from elmai.training.trainer import load_model

    model, cfg = load_model(args.model)
    data = load(args.dataset)
    pft, soil = predict(model, data.arrays)
    rows = spinup_intervals(pft, soil, data, args.split or cfg.split, args.level, args.epochs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"level": args.level, "pools": [asdict(r) for r in rows]}
    (out / "intervals.json").write_text(json.dumps(payload, indent=2))
    print(f"PI3NN {args.level:.0%} intervals on held-out cells ({args.split or cfg.split} split):")
    print(f"{'pool':12s} {'PICP':>6s} {'MPIW (log)':>11s} {'median width/pred':>18s} {'entries':>8s}")
    for r in rows:
        print(f"{r.name:12s} {r.picp:6.3f} {r.mpiw_log:11.3f} {r.median_relative_width:18.3f} {r.n_test:8d}")
    print(f"written: {out / 'intervals.json'}")
    return 0


def _ensemble(path: str):
    from elmai.apps.testbed.ensemble import Ensemble

    return Ensemble.load(path)


def cmd_train(args: argparse.Namespace) -> int:
    import numpy as np

    from elmai.cli.paths import inputs

    inputs(args, ensemble="file")
    from elmai import config_file
    from elmai.apps.uq import emulator as E
    from elmai.ml import distributed
    from elmai.ml.tabular import FitConfig

    settings = {k: v for k, v in vars(args).items() if k not in ("func", "overwrite", "command")}
    settings |= {"ensemble": str(Path(args.ensemble).resolve()), "out": str(Path(args.out).resolve())}
    record = config_file.prepare_output(args.out, settings, overwrite=args.overwrite, kind="emulate train")
    ens = _ensemble(args.ensemble)
    output = args.output or next(iter(ens.outputs))
    y, theta = ens.flat(output), ens.params
    ntrain = ens.nmember - args.test
    runs = min(args.runs or ntrain, ntrain)
    ctx = distributed.init()
    cfg = E.EmulatorConfig(
        reduce=not args.full,
        variance=args.variance,
        hidden=args.hidden,
        fit=FitConfig(epochs=args.epochs, batch=32, lr=3e-3, patience=300),
    )
    em, summary = E.train_emulator(
        theta[:runs],
        y[:runs],
        ens.low,
        ens.high,
        cfg,
        ctx,
        progress=f"emulator ({'full' if args.full else 'PCA'}, {runs} runs)",
    )
    distributed.shutdown(ctx)
    if not ctx.is_root:
        return 0
    out = Path(args.out)
    config_file.write_resolved(out, record)
    if args.test:
        pred = E.predict(em, theta[ntrain:])
        summary["test_members"] = args.test
        summary["test_r2"] = E.r2(pred, y[ntrain:])
        summary["test_rmse"] = float(np.sqrt(((pred - y[ntrain:]) ** 2).mean()))
        _fit_plot(pred, y[ntrain:], out / "fit.png", output)
    E.save(em, out / "emulator.pt", ens.names, output, summary)
    (out / "emulator.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    print(f"emulator: {out / 'emulator.pt'}")
    return 0


def _fit_plot(pred: np.ndarray, truth: np.ndarray, path: Path, output: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.scatter(truth.ravel(), pred.ravel(), s=2, alpha=0.3)
    lim = [min(truth.min(), pred.min()), max(truth.max(), pred.max())]
    ax.plot(lim, lim, "k--", lw=1)
    ax.set_xlabel(f"{output}, model")
    ax.set_ylabel(f"{output}, emulator")
    ax.set_title("Held-out members")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_sobol(args: argparse.Namespace) -> int:
    import numpy as np

    from elmai.cli.paths import inputs

    inputs(args, emulator="file", ensemble="file")
    from elmai.apps.uq import emulator as E
    from elmai.apps.uq.sobol import sobol_indices

    em, meta = E.load(args.emulator)
    names, low, high = meta["names"], np.array(meta["low"]), np.array(meta["high"])

    def fn(theta: np.ndarray) -> np.ndarray:
        return E.predict(em, theta)

    labels = None
    qoi = fn
    if args.ensemble:
        ens = _ensemble(args.ensemble)
        y = ens.outputs[meta["output"]]
        if ens.area is not None:  # global total per year (PgC/yr for GPP)
            nyear, area = y.shape[1], ens.area

            def qoi(theta: np.ndarray) -> np.ndarray:
                return (fn(theta).reshape(len(theta), nyear, -1) * area).sum(-1) / 1e15

            labels = [f"year {i + 1}" for i in range(nyear)]
    res = sobol_indices(qoi, names, low, high, args.n, labels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sobol.json").write_text(json.dumps(res.as_dict(), indent=2))
    _sobol_plot(res, out / "sobol.png")
    last = len(res.outputs) - 1
    print(f"Sobol indices ({res.evaluations} emulator evaluations), {res.outputs[last]}:")
    for j, n in enumerate(names):
        print(f"  {n:24s} S1 {res.first[last, j]:6.3f}  ST {res.total[last, j]:6.3f}")
    print(f"written: {out / 'sobol.json'}, {out / 'sobol.png'}")
    return 0


def _sobol_plot(res, path: Path) -> None:
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(res.names))
    s1, st = res.first.mean(0), res.total.mean(0)
    fig, ax = plt.subplots(figsize=(1.0 * len(x) + 2, 3.5))
    ax.bar(x - 0.2, s1, 0.4, label="first order S1")
    ax.bar(x + 0.2, st, 0.4, label="total ST")
    ax.set_xticks(x, res.names, rotation=30, ha="right")
    ax.set_ylabel("Sobol index (mean over outputs)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_ozark(args: argparse.Namespace) -> int:
    from elmai.cli.paths import inputs

    inputs(args, data="dir")
    from elmai.apps.uq.calibration import load_ozark

    ens = load_ozark(args.data)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    ens.save(args.out)
    print(f"{ens.nmember} runs x {len(ens.names)} parameters ({', '.join(ens.names)}) -> {args.out}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from elmai.cli.paths import inputs

    inputs(args, emulator="file", ensemble="file")
    from elmai.apps.uq import emulator as E
    from elmai.apps.uq.calibration import calibrate, plot
    from elmai.apps.uq.priors import UniformPrior
    from elmai.cli.paths import input_file
    from elmai.errors import InvalidArgumentError, ModelFileError

    em, meta = E.load(args.emulator)
    truth = None
    if args.member is not None:
        if not args.ensemble:
            raise InvalidArgumentError("--member needs --ensemble")
        ens = _ensemble(args.ensemble)
        if not 0 <= args.member < ens.nmember:
            raise InvalidArgumentError(
                f"--member {args.member} is outside the ensemble's 0..{ens.nmember - 1}"
            )
        rng = np.random.default_rng(args.seed + 1)
        clean = ens.flat(meta["output"])[args.member]
        obs = clean + rng.normal(size=clean.shape) * args.sigma
        truth = ens.params[args.member]
    else:
        p = input_file(args.obs, "--obs")
        try:
            obs = np.load(p) if p.suffix == ".npy" else np.loadtxt(p)
        except (ValueError, OSError, EOFError) as e:
            raise ModelFileError(f"--obs '{p}' is not a .npy or text file of numbers: {e}") from None
        obs = np.asarray(obs, dtype=np.float64).ravel()
    prior = UniformPrior(np.array(meta["low"]), np.array(meta["high"]))
    cal = calibrate(
        em,
        prior,
        obs,
        args.sigma,
        meta["names"],
        n_samples=args.samples,
        joint=args.joint,
        seed=args.seed,
        truth=truth,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "posterior.npz", dbuq=cal.dbuq, mcmc=cal.mcmc.flat, names=np.array(meta["names"]), obs=obs)
    (out / "calibration.json").write_text(json.dumps(cal.summary, indent=2))
    plots = plot(cal, em, out)
    s = cal.summary
    print(f"{'parameter':24s} {'DBUQ mean':>12s} {'MCMC mean':>12s} {'|diff|/range':>12s}")
    for j, n in enumerate(meta["names"]):
        print(
            f"{n:24s} {s['dbuq_mean'][j]:12.4g} {s['mcmc_mean'][j]:12.4g} "
            f"{s['mean_difference_prior_range'][j]:12.3f}"
        )
    t = s["timings"]
    print(
        f"DBUQ {t['dbuq_total_s']:.1f} s (label {t['dbuq_label_s']:.1f}, train {t['dbuq_train_s']:.1f}, "
        f"{args.samples} samples {t['dbuq_sample_s'] * 1e3:.1f} ms); MCMC {t['mcmc_s']:.1f} s to ESS "
        f"{s['mcmc_ess_min']:.0f} ({t['mcmc_evaluations']} evaluations)"
    )
    if t["dbuq_likelihood_ess"] < 20:
        print(
            f"warning: DBUQ's labels rest on a median of {t['dbuq_likelihood_ess']:.1f} of its joint "
            "samples: "
            "the posterior is narrower than their spacing, so DBUQ's samples collapse onto a few of them; "
            f"trust MCMC here, or raise --joint (now {args.joint})"
        )
    print(f"written: {out / 'posterior.npz'}, {out / 'calibration.json'}, {', '.join(plots)}")
    return 0
