"""Prediction intervals of daily streamflow when the climate warms (the East River study's
question) for one basin, by default the Taylor River at Taylor Park, CO (09107000, the East
River's neighbour in the Upper Gunnison). A tabular regressor of the day's flow from
antecedent forcing (means over the last 1..180 days, a cold-season precipitation store as a
snow proxy, day of year) carries three interval methods, all at 95%:

- PI3NN (elmai.apps.uq.pi3nn, the project's implementation), calibrated on the validation years;
- split-conformal: the PI3NN mean network's absolute residuals on the validation years, the
  finite-sample quantile, a constant-width band;
- deep ensemble: 5 networks with Gaussian (mean, log-variance) heads, seeds 0..4, the
  mixture's mean +- 1.96 sd.

Two shifts: train 1981-1999 (validation 1997-1999) and test 2000-2014; and cool vs warm years
(annual mean temperature below vs above its median: train on the cool years, test on the
warm). Coverage (PICP) and width (MPIW, mm/day) on validation and on the shifted test years,
and the Spearman rank correlation, over test years, of mean width with mean |error|."""

from __future__ import annotations

import math

import numpy as np

WINDOWS = (1, 3, 7, 30, 90, 180)
LEVEL = 0.95


def features(data, basin: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x: day x feature, y: day's flow, year of each day) for days with 180 days of history."""
    i = data.basin_index(basin)
    p = data.series["total_precipitation_sum"][i].astype(float)
    t = data.series["temperature_2m_mean"][i].astype(float)
    e = data.series["potential_evaporation_sum"][i].astype(float)
    y = data.series["streamflow"][i].astype(float)
    cols = []
    for v in (p, t, e):
        c = np.concatenate([[0.0], np.cumsum(v)])
        for w in WINDOWS:
            m = np.full(v.size, np.nan)
            m[w - 1 :] = (c[w:] - c[:-w]) / w
            cols.append(m)
    cold = np.where(t < 0, p, 0.0)  # precipitation falling as snow: a crude snowpack proxy
    c = np.concatenate([[0.0], np.cumsum(cold)])
    store = np.full(p.size, np.nan)
    store[179:] = c[180:] - c[:-180]
    doy = data.doy()
    cols += [store, np.sin(2 * np.pi * doy / 365.25), np.cos(2 * np.pi * doy / 365.25)]
    x = np.stack(cols, axis=1)
    years = data.dates.astype("datetime64[Y]").astype(int) + 1970
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
    return x[ok], y[ok], years[ok]


def conformal(f_cal: np.ndarray, y_cal: np.ndarray, level: float = LEVEL) -> float:
    """Split-conformal half-width: the ceil((n+1) level)-th smallest |residual|."""
    r = np.sort(np.abs(y_cal - f_cal))
    k = min(r.size - 1, math.ceil((r.size + 1) * level) - 1)
    return float(r[k])


def deep_ensemble(x, y, valid, members: int = 5, epochs: int = 200, hidden: int = 64):
    """Gaussian-NLL networks (mean, log-variance), early-stopped on `valid`; returns a
    predict(x) -> (mean, sd) of the equally weighted mixture."""
    import torch
    from torch import nn

    from elmai.ml.tabular import mlp

    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    tr, va = np.flatnonzero(~valid), np.flatnonzero(valid)
    nets = []
    for m in range(members):
        torch.manual_seed(m)
        net = mlp(x.shape[1], 2, hidden, 2, act=nn.ReLU)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
        g = torch.Generator().manual_seed(m)
        best, state, stale = float("inf"), None, 0
        for _ in range(epochs):
            order = torch.as_tensor(tr)[torch.randperm(tr.size, generator=g)]
            for i in range(0, tr.size, 64):
                idx = order[i : i + 64]
                out = net(xt[idx])
                loss = nn.functional.gaussian_nll_loss(out[:, 0], yt[idx], out[:, 1].exp() + 1e-4)
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                out = net(xt[va])
                v = float(nn.functional.gaussian_nll_loss(out[:, 0], yt[va], out[:, 1].exp() + 1e-4))
            if v < best - 1e-6:
                best, state, stale = v, {k: t.clone() for k, t in net.state_dict().items()}, 0
            else:
                stale += 1
                if stale >= 20:
                    break
        net.load_state_dict(state)
        nets.append(net.eval())

    def predict(xn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            outs = torch.stack([n(torch.as_tensor(xn, dtype=torch.float32)) for n in nets])
        mu, var = outs[..., 0], outs[..., 1].exp() + 1e-4
        mean = mu.mean(0)
        return mean.numpy(), torch.sqrt((var + mu**2).mean(0) - mean**2).numpy()

    return predict


def _score(y, lo, hi, f, years) -> dict:
    from scipy.stats import spearmanr

    from elmai.apps.uq.pi3nn import picp_mpiw

    picp, mpiw = picp_mpiw(y, lo, hi)
    ys = np.unique(years)
    width = [np.mean((hi - lo)[years == k]) for k in ys]
    err = [np.mean(np.abs(y - f)[years == k]) for k in ys]
    constant = np.ptp(width) <= 1e-6 * abs(np.mean(width))  # split-conformal: one width, no ranks
    rho = float(spearmanr(width, err).statistic) if ys.size > 2 and not constant else float("nan")
    return {"picp": picp, "mpiw": mpiw, "width_error_spearman_by_year": rho}


def run_split(x, y, years, train_years, valid_years, test_years, epochs: int = 200) -> dict:
    """Every method on one split; x is standardised with the training rows' statistics."""
    from elmai.apps.uq.pi3nn import PI3NN

    fit_rows = np.isin(years, train_years)
    mu, sd = x[fit_rows].mean(0), x[fit_rows].std(0) + 1e-6
    xs = (x - mu) / sd
    ymu, ysd = y[fit_rows].mean(), y[fit_rows].std()
    yn = (y - ymu) / ysd
    valid = np.isin(years[fit_rows], valid_years)
    test = np.isin(years, test_years)
    xf, yf = xs[fit_rows], yn[fit_rows]
    val_x, val_y, val_years = xf[valid], yf[valid], years[fit_rows][valid]
    out: dict = {}
    pi = PI3NN(hidden=64, epochs=epochs, patience=20, seed=0).fit(xf, yf, valid=valid)
    for name, (xx, yy, yr) in {
        "validation": (val_x, val_y, val_years),
        "shift": (xs[test], yn[test], years[test]),
    }.items():
        lo, hi = pi.interval(xx, LEVEL)
        out.setdefault("pi3nn", {})[name] = _score(yy * ysd, lo * ysd, hi * ysd, pi.predict(xx) * ysd, yr)
    half = conformal(pi.predict(val_x), val_y)
    for name, (xx, yy, yr) in {
        "validation": (val_x, val_y, val_years),
        "shift": (xs[test], yn[test], years[test]),
    }.items():
        f = pi.predict(xx)
        out.setdefault("conformal", {})[name] = _score(
            yy * ysd, (f - half) * ysd, (f + half) * ysd, f * ysd, yr
        )
    ens = deep_ensemble(xf, yf, valid, epochs=epochs)
    z = 1.959964
    for name, (xx, yy, yr) in {
        "validation": (val_x, val_y, val_years),
        "shift": (xs[test], yn[test], years[test]),
    }.items():
        m, s = ens(xx)
        out.setdefault("ensemble", {})[name] = _score(
            yy * ysd, (m - z * s) * ysd, (m + z * s) * ysd, m * ysd, yr
        )
    return out


def run_uq(data, basin: str = "09107000", epochs: int = 200) -> dict:
    """The two splits for `basin`; flat keys picp_validation, picp_shift, mpiw_* per method
    come from the time split (train 1981-1999, test 2000-2014)."""
    import torch

    torch.set_num_threads(1)
    x, y, years = features(data, basin)
    res: dict = {"basin": basin, "level": LEVEL}
    time_split = run_split(
        x, y, years, np.arange(1981, 2000), np.arange(1997, 2000), np.arange(2000, 2015), epochs
    )
    i = data.basin_index(basin)
    t = data.series["temperature_2m_mean"][i]
    all_years = data.dates.astype("datetime64[Y]").astype(int) + 1970
    annual = {k: float(t[all_years == k].mean()) for k in np.unique(years)}
    med = np.median(list(annual.values()))
    cool = np.array([k for k, v in annual.items() if v <= med])
    warm = np.array([k for k, v in annual.items() if v > med])
    warm_split = run_split(x, y, years, cool, cool[-4:], warm, epochs)
    for m in ("pi3nn", "conformal", "ensemble"):
        a = time_split[m]
        res[m] = {
            "picp_validation": a["validation"]["picp"],
            "picp_shift": a["shift"]["picp"],
            "mpiw_validation": a["validation"]["mpiw"],
            "mpiw_shift": a["shift"]["mpiw"],
            "width_error_spearman_shift": a["shift"]["width_error_spearman_by_year"],
            "warm_years": warm_split[m],
        }
    res["splits"] = {
        "time": "train 1981-1999 (validation/calibration 1997-1999), test 2000-2014",
        "warm_years": f"train on the {cool.size} cool years (calibration: the last 4 of them), test on the "
        f"{warm.size} warm years (annual mean temperature above the median {med:.2f} degC)",
    }
    res["mpiw_units"] = "mm/day"
    return res
