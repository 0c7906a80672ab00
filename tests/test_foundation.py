"""The land foundation model (elmai.apps.foundation): the corpus, the ViT, the objective,
pretraining (determinism, resume), checkpoints and the tasks' scores, on a tiny corpus
(2 worlds at 10 deg, one year), checked against independent computations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch

from elmai.apps.foundation.baselines import bilinear_up, climatology, coarsen
from elmai.apps.foundation.checkpoint import card_path, load_model
from elmai.apps.foundation.corpus import Corpus, build_corpus
from elmai.apps.foundation.metrics import correlation, rmse, ssim
from elmai.apps.foundation.model import FoundationViT, patchify, unpatchify
from elmai.apps.foundation.objective import PretrainData, lat_weights, weighted_mse
from elmai.apps.foundation.pretrain import PretrainOptions, pretrain
from elmai.apps.foundation.sizes import SIZES, size_config
from elmai.apps.foundation.variables import CHANNELS, channel_names, forward_transform, inverse_transform
from elmai.apps.foundation.worlds import WorldSpec, simulate
from elmai.apps.testbed.dynamics import State
from elmai.apps.testbed.world import World
from elmai.errors import InvalidValueError, ShapeError, VariableNotFoundError

TINY = {"size": "tiny", "patch": 6, "batch": 4, "checkpoint_every": 4}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    out = tmp_path_factory.mktemp("corpus")
    build_corpus(out, [WorldSpec(10.0, 1, 0.0, 0), WorldSpec(10.0, 2, 1.0, 1)], years=1, progress=False)
    return Corpus.open(out)


@pytest.fixture(scope="module")
def pretrained(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pre")
    torch.set_num_threads(1)
    pretrain(corpus, out, PretrainOptions(steps=8, **TINY), progress=False)
    return out / "checkpoint.pt"


def test_corpus_store_holds_every_channel_of_every_world(corpus: Corpus) -> None:
    m = corpus.manifest
    assert m["shape"] == {"world": 2, "time": 12, "channel": len(CHANNELS), "lat": 18, "lon": 36}
    assert not list(corpus.folder.glob(".*tmp"))  # written under temporary names, then renamed
    assert {c["group"] for c in m["channels"]} == {"forcing", "flux", "state", "static"}
    with netCDF4.Dataset(corpus.path) as nc:
        assert nc["maps"].chunking() == [1, 1, 1, 18, 36]
        assert list(nc["channel"][:]) == channel_names()
    # the stored months are the testbed's own step, recomputed here independently for GPP
    world = World.build(10.0, 20, 2, None, warming=1.0)
    from elmai.apps.foundation.worlds import world_params

    world.params = world_params(WorldSpec(10.0, 2, 1.0, 1))
    model, state = world.model(), State.bare(world.grid.ngrid)
    f = model.step(state, world.climate.month(0, 0), 31 * 86400.0)
    raw = corpus.raw(1)
    gpp = raw[0, corpus.names.index("GPP")][world.grid.jxy - 1, world.grid.ixy - 1]
    np.testing.assert_allclose(gpp, f.gpp * 86400.0, rtol=1e-6)
    land = corpus.land_mask()
    assert np.isfinite(raw[:, :, land]).all() and np.isnan(raw[:, :, ~land]).all()
    z = corpus.fields(0)
    assert z.shape == (12, len(CHANNELS), 18, 36) and np.isfinite(z).all()
    # standardised with the manifest's statistics: inverting gives the raw field back
    mean, std = corpus.stats(corpus.names)
    back = inverse_transform(z * std + mean, corpus.names, axis=1)
    np.testing.assert_allclose(back[:, :, land], corpus.raw(0)[:, :, land], rtol=2e-4, atol=1e-4)


def test_simulate_is_deterministic_and_worlds_differ() -> None:
    _, a = simulate(WorldSpec(15.0, 4, 0.0, 2), 1)
    _, b = simulate(WorldSpec(15.0, 4, 0.0, 2), 1)
    _, c = simulate(WorldSpec(15.0, 4, 2.0, 2), 1)
    np.testing.assert_array_equal(a, b)
    t = channel_names().index("TBOT")
    assert np.nanmean(c[:, t] - a[:, t]) == pytest.approx(2.0, abs=0.05)  # the climate shift


def test_corpus_errors_name_file_variable_and_shape(corpus: Corpus, tmp_path: Path) -> None:
    sub = corpus.raw(0, ["GPP", "LANDFRAC", "TBOT"])  # a subset, in another order
    np.testing.assert_array_equal(sub[:, 1], corpus.raw(0)[:, corpus.names.index("LANDFRAC")])
    with pytest.raises(VariableNotFoundError, match=r"corpus '.*corpus.nc': no channel 'SNOW'"):
        corpus.raw(0, ["TBOT", "SNOW"])
    bad = tmp_path / "bad"
    shutil.copytree(corpus.folder, bad)
    land = corpus.land_mask()
    j, i = (int(v[0]) for v in np.nonzero(land))
    with netCDF4.Dataset(bad / "corpus.nc", "a") as nc:
        nc["maps"][1, 3, corpus.names.index("GPP"), j, i] = np.nan
    with pytest.raises(
        InvalidValueError, match=r"bad/corpus.nc': NaN on land in channel 'GPP' .*month 3.*shape \(12, 37"
    ):
        Corpus.open(bad).raw(1)


def test_patches_round_trip_and_model_shapes() -> None:
    x = torch.randn(2, 3, 12, 24)
    np.testing.assert_array_equal(unpatchify(patchify(x, 6), 6, 12, 24).numpy(), x.numpy())
    # patch (0, 1) of variable 2 is the 6x6 block at rows 0:6, columns 6:12
    np.testing.assert_array_equal(patchify(x, 6)[1, 2, 1].numpy(), x[1, 2, 0:6, 6:12].reshape(-1).numpy())
    names = channel_names()
    m = FoundationViT(size_config("tiny", 6), names, (18, 36))
    y = m(torch.randn(2, len(names), 18, 36), names, torch.ones(2))
    assert y.shape == (2, len(names), 18, 36)
    assert m(torch.randn(3, 2, 18, 36), ["TBOT", "GPP"], torch.ones(3), ["NEE"]).shape == (3, 1, 18, 36)


def test_sizes_count_what_their_dimensions_say() -> None:
    names = channel_names()
    for name in ("vit1m", "vit5m"):
        c = SIZES[name]
        d, pp, v, hid = c.dim, c.patch**2, len(names), int(c.dim * c.mlp_ratio)
        block = 4 * (d * d + d) + (d * hid + hid) + (hid * d + d) + 4 * d
        agg = 4 * d * d + 4 * d + d  # in_proj (3d x d), out_proj, and the query
        expect = (
            v * pp * d + 2 * v * d + agg + 9 * 18 * d + 2 * d + c.depth * block + 2 * d + d * v * pp + v * pp
        )
        assert FoundationViT(c, names, (90, 180)).count() == expect
    counts = [FoundationViT(SIZES[s], names, (90, 180)).count() for s in ("vit1m", "vit5m", "vit20m")]
    assert 0.8e6 < counts[0] < 1.5e6 and 4e6 < counts[1] < 7e6 and 17e6 < counts[2] < 25e6


def test_variable_aggregation_takes_any_subset_in_any_order() -> None:
    torch.manual_seed(0)
    names = channel_names()
    m = FoundationViT(size_config("tiny", 6), names, (18, 36))
    torch.nn.init.normal_(m.head.weight, std=0.1)  # not the zero start: outputs depend on inputs
    x = torch.randn(2, 5, 18, 36)
    sub = ["TBOT", "GPP", "TOTVEGC", "PCT_SAND", "SOIL4C"]
    perm = [3, 0, 4, 1, 2]
    with torch.no_grad():
        a = m(x, sub, torch.ones(2), ["NEE", "TBOT"])
        b = m(x[:, perm], [sub[i] for i in perm], torch.ones(2), ["NEE", "TBOT"])
        c = m(x[:, :2], sub[:2], torch.ones(2), ["NEE", "TBOT"])
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)  # cross-attention over variables: order-free
    assert not torch.allclose(a, c)  # fewer variables: another prediction, same shape
    with pytest.raises(
        VariableNotFoundError, match="input variable 'SNOW' is not one the model was pretrained"
    ):
        m(x[:, :1], ["SNOW"], torch.ones(2))
    with pytest.raises(ShapeError, match="grid 20x36 does not divide into patches of 6x6"):
        FoundationViT(size_config("tiny", 6), names, (20, 36))
    with pytest.raises(ShapeError, match="input grid 12x36 is not the model's 18x36"):
        m(torch.randn(1, 1, 12, 36), ["TBOT"], torch.ones(1))


def test_masking_and_lead_come_from_seed_and_step_alone(corpus: Corpus) -> None:
    fields = torch.from_numpy(np.stack([corpus.fields(w) for w in range(2)]))
    static = channel_names("static")
    data = PretrainData(fields, corpus.names, static, seed=3, batch=4)
    leads = set()
    for step in range(8):
        b, again = data.batch_of(step), data.batch_of(step)
        torch.testing.assert_close(b.x, again.x)
        assert set(b.inputs).isdisjoint(set(corpus.names) - set(b.inputs)) and len(b.inputs) >= 0.69 * 37
        wi, ti, lead, masked = data.draw(step)
        leads.add(lead)
        masked_names = [corpus.names[i] for i in masked]
        assert not set(masked_names) & set(b.inputs)
        if lead == 0:  # reconstruction: the masked dynamic variables, at the same month
            assert b.outputs == [n for n in masked_names if n not in static]
            torch.testing.assert_close(
                b.target, fields[wi, ti][:, [corpus.names.index(n) for n in b.outputs]]
            )
        else:
            assert b.outputs == [n for n in corpus.names if n not in static]
        # two ranks' shares put together are the one-process batch
        halves = [data.batch_of(step, r, 2) for r in range(2)]
        both = torch.stack([halves[i % 2].x[i // 2] for i in range(4)])
        torch.testing.assert_close(both, b.x)
    assert leads == {0, 1}


def test_latitude_weighted_loss_matches_numpy() -> None:
    lat = np.array([-60.0, 0.0, 45.0])
    land = np.array([[True, False], [True, True], [False, True]])
    w = lat_weights(lat, land)
    p, t = torch.randn(2, 3, 3, 2), torch.randn(2, 3, 3, 2)
    cw = np.cos(np.deg2rad(lat))[:, None] * np.ones((3, 2))
    err = ((p - t).numpy() ** 2)[..., land]
    expect = (err * cw[land]).sum(-1) / cw[land].sum()
    assert float(weighted_mse(p, t, w)) == pytest.approx(float(expect.mean()), rel=1e-5)


def test_pretraining_is_deterministic_and_resumes_exactly(
    corpus: Corpus, pretrained: Path, tmp_path: Path
) -> None:
    torch.set_num_threads(1)
    first = json.loads((pretrained.parent / "pretrain_summary.json").read_text())["losses"]
    stopped = pretrain(corpus, tmp_path, PretrainOptions(steps=8, max_minutes=1e-9, **TINY), progress=False)
    assert stopped["stopped_early"] and stopped["steps_done"] == 1
    resumed = pretrain(corpus, tmp_path, PretrainOptions(steps=8, **TINY), progress=False)
    assert resumed["losses"] == first  # the same losses, bit for bit, after a stop and a resume
    assert not list(tmp_path.glob(".*tmp"))
    card = json.loads(card_path(tmp_path / "checkpoint.pt").read_text())
    assert card["size"] == "tiny" and card["step"] == 8 and len(card["sha256"]) == 64
    assert card["trained_on"]["worlds"] == [w["label"] for w in corpus.manifest["worlds"]]


def test_checkpoint_round_trip_and_another_size(corpus: Corpus, pretrained: Path) -> None:
    model, blob = load_model(pretrained)
    again, _ = load_model(pretrained, "tiny")
    x = torch.from_numpy(corpus.fields(0)[:2])
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, corpus.names, torch.ones(2)), again(x, corpus.names, torch.ones(2))
        )
    assert blob["step"] == 8 and blob["variables"] == corpus.names
    with pytest.raises(
        ShapeError,
        match=r"checkpoint '.*checkpoint.pt': tensor 'patch_weight' has shape \(37, 36, 32\), "
        r"model size 'vit1m' expects \(37, 36, 96\)",
    ):
        load_model(pretrained, "vit1m")


def test_metrics_and_baselines_against_direct_formulas() -> None:
    rng = np.random.default_rng(0)
    lat = np.linspace(-80, 80, 9)
    t = rng.normal(size=(9, 12))
    t[0, :3] = np.nan
    p = t + rng.normal(scale=0.1, size=t.shape)
    ok = np.isfinite(t)
    w = np.broadcast_to(np.cos(np.deg2rad(lat))[:, None], t.shape)[ok]
    assert rmse(p, t, lat) == pytest.approx(np.sqrt(np.sum(w * (p[ok] - t[ok]) ** 2) / w.sum()))
    assert correlation(p, t, lat) == pytest.approx(
        np.cov(p[ok], t[ok], aweights=w)[0, 1]
        / np.sqrt(np.cov(p[ok], aweights=w) * np.cov(t[ok], aweights=w))
    )
    assert ssim(t, t) == pytest.approx(1.0) and ssim(p, t) < 1.0
    # bilinear of a field linear in latitude is exact away from the poles; coarsen is the 2x2 mean
    c = torch.arange(6, dtype=torch.float64)[:, None].expand(6, 8)[None, None]
    up = bilinear_up(c, torch.ones(1, 1, 6, 8, dtype=torch.bool))
    np.testing.assert_allclose(
        up[0, 0, 1:-1].numpy(), np.broadcast_to((np.arange(1, 11) - 0.5) / 2.0, (16, 10)).T
    )
    fine = rng.normal(size=(4, 6))
    np.testing.assert_allclose(coarsen(fine)[1, 2], fine[2:4, 4:6].mean())
    series = rng.normal(size=(24, 1, 2, 2))
    np.testing.assert_allclose(climatology(series, np.array([4]))[0], series[17])  # month 5's other year
    longer = rng.normal(size=(36, 1, 2, 2))
    np.testing.assert_allclose(climatology(longer, np.array([16]))[0], (longer[5] + longer[29]) / 2)
    x = np.array([[0.5, -2.0]])
    np.testing.assert_allclose(
        inverse_transform(forward_transform(x, ["GPP", "NEE"], 1), ["GPP", "NEE"], 1), x
    )


def test_forecast_and_downscale_tasks_score_against_baselines(pretrained: Path, tmp_path: Path) -> None:
    from elmai.apps.foundation.downscale import DownscaleOptions, downscale_task
    from elmai.apps.foundation.forecast import ForecastOptions, forecast_task

    torch.set_num_threads(1)
    unseen = tmp_path / "unseen"
    build_corpus(unseen, [WorldSpec(5.0, 9), WorldSpec(5.0, 10, 1.0)], years=1, progress=False)
    fine = Corpus.open(unseen)
    model, blob = load_model(pretrained)
    r = downscale_task(
        model, blob, fine, DownscaleOptions(steps=3, batch=2, train_worlds=[0], test_worlds=[1])
    )
    for n in ("TBOT", "PRECTmms", "GPP"):
        v = r["variables"][n]
        assert v["rmse_vs_bilinear"] == pytest.approx(v["vit"]["rmse"] / v["bilinear"]["rmse"])
        assert 0 < v["bilinear"]["rmse"] and 0.5 < v["bilinear"]["correlation"] <= 1
    assert r["example"]["target"].shape == (3, 36, 72)
    model, blob = load_model(pretrained)
    with pytest.raises(ShapeError, match="input grid 36x72 is not the model's 18x36"):
        forecast_task(model, blob, fine, ForecastOptions(steps=1, batch=2, train_worlds=[0], test_worlds=[1]))


def test_real_fields_loader_maps_names_units_and_longitudes(tmp_path: Path) -> None:
    """An independent CF file written here: longitudes 21..379 E as COADS stores them."""
    from elmai.apps.foundation.realfields import COADS, read_cf_maps

    path = tmp_path / "cf.nc"
    lon = np.arange(21.0, 381.0, 20.0)  # 18 cells, 21 .. 361 (wraps past 360)
    lat = np.arange(-85.0, 90.0, 10.0)  # 18 cells
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("TIME", 2)
        nc.createDimension("Y", lat.size)
        nc.createDimension("X", lon.size)
        nc.createVariable("Y", "f8", ("Y",))[:] = lat
        nc.createVariable("X", "f8", ("X",))[:] = lon
        for name in COADS:
            v = nc.createVariable(name, "f4", ("TIME", "Y", "X"), fill_value=np.float32(-1e34))
            v[:] = np.broadcast_to(lon % 360.0, (2, lat.size, lon.size))
        nc["AIRT"][0, 3, 4] = np.ma.masked
    maps, names, la = read_cf_maps(path, COADS, (18, 18))
    assert names == ["TBOT", "QBOT", "WIND", "PSRF"] and maps.shape == (2, 4, 18, 18)
    np.testing.assert_allclose(la, lat)
    order = np.sort(lon % 360.0)
    np.testing.assert_allclose(maps[1, 0, 0], order + 273.15)  # deg C -> K, longitudes ascending
    np.testing.assert_allclose(maps[1, 1, 0], order / 1000.0)  # g/kg -> kg/kg
    np.testing.assert_allclose(maps[1, 3, 0], order * 100.0)  # mb -> Pa
    col = int(np.flatnonzero(order == lon[4] % 360.0)[0])
    assert np.isnan(maps[0, 0, 3, col]) and np.isfinite(maps[0, 0]).sum() == 18 * 18 - 1
    with pytest.raises(
        ShapeError,
        match=r"cf.nc': variable 'AIRT' has shape \(2, 18, 18\), the model wants \(time, 90, 180\)",
    ):
        read_cf_maps(path, COADS, (90, 180))
    with pytest.raises(VariableNotFoundError, match="cf.nc': no variable 'SST'"):
        read_cf_maps(path, {"SST": ("TBOT", lambda x: x)}, (18, 18))
