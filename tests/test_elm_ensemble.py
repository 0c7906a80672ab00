"""The ELM ensemble's bookkeeping without ELM (issue 25): stratified site choice, the
manifest (atomic, refused when it disagrees with the disk), the order of work and its
resumption, failures that stop one group only, and packing for a fresh machine. The ELM
runs themselves are tested where ELMAI_E3SM names a checkout (tests/test_elm_case.py)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from elmai.apps.elm_runner import ensemble as E
from elmai.errors import InvalidArgumentError
from tests.conftest import shared_data

ELMAI = str(Path(sys.executable).with_name("elmai"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from elmai.apps.testbed.run import run_testbed

    root = tmp_path_factory.mktemp("ensemble_world")
    run_testbed(root, resolution=10.0, years=1, forcing_years=2, progress=False)
    return root


def test_stratified_pick_holds_every_required_climate() -> None:
    rng = np.random.default_rng(3)
    n = 400
    t = rng.uniform(-25, 28, n)
    p = np.exp(rng.uniform(np.log(50), np.log(3000), n))
    woody = rng.random(n) < 0.5
    crop = np.where(rng.random(n) < 0.3, 20.0, 0.0)
    idx, strata, kinds = E.pick_stratified(t, p, woody, crop, 24)
    assert len(set(idx.tolist())) == 24
    assert all(v >= 1 for v in kinds.values()), kinds
    # round-robin over the strata: every non-empty stratum holds at least one site
    assert set(np.unique(E.stratify(t, p, woody))) <= set(strata.tolist())
    again = E.pick_stratified(t, p, woody, crop, 24)[0]
    np.testing.assert_array_equal(idx, again)  # deterministic
    with pytest.raises(InvalidArgumentError, match="only 400"):
        E.pick_stratified(t, p, woody, crop, 401)


def test_plan_writes_groups_sites_and_a_manifest(world: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ens"
    plan = E.plan_ensemble(folder, world, sites=12, held_out=6, group_size=4)
    assert [g.name for g in plan.groups] == ["heldout01", "heldout02", "train01", "train02"]
    held = [s for g in plan.groups if g.held_out for s in g.sites]
    train = [s for g in plan.groups if not g.held_out for s in g.sites]
    assert len(held) == 6 and len(train) == 6
    assert not {(s["lat"], s["lon"]) for s in held} & {(s["lat"], s["lon"]) for s in train}
    # only held-out groups run the AI route; every group runs ELM's own spin-up
    assert "ai_verify" in plan.groups[0].stages and "ai_verify" not in plan.groups[-1].stages
    assert all("ad_native" in g.stages for g in plan.groups)
    points = (folder / "heldout01" / "points.txt").read_text().splitlines()
    assert len([ln for ln in points if not ln.startswith("#")]) == 4
    loaded = E.load(folder)
    assert E._plan_to_dict(loaded) == E._plan_to_dict(plan)
    assert json.loads((folder / "sites.json").read_text())["kinds"].keys() == {
        "cold", "arid", "tropical", "boreal_crop_free"
    }  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="already holds an ensemble"):
        E.plan_ensemble(folder, world, sites=12, held_out=6, group_size=4)
    with pytest.raises(InvalidArgumentError, match="--held-out"):
        E.plan_ensemble(tmp_path / "other", world, sites=4, held_out=4)


def test_order_of_work_resumes_and_isolates_failures(world: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ens"
    plan = E.plan_ensemble(folder, world, sites=12, held_out=8, group_size=4)
    order = []
    while (work := E.next_work(plan)) is not None:
        g, s = work
        order.append(f"{g.name}/{s.name}")
        # the held-out group's ELM AD fails: its ad_native is never started, the rest goes on
        s.status = "failed" if (g.name, s.name) == ("heldout01", "ad") else "done"
    # ELM judges the held-out sites first, a whole group at a time, then the training sites'
    # early runs, then the spin-ups
    route = ["build_native", "early", "ai_spinup", "ai_cycle", "ai_refine", "ai_verify"]
    assert order[:12] == [f"heldout0{k}/{s}" for k in (1, 2) for s in route]
    assert order[12:14] == ["train01/build_native", "train01/early"]
    assert order.index("train01/early") < order.index("heldout01/build_ad")
    assert "heldout01/ad_native" not in order and "train01/ad_native" in order
    p = E.progress(plan)
    assert p["failed"] and p["failed"][0].startswith("heldout01/ad")
    # retry: the failed stage is pending again, and next in line
    E.save(folder, plan)
    assert E.retry(folder, stage="ad") == ["heldout01/ad"]
    g, s = E.next_work(E.load(folder))
    assert (g.name, s.name) == ("heldout01", "ad")


def test_chunks_are_recorded_and_the_disk_must_agree(world: Path, tmp_path: Path) -> None:
    """A chunk's restart is what the next chunk starts from; the manifest refuses to load
    when a recorded restart is gone (naming it), and a packed copy restores it."""
    real = shared_data("elm", "elm_written", "ad4", "ad_year10.elm.r.0011-01-01-00000.nc")
    folder = tmp_path / "ens"
    plan = E.plan_ensemble(folder, world, sites=8, held_out=4, group_size=4)
    g = plan.groups[0]
    g.stages["build_native"].status = "done"
    s = g.stages["early"]
    run_dir = folder / g.name / "native" / "runs" / "heldout01_early_01"
    run_dir.mkdir(parents=True)
    shutil.copy(real, run_dir / real.name)
    s.chunks.append(E.Chunk("heldout01_early_01", 10, 12.5, str((run_dir / real.name).relative_to(folder))))
    E.save(folder, plan)
    assert E.load(folder).groups[0].stages["early"].years_done == 10
    # progress counts site-years and the measured pace
    p = E.progress(E.load(folder))
    assert p["site_years_done"] == 40 and p["s_per_site_year"] == pytest.approx(12.5 / 40)
    # pack: the manifest and the restart the unfinished stage continues from, gzipped
    packed = tmp_path / "packed"
    files = E.pack(folder, packed)
    gz = packed / (s.chunks[0].restart + ".gz")
    assert gz in files and gzip.open(gz).read() == real.read_bytes()
    # a fresh machine: unpack, the restart comes back when needed
    fresh = tmp_path / "fresh"
    E.unpack(packed, fresh)
    restored = E._restore(fresh / s.chunks[0].restart)
    assert restored.read_bytes() == real.read_bytes()
    # the disk disagrees: refused with the stage and the file named
    (run_dir / real.name).unlink()
    with pytest.raises(E.ManifestError, match=r"heldout01/early records .*ad_year10"):
        E.load(folder)
    proc = subprocess.run([ELMAI, "elm", "ensemble", "status", str(folder)], capture_output=True, text=True)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "disagrees with the files on disk" in proc.stderr


def test_status_cli_shows_progress(world: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ens"
    proc = subprocess.run(
        [ELMAI, "elm", "ensemble", "plan", str(folder), "--world", str(world), "--sites", "8",
         "--held-out", "4", "--group", "4"], capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = subprocess.run([ELMAI, "elm", "ensemble", "status", str(folder)], capture_output=True, text=True)
    assert out.returncode == 0
    assert "8 sites in 2 groups" in out.stdout and "heldout01" in out.stdout and "site-years" in out.stdout


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM, reason="headless Chromium (Debian package chromium) is not installed")
def test_html_report_renders_in_chromium(world: Path, tmp_path: Path) -> None:
    """The report a user opens: the drift map and the tables render in a real browser."""
    folder = tmp_path / "ens"
    plan = E.plan_ensemble(folder, world, sites=8, held_out=4, group_size=4)
    plan.groups[0].stages["early"].chunks.append(E.Chunk("c", 10, 80.0, "x.nc"))
    E.save(folder, plan)
    page = E.write_html(folder, tmp_path / "report")
    assert (tmp_path / "report" / "map.png").stat().st_size > 10_000
    assert "![drift map](map.png)" in (tmp_path / "report" / "report.md").read_text()
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1300,1400"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-500:]
    assert dom.stdout.count("<table>") == 3 and 'id="map" src="map.png"' in dom.stdout
    assert dom.stdout.count("<tr>") >= 1 + 4 + 2 and "2.00" in dom.stdout  # 80 s / (10 years x 4 sites)
    shot = tmp_path / "shot.png"
    done = subprocess.run([*browser, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert done.returncode == 0 and shot.stat().st_size > 20_000


def test_pack_keeps_the_h0_variables_elmai_reads(world: Path, tmp_path: Path) -> None:
    """The packed h0 subsets give the same decay scalars and annual means as ELM's files."""
    from elmai.io.history import annual_means, decomposition_scalars

    h0 = sorted(shared_data("elm", "elm_written", "s16", "h0_year2").glob("*.nc"))
    folder = tmp_path / "ens"
    plan = E.plan_ensemble(folder, world, sites=8, held_out=4, group_size=4)
    run_dir = folder / "heldout01" / "native" / "runs" / "c1"
    run_dir.mkdir(parents=True)
    for f in h0:
        shutil.copy(f, run_dir / f.name)
    real = shared_data("elm", "elm_written", "s16", "native_year2.elm.r.0003-01-01-00000.nc")
    shutil.copy(real, run_dir / real.name)
    rel = [str((run_dir / f.name).relative_to(folder)) for f in h0]
    plan.groups[0].stages["early"].chunks.append(
        E.Chunk("c1", 1, 1.0, str((run_dir / real.name).relative_to(folder)), rel)
    )
    E.save(folder, plan)
    packed = tmp_path / "packed"
    E.pack(folder, packed)
    subset = [packed / r for r in rel]
    assert all(p.stat().st_size < f.stat().st_size / 5 for p, f in zip(subset, h0, strict=True))
    sites = json.loads(shared_data("elm", "elm_written", "s16", "sites.json").read_text())["sites"]
    lat, lon = np.array([x["lat"] for x in sites]), np.array([x["lon"] for x in sites])
    np.testing.assert_array_equal(
        decomposition_scalars(subset, lat, lon), decomposition_scalars(h0, lat, lon)
    )
    a, b = annual_means(subset, ["TOTECOSYSC", "NEE"]), annual_means(h0, ["TOTECOSYSC", "NEE"])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
