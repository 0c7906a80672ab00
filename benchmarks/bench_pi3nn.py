"""PI3NN on the paper's four UCI sets (90/10 splits, 5 seeds, 95% level): PICP and MPIW
against the published values; and the cost of more confidence levels (bisection only)
against fitting the three networks."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import BenchResult, Figure
from elmai.apps.uq.pi3nn import PI3NN
from elmai.apps.uq.uci import PUBLISHED, data_dir, load_uci, run_uci

# a cross-fitted mean (5 folds); yacht's near-deterministic target needs a longer fit, as
# the paper tunes per set
SETTINGS = {"epochs": 300, "hidden": 64, "lr": 1e-3, "weight_decay": 1e-4, "folds": 5}
PER_SET = {"yacht": {"epochs": 3000, "lr": 3e-3, "patience": 200}}


def run(quick: bool = False) -> BenchResult:
    uci = data_dir() / "uci"  # $ELMAI_DATA/uci, or ../shared/data/uci beside this checkout
    seeds = 1 if quick else 5
    settings = SETTINGS | ({"epochs": 20} if quick else {})
    context: dict = {"protocol": f"90/10 splits x {seeds} seeds, 95% level, MPIW on standardised targets"}
    for name, (picp_pub, mpiw_pub) in PUBLISHED.items():
        r = run_uci(name, seeds=seeds, root=uci, **(settings | ({} if quick else PER_SET.get(name, {}))))
        ok = abs(r.picp - 0.95) <= 0.02 and r.mpiw <= 1.1 * mpiw_pub
        context[name] = (
            f"PICP {r.picp:.3f} MPIW {r.mpiw:.3f} | published {picp_pub:.3f} / {mpiw_pub:.2f} | "
            f"{'ok' if ok else 'MISSED'} (|PICP-0.95| <= 0.02, MPIW <= published + 10%)"
        )
    x, y = load_uci("concrete", uci)
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    t0 = time.perf_counter()
    model = PI3NN(seed=0, **settings).fit(x, y)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    for level in (0.5, 0.8, 0.9, 0.99):
        model.interval(x, level)
    t_levels = time.perf_counter() - t0
    fig = Figure(
        "4 more confidence levels (bisection)",
        t_levels,
        "fitting the 3 networks (concrete)",
        t_fit,
        "<= 0.05",
        note="several levels without retraining",
    )
    return BenchResult(
        "pi3nn", "PI3NN prediction intervals on the UCI sets", [fig], context | {"n": int(np.size(y))}
    )
