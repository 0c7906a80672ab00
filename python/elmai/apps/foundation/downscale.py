"""Task (b): 2 deg -> 1 deg downscaling on worlds the model never saw. The 1 deg worlds'
maps are coarsened (2x2 means over land) to the 2 deg inputs; the target is the 1 deg
map of TBOT, PRECTmms and GPP. Three methods on the same test world: bilinear (from land
cells), a small CNN that corrects the bilinear field from it and the 1 deg statics, and
the pretrained ViT whose encoder reads every 2 deg variable and feeds features at 1 deg
into the same CNN. Scores in raw units: RMSE, correlation, SSIM."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from elmai.apps.foundation.baselines import RefineCNN, bilinear_up, coarsen
from elmai.apps.foundation.corpus import Corpus
from elmai.apps.foundation.metrics import correlation, rmse, ssim
from elmai.apps.foundation.model import FoundationViT, unpatchify
from elmai.apps.foundation.objective import lat_weights, weighted_mse
from elmai.apps.foundation.variables import inverse_transform

__all__ = ["DownscaleNet", "DownscaleOptions", "downscale_task"]

TARGETS = ("TBOT", "PRECTmms", "GPP")


@dataclass
class DownscaleOptions:
    steps: int = 80
    batch: int = 4
    lr_vit: float = 3e-4
    lr_cnn: float = 1e-3
    seed: int = 0
    features: int = 8
    train_worlds: list[int] = field(default_factory=lambda: [0, 1, 2])
    test_worlds: list[int] = field(default_factory=lambda: [3])


class DownscaleNet(nn.Module):
    def __init__(self, encoder: FoundationViT | None, n_out: int, n_static: int, features: int = 8) -> None:
        super().__init__()
        self.encoder = encoder
        self.features = features if encoder is not None else 0
        if encoder is not None:
            p = encoder.cfg.patch
            self.to_fine = nn.Linear(encoder.cfg.dim, features * (2 * p) ** 2)
        self.refine = RefineCNN(n_out + n_static + 1 + self.features, n_out)

    def forward(
        self,
        coarse: torch.Tensor,
        names: list[str],
        bil: torch.Tensor,
        fine_static: torch.Tensor,
        fine_land: torch.Tensor,
    ) -> torch.Tensor:
        parts = [bil, fine_static, fine_land.expand(bil.shape[0], 1, *bil.shape[-2:])]
        if self.encoder is not None:
            z = self.encoder.encode(coarse, names, torch.zeros(coarse.shape[0]))
            b, n, _ = z.shape
            p2 = 2 * self.encoder.cfg.patch
            f = self.to_fine(z).reshape(b, n, self.features, p2 * p2).permute(0, 2, 1, 3)
            h, w = self.encoder.grid
            parts.append(unpatchify(f, p2, 2 * h, 2 * w))
        return bil + self.refine(torch.cat(parts, dim=1))


def _raw(z: np.ndarray, names: list[str], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return inverse_transform(z * std + mean, names, axis=1)


def downscale_task(model: FoundationViT, blob: dict, fine: Corpus, opts: DownscaleOptions) -> dict:
    names = model.variables
    static = [n for n in names if n in set(blob["static"])]
    targets = list(TARGETS)
    tidx = [names.index(n) for n in targets]
    worlds = opts.train_worlds + opts.test_worlds
    lat_f, _ = fine.coords()
    land_f = fine.land_mask()
    raw = {w: fine.raw(w, names) for w in worlds}
    coarse = {w: fine.normalise(coarsen(raw[w]), names, blob) for w in worlds}
    fine_z = {w: fine.normalise(raw[w], names, blob) for w in worlds}
    land_c = np.isfinite(coarsen(raw[worlds[0]][0, names.index("LANDFRAC")]))
    land_ct = torch.from_numpy(land_c)[None, None]
    land_ft = torch.from_numpy(land_f.astype(np.float32))[None, None]
    weights = lat_weights(lat_f, land_f)
    sidx = [names.index(n) for n in static]
    mean, std = fine.stats(targets, blob)

    def inputs(w: int, t: np.ndarray) -> tuple:
        c = torch.from_numpy(coarse[w][t])
        bil = bilinear_up(c[:, tidx], land_ct)
        fs = torch.from_numpy(fine_z[w][t][:, sidx])
        return c, bil, fs, torch.from_numpy(fine_z[w][t][:, tidx])

    nt = raw[worlds[0]].shape[0]
    samples = [(w, t) for w in opts.train_worlds for t in range(nt)]
    nets = {
        "vit": DownscaleNet(model, len(targets), len(static), opts.features),
        "cnn": DownscaleNet(None, len(targets), len(static)),
    }
    seconds = {}
    for kind, net in nets.items():
        torch.manual_seed(opts.seed)
        opt = torch.optim.AdamW(net.parameters(), lr=opts.lr_vit if kind == "vit" else opts.lr_cnn)
        t0 = time.perf_counter()
        net.train()
        for step in range(opts.steps):
            pick = np.random.default_rng([opts.seed, step]).choice(len(samples), size=opts.batch)
            parts = [inputs(samples[i][0], np.array([samples[i][1]])) for i in pick]
            c, bil, fs, y = (torch.cat([p[k] for p in parts]) for k in range(4))
            loss = weighted_mse(net(c, names, bil, fs, land_ft), y, weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds[kind] = time.perf_counter() - t0
        net.eval()
    scores: dict[str, dict[str, dict[str, float]]] = {n: {} for n in targets}
    example = {}
    off = ~land_f
    for w in opts.test_worlds:
        t = np.arange(nt)
        c, bil, fs, y = inputs(w, t)
        with torch.no_grad():
            preds = {
                "bilinear": bil.numpy(),
                **{k: net(c, names, bil, fs, land_ft).numpy() for k, net in nets.items()},
            }
        truth = np.where(off, np.nan, _raw(y.numpy(), targets, mean, std))
        for k, z in preds.items():
            r = np.where(off, np.nan, _raw(z, targets, mean, std))
            for j, n in enumerate(targets):
                s = scores[n].setdefault(k, {})
                for m, v in (
                    ("rmse", rmse(r[:, j], truth[:, j], lat_f)),
                    ("correlation", correlation(r[:, j], truth[:, j], lat_f)),
                    ("ssim", ssim(r[:, j], truth[:, j])),
                ):
                    s.setdefault(m, []).append(v)
            if w == opts.test_worlds[0]:
                example[k] = r[6]
        if w == opts.test_worlds[0]:
            example["target"] = truth[6]
    out: dict = {
        "variables": {},
        "train_seconds": seconds,
        "n_train_samples": len(samples),
        "steps": opts.steps,
    }
    for n in targets:
        e = {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in scores[n].items()}
        e["rmse_vs_bilinear"] = e["vit"]["rmse"] / e["bilinear"]["rmse"]
        e["cnn_rmse_vs_bilinear"] = e["cnn"]["rmse"] / e["bilinear"]["rmse"]
        e["units"] = next(c["units"] for c in fine.manifest["channels"] if c["name"] == n)
        out["variables"][n] = e
    out["example"] = {"month": 7, "targets": targets} | example
    return out
