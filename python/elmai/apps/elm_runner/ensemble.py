"""An ELM-run site ensemble (issue 25): ELM as the teacher (its equilibria are the training
targets) and the judge (its drift after the AI restart), driven by one resumable command.

    elmai elm ensemble plan DIR --world W --sites 64 --held-out 32   # sites, groups, stages
    elmai elm ensemble run DIR [--hours H]                           # resumes where it stopped
    elmai elm ensemble status DIR                                    # sites, years, time left
    elmai elm ensemble pack DIR --to results/elm_ensemble           # what a fresh machine needs

Sites are drawn from one testbed world (its forcing, surface and parameters: no real
global forcing is available offline), stratified over mean temperature and precipitation
(terciles) and the dominant natural PFT (woody or not), with cold, arid, tropical and
crop-free boreal cells always included. They run as groups of cases (an ELM failure stops
one group, never the ensemble): per group a native case (the 20-year cold start the AI
starts from, then the AI route: spin-up, one forcing cycle + 1 year, refine, verification)
and an AD case (ELM's own AD + native spin-up, the reference and the training targets).

Every ELM run is cut into chunks of at most `chunk_years`; each finished chunk is written to
DIR/manifest.json at once (atomic rename), with its last restart, so a killed run repeats
at most one chunk. A manifest that disagrees with the files on disk is refused, naming them.
"""

from __future__ import annotations

import gzip
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from elmai.errors import ElmaiError, InputNotFoundError, InvalidArgumentError

MANIFEST = "manifest.json"
BUILT = ".elmai_built"  # in a case that finished building or cloning on this machine
FORMAT = 1
# the stages in dependency order; PHASES says in which order work is done
STAGE_ORDER = ("build_native", "early", "ai_spinup", "ai_cycle", "ai_refine", "ai_verify",
               "build_ad", "ad", "ad_native")  # fmt: skip
ELM_STAGES = {  # stage -> (case, mode, start from the last restart of, restart every)
    "early": ("native", "native", None),
    "ai_cycle": ("native", "native", "ai_spinup"),
    "ai_verify": ("native", "native", "ai_refine"),
    "ad": ("ad", "ad", None),
    "ad_native": ("ad", "native", "ad"),
}
# ELM's verdict on the held-out sites comes first (the measure the AI is trusted by), one whole
# group at a time so that a session cut short leaves complete verdicts; then the training sites'
# early runs (the AI's inputs), then ELM's own spin-up (the training targets), stage by stage
PHASES = (  # (held out?, stages, group by group?)
    (True, ("build_native", "early", "ai_spinup", "ai_cycle", "ai_refine", "ai_verify"), True),
    (False, ("build_native", "early"), False),
    (None, ("build_ad", "ad", "ad_native"), False),
)


class ManifestError(ElmaiError):
    """The manifest and the files on disk disagree, or the manifest is not elmai's."""


@dataclass
class Chunk:
    label: str
    years: int
    wall_s: float
    restart: str  # relative to DIR
    history: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Stage:
    name: str
    years: int = 0  # ELM years (0: not an ELM run)
    status: str = "pending"  # pending | done | failed
    chunks: list[Chunk] = field(default_factory=list)
    output: str = ""  # the stage's product (a restart), relative to DIR
    message: str = ""  # ELM's or elmai's message when failed
    wall_s: float = 0.0

    @property
    def years_done(self) -> int:
        return sum(c.years for c in self.chunks)


@dataclass
class Group:
    name: str
    held_out: bool
    sites: list[dict[str, Any]]
    stages: dict[str, Stage] = field(default_factory=dict)


@dataclass
class EnsemblePlan:
    world: str
    paramfile: str
    chunk_years: int
    early_years: int
    cycle_years: int
    ad_years: int
    native_years: int
    groups: list[Group]
    format: int = FORMAT
    created: str = ""
    world_setup: dict[str, Any] = field(default_factory=dict)  # how to remake the world (testbed run)


# ---- sites --------------------------------------------------------------------------------


def stratify(t_c: np.ndarray, precip: np.ndarray, woody: np.ndarray) -> np.ndarray:
    """Stratum of each cell: 3 temperature x 3 precipitation terciles x woody or not (18)."""
    tq = np.searchsorted(np.quantile(t_c, [1 / 3, 2 / 3]), t_c)
    pq = np.searchsorted(np.quantile(precip, [1 / 3, 2 / 3]), precip)
    return (tq * 3 + pq) * 2 + woody.astype(int)


def required_kinds(t_c: np.ndarray, precip: np.ndarray, pct_crop: np.ndarray) -> dict[str, np.ndarray]:
    """The cells of each climate the ensemble must hold (thresholds are the usual Koeppen-like
    cuts: cold < -5 C; arid < 250 mm/yr; tropical > 22 C and > 1500 mm/yr; boreal -5..3 C
    without crop)."""
    return {
        "cold": t_c < -5.0,
        "arid": precip < 250.0,
        "tropical": (t_c > 22.0) & (precip > 1500.0),
        "boreal_crop_free": (t_c >= -5.0) & (t_c <= 3.0) & (pct_crop <= 0.0),
    }


def pick_stratified(
    t_c: np.ndarray, precip: np.ndarray, woody: np.ndarray, pct_crop: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(indices, stratum of each, how many of each required kind): one cell of each
    required kind first, then round-robin over the strata, farthest in standardised
    (T, log P) from the cells already taken. Deterministic."""
    from elmai.apps.elm_runner.sites import spread_over_climates

    if n > t_c.size:
        raise InvalidArgumentError(f"--sites {n}: the world has only {t_c.size} eligible land cells")
    strata = stratify(t_c, precip, woody)
    x = np.column_stack([t_c, np.log1p(np.maximum(precip, 0.0))])
    z = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    chosen: list[int] = []
    for mask in required_kinds(t_c, precip, pct_crop).values():
        if mask.any() and len(chosen) < n:
            cand = np.flatnonzero(mask & ~np.isin(np.arange(t_c.size), chosen))
            if cand.size:
                chosen.append(int(cand[spread_over_climates(t_c[cand], precip[cand], 1)[0]]))
    order = [s for s in np.unique(strata)]
    while len(chosen) < n:
        progressed = False
        for s in order:
            if len(chosen) >= n:
                break
            cand = np.flatnonzero((strata == s) & ~np.isin(np.arange(t_c.size), chosen))
            if not cand.size:
                continue
            d = ((z[cand, None, :] - z[None, chosen, :]) ** 2).sum(axis=2).min(axis=1) if chosen else None
            chosen.append(int(cand[int(np.argmax(d))] if d is not None else cand[0]))
            progressed = True
        if not progressed:
            break
    idx = np.array(chosen, dtype=np.int64)
    kinds = {k: int(m[idx].sum()) for k, m in required_kinds(t_c, precip, pct_crop).items()}
    return idx, strata[idx], kinds


# ---- the manifest -------------------------------------------------------------------------


def _plan_to_dict(plan: EnsemblePlan) -> dict[str, Any]:
    return asdict(plan)


def _plan_from_dict(d: dict[str, Any], path: Path) -> EnsemblePlan:
    if d.get("format") != FORMAT:
        raise ManifestError(f"'{path}': not an elmai ensemble manifest of format {FORMAT}")
    groups = []
    for g in d["groups"]:
        stages = {
            k: Stage(**{**s, "chunks": [Chunk(**c) for c in s.get("chunks", [])]})
            for k, s in g["stages"].items()
        }
        groups.append(Group(g["name"], g["held_out"], g["sites"], stages))
    return EnsemblePlan(**{**d, "groups": groups})


def save(folder: Path, plan: EnsemblePlan) -> None:
    """Write the manifest atomically (temporary file, then rename): a kill never leaves half."""
    path = folder / MANIFEST
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(_plan_to_dict(plan), indent=1) + "\n")
    tmp.replace(path)


def load(folder: str | Path, *, verify: bool = True) -> EnsemblePlan:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise InputNotFoundError(
            f"no ensemble at '{folder}' (no {MANIFEST}): run `elmai elm ensemble plan` first"
        )
    try:
        plan = _plan_from_dict(json.loads(path.read_text()), path)
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ManifestError(f"'{path}' is not an elmai ensemble manifest ({type(e).__name__}: {e})") from None
    if verify:
        missing = disagreements(folder, plan)
        if missing:
            raise ManifestError(
                f"'{path}' disagrees with the files on disk: {'; '.join(missing[:5])}"
                + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else "")
                + " — restore them (`elmai elm ensemble unpack`) or remove the stage's record"
            )
    return plan


def disagreements(folder: Path, plan: EnsemblePlan) -> list[str]:
    """What the manifest records that is not on disk: a finished stage's output or a
    chunk's restart (a packed .gz copy counts: `run` restores it)."""
    out = []
    for g in plan.groups:
        for s in g.stages.values():
            wanted = [s.output] if s.status == "done" and s.output else []
            wanted += [s.chunks[-1].restart] if s.chunks and s.status != "done" else []
            for rel in wanted:
                p = folder / rel
                if not p.exists() and not p.with_name(p.name + ".gz").exists():
                    out.append(f"{g.name}/{s.name} records {rel}, which is not there")
    return out


def plan_ensemble(
    folder: str | Path,
    world: str | Path,
    sites: int = 64,
    held_out: int = 32,
    group_size: int = 16,
    paramfile: str | None = None,
    chunk_years: int = 10,
    early_years: int = 20,
    cycle_years: int = 20,
    ad_years: int = 100,
    native_years: int = 100,
) -> EnsemblePlan:
    """Choose the sites, split held-out from training, cut into groups and write the
    manifest and each group's site list (`points.txt` for `elmai elm case --points`)."""
    from elmai.apps.elm_runner.world import annual_climate, find_run, land_cells, surface_at

    folder = Path(folder)
    if (folder / MANIFEST).exists():
        raise InvalidArgumentError(
            f"'{folder}' already holds an ensemble ({MANIFEST}): use `run` to continue"
        )
    if not 0 < held_out < sites:
        raise InvalidArgumentError(
            f"--held-out must be between 1 and --sites - 1 ({sites - 1}), not {held_out}"
        )
    run = find_run(world)
    cells = land_cells(run)
    ok = np.flatnonzero(cells.pct_natveg >= 50.0)
    t, p = annual_climate(run, cells.j[ok], cells.i[ok])
    surf = surface_at(run, cells.j[ok], cells.i[ok])
    pft = np.asarray(surf["PCT_NAT_PFT"]).T  # (cell, natpft)
    woody = np.isin(pft.argmax(axis=1), np.arange(1, 9))  # ELM's trees: PFTs 1..8
    crop = np.asarray(surf.get("PCT_CROP", np.zeros(ok.size)))
    idx, strata, kinds = pick_stratified(t, p, woody, crop, sites)
    # held-out: every other site in the order drawn (each stratum on both sides)
    is_held = np.zeros(idx.size, bool)
    order = np.lexsort((np.arange(idx.size), strata))
    is_held[order[::2][:held_out]] = True
    if is_held.sum() < held_out:
        is_held[np.flatnonzero(~is_held)[: held_out - is_held.sum()]] = True
    records = [
        {"lat": float(cells.lat[ok[k]]), "lon": float(cells.lon[ok[k]]), "t_ann_c": round(float(t[k]), 2),
         "precip_mm_yr": round(float(p[k]), 1), "stratum": int(strata[n]), "woody": bool(woody[k]),
         "held_out": bool(is_held[n])}
        for n, k in enumerate(idx)
    ]  # fmt: skip
    groups = []
    for held in (True, False):
        mine = [r for r in records if r["held_out"] == held]
        for start in range(0, len(mine), group_size):
            name = f"{'heldout' if held else 'train'}{start // group_size + 1:02d}"
            groups.append(Group(name, held, mine[start : start + group_size], _stages(held, early_years,
                                cycle_years, ad_years, native_years)))  # fmt: skip
    plan = EnsemblePlan(
        str(Path(world).resolve()), str(Path(paramfile).resolve()) if paramfile else "", chunk_years,
        early_years, cycle_years, ad_years, native_years, groups, created=time.strftime("%Y-%m-%d %H:%M:%S"),
        world_setup={k: v for k, v in run.setup().items() if isinstance(v, str | int | float | bool)},
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    for g in groups:
        (folder / g.name).mkdir(exist_ok=True)
        lines = [f"{s['lat']:g},{s['lon']:g}" for s in g.sites]
        (folder / g.name / "points.txt").write_text(
            "# lat,lon of the group's sites\n" + "\n".join(lines) + "\n"
        )
    (folder / "sites.json").write_text(json.dumps({"kinds": kinds, "sites": records}, indent=1) + "\n")
    save(folder, plan)
    return plan


def _stages(held: bool, early: int, cycle: int, ad: int, native: int) -> dict[str, Stage]:
    years = {"early": early, "ai_cycle": cycle + 1, "ai_verify": cycle + 1, "ad": ad, "ad_native": native}
    names = [s for s in STAGE_ORDER if held or not s.startswith("ai_")]
    return {s: Stage(s, years.get(s, 0)) for s in names}


# ---- running ------------------------------------------------------------------------------


def next_work(plan: EnsemblePlan) -> tuple[Group, Stage] | None:
    """The next stage to run: phase by phase (PHASES), group by group or stage by stage across
    the phase's groups, skipping groups where an earlier stage failed."""
    for held, names, by_group in PHASES:
        groups = [g for g in plan.groups if held is None or g.held_out == held]
        pairs = [(g, n) for g in groups for n in names] if by_group else [
            (g, n) for n in names for g in groups]  # fmt: skip
        for g, name in pairs:
            s = g.stages.get(name)
            if s is None or s.status != "pending":
                continue
            if any(g.stages[d].status == "failed" for d in _needs(name) if d in g.stages):
                continue
            if all(g.stages[d].status == "done" for d in _needs(name) if d in g.stages):
                return g, s
    return None


def _needs(stage: str) -> tuple[str, ...]:
    return {
        "early": ("build_native",), "ai_spinup": ("early",), "ai_cycle": ("ai_spinup",),
        "ai_refine": ("ai_cycle",), "ai_verify": ("ai_refine",), "ad": ("build_ad",), "ad_native": ("ad",),
    }.get(stage, ())  # fmt: skip


def progress(plan: EnsemblePlan) -> dict[str, Any]:
    """Sites and ELM site-years done and left, and the time left at the measured pace."""
    done_sy = left_sy = 0
    wall = 0.0
    for g in plan.groups:
        n = len(g.sites)
        for s in g.stages.values():
            done_sy += s.years_done * n
            left_sy += (s.years - s.years_done) * n if s.status == "pending" else 0
            wall += sum(c.wall_s for c in s.chunks)
    pace = wall / done_sy if done_sy else None
    sites_done = sum(len(g.sites) for g in plan.groups if all(s.status == "done" for s in g.stages.values()))
    return {
        "sites": sum(len(g.sites) for g in plan.groups), "sites_done": sites_done,
        "site_years_done": done_sy, "site_years_left": left_sy,
        "s_per_site_year": pace, "hours_left": (pace * left_sy / 3600) if pace else None,
        "failed": [f"{g.name}/{s.name}: {s.message}" for g in plan.groups for s in g.stages.values()
                   if s.status == "failed"],
    }  # fmt: skip


def status_table(plan: EnsemblePlan) -> str:
    p = progress(plan)
    lines = [f"{p['sites']} sites in {len(plan.groups)} groups; world {plan.world}"]
    for g in plan.groups:
        cells = []
        for s in g.stages.values():
            mark = {"done": "ok", "failed": "FAILED", "pending": ".."}[s.status]
            cells.append(f"{s.name} {mark}" + (f" {s.years_done}/{s.years}y" if s.years else ""))
        lines.append(
            f"  {g.name:<10} ({len(g.sites)} sites{', held out' if g.held_out else ''}): " + ", ".join(cells)
        )
    pace = f"{p['s_per_site_year']:.2f} s per site-year" if p["s_per_site_year"] else "no ELM year run yet"
    left = f", about {p['hours_left']:.1f} h left at that pace" if p["hours_left"] else ""
    lines.append(
        f"ELM site-years done {p['site_years_done']:,}, left {p['site_years_left']:,} ({pace}{left}); "
        f"sites finished {p['sites_done']}/{p['sites']}"
    )
    lines += [f"  failed: {f}" for f in p["failed"]]
    return "\n".join(lines)


def _restore(path: Path) -> Path:
    """A restart the manifest needs: as it is, or unpacked from its .gz (a fresh machine)."""
    if not path.exists() and path.with_name(path.name + ".gz").exists():
        with (
            gzip.open(path.with_name(path.name + ".gz"), "rb") as src,
            open(path.with_suffix(".tmp"), "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
        path.with_suffix(".tmp").replace(path)
    return path


def run_ensemble(
    folder: str | Path,
    e3sm: str | None = None,
    hours: float | None = None,
    model: str | None = None,
    ntasks: int = 1,
    clone_from: str | None = None,
) -> EnsemblePlan:
    """Run pending stages until none is left or `hours` have passed (a stage in progress
    finishes its chunk). Failures are recorded with ELM's message and the run goes on.
    `clone_from`: a built case of the same compset and task count to clone instead of
    building the ensemble's first case."""
    folder = Path(folder).resolve()
    plan = load(folder)
    t_end = time.time() + hours * 3600 if hours else None
    while (work := next_work(plan)) is not None:
        if t_end and time.time() > t_end:
            print(f"elmai elm ensemble: time budget reached; continue with `elmai elm ensemble run {folder}`")
            break
        g, s = work
        print(f"elmai elm ensemble: {g.name} {s.name} ({len(g.sites)} sites)", flush=True)
        t0 = time.time()
        try:
            _run_stage(folder, plan, g, s, e3sm, model, ntasks, t_end, clone_from)
        except ElmaiError as e:
            s.status, s.message = "failed", " ".join(str(e).split())[:1000]
            print(f"elmai elm ensemble: {g.name} {s.name} FAILED: {s.message[:300]}", flush=True)
        s.wall_s += time.time() - t0
        save(folder, plan)
        print(status_table(plan).splitlines()[-1], flush=True)
    return plan


def _case_dir(folder: Path, g: Group, which: str) -> Path:
    return folder / g.name / which


def _run_stage(folder: Path, plan: EnsemblePlan, g: Group, s: Stage, e3sm: str | None, model: str | None,
               ntasks: int, t_end: float | None, clone_from: str | None = None) -> None:  # fmt: skip
    from elmai.apps.elm_runner import e3sm as elm

    if s.name.startswith("build_"):
        _ensure_case(folder, plan, g, s.name.removeprefix("build_"), e3sm, ntasks, clone_from)
        s.status = "done"
        return
    if s.name in ELM_STAGES:
        which, mode, after = ELM_STAGES[s.name]
        case = _ensure_case(folder, plan, g, which, e3sm, ntasks, clone_from)  # a fresh machine: built anew
        while s.years_done < s.years:
            if t_end and time.time() > t_end and s.chunks:
                return
            start = (folder / s.chunks[-1].restart) if s.chunks else None
            if start is None and after:
                start = folder / g.stages[after].output
            if start is not None:
                start = _restore(start)
            n = min(plan.chunk_years, s.years - s.years_done)
            if s.name in ("ai_cycle", "ai_verify") and s.years - s.years_done == plan.cycle_years + 1:
                n = s.years - s.years_done  # one run: the cycle's restart and its extra year
            label = f"{g.name}_{s.name}_{len(s.chunks) + 1:02d}"
            # both cycles keep the restart one forcing cycle after their start: refine (and a
            # second refine after the verification cycle) steps from exactly one cycle
            every = plan.cycle_years if s.name in ("ai_cycle", "ai_verify") else None
            rec = elm.run(case, n, start, mode=mode, label=label, restart_every=every)
            assert not isinstance(rec, list)
            last = rec.folder / rec.restarts[-1]
            s.chunks.append(Chunk(label, n, rec.wall_s, str(last.relative_to(folder)),
                                  [str((rec.folder / h).relative_to(folder)) for h in rec.history],
                                  rec.warnings[:20]))  # fmt: skip
            if every:
                s.output = str((rec.folder / rec.restarts[0]).relative_to(folder))
            save(folder, plan)
        s.output = s.output or s.chunks[-1].restart
        s.status = "done"
        return
    if s.name == "ai_spinup":
        _ai_spinup(folder, plan, g, s, model)
    elif s.name == "ai_refine":
        _ai_refine(folder, plan, g, s)
    s.status = "done"


def _ensure_case(
    folder: Path,
    plan: EnsemblePlan,
    g: Group,
    which: str,
    e3sm: str | None,
    ntasks: int,
    clone_from: str | None = None,
) -> Path:
    """The group's case of this kind, ready to run: as it is when built on this machine,
    else a keepexe clone of any built case of the ensemble, else a build (the first)."""
    from elmai.apps.elm_runner import e3sm as elm

    case = _case_dir(folder, g, which)
    if (case / "case" / BUILT).exists():
        return case
    _write_case(folder, plan, g, which)
    for half in ("case", "cime_output"):  # what a killed build or clone left
        shutil.rmtree(case / half, ignore_errors=True)
    built = [_case_dir(folder, o, k) for o in plan.groups for k in ("native", "ad")]
    built = [c for c in built if (c / "case" / BUILT).exists()]
    if not built and clone_from:
        built = [Path(clone_from)]
    if built:
        elm.clone_built(built[0], case, e3sm)
    else:
        elm.build(e3sm, case, ntasks=ntasks)
    (case / "case" / BUILT).write_text(time.strftime("%Y-%m-%d %H:%M:%S") + "\n")
    return case


def _write_case(folder: Path, plan: EnsemblePlan, g: Group, which: str) -> None:
    from elmai.apps.elm_runner.case_inputs import CaseOptions, write_case

    out = _case_dir(folder, g, which)
    if (out / "inputs.json").exists():
        return
    points = str(folder / g.name / "points.txt")
    opts = CaseOptions(world=plan.world, out=str(out), points=points, paramfile=plan.paramfile or None,
                       years=plan.chunk_years, ad_spinup=which == "ad")  # fmt: skip
    write_case(opts)


def _ai_spinup(folder: Path, plan: EnsemblePlan, g: Group, s: Stage, model: str | None) -> None:
    from elmai.apps.elm_runner.loop import _elmai

    case = _case_dir(folder, g, "native")
    early = g.stages["early"]
    restart = _restore(folder / early.output)
    # the early run's last 20 years of h0 (the decay scalars of the years before the restart)
    h0 = [str(folder / h) for c in early.chunks for h in c.history][-12 * plan.early_years :]
    out = folder / g.name / "ai_restart.nc"
    args = ["spinup", "--restart", str(restart), "--out", str(out), "--surfdata",
            str(next(case.glob("surfdata_*.nc"))), "--forcing", str(case / "cpl_bypass"),
            "--params", str(case / "clm_params.nc"), "--force", "--history", *h0]  # fmt: skip
    if model:
        args += ["--model", model]
    _elmai(*args)
    s.output = str(out.relative_to(folder))


def _ai_refine(folder: Path, plan: EnsemblePlan, g: Group, s: Stage) -> None:
    from elmai.apps.elm_runner.loop import _elmai

    case = _case_dir(folder, g, "native")
    cycle = g.stages["ai_cycle"]
    h0 = [str(folder / h) for c in cycle.chunks for h in c.history][: 12 * plan.cycle_years]
    out = folder / g.name / "ai_refined.nc"
    _elmai("refine", "--start", str(folder / g.stages["ai_spinup"].output), "--end",
           str(_restore(folder / cycle.output)), "--out", str(out), "--params", str(case / "clm_params.nc"),
           "--force", "--history", *h0)  # fmt: skip
    s.output = str(out.relative_to(folder))


# ---- packing for a fresh machine ----------------------------------------------------------


def pack(folder: str | Path, to: str | Path) -> list[Path]:
    """Copy what a fresh machine needs to continue into `to`: the manifest, the site lists
    and, gzip-compressed, the restarts the manifest still needs (each unfinished stage's
    last chunk, each finished stage's output a later stage starts from). Superseded
    restarts are left out. Returns the files written."""
    folder, to = Path(folder), Path(to)
    plan = load(folder)
    to.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (MANIFEST, "sites.json"):
        shutil.copy2(folder / name, to / name)
        written.append(to / name)
    needed = set()
    for g in plan.groups:
        (to / g.name).mkdir(exist_ok=True)
        shutil.copy2(folder / g.name / "points.txt", to / g.name / "points.txt")
        for s in g.stages.values():
            if s.status == "done" and s.output:
                needed.add(s.output)
            elif s.chunks:
                needed.add(s.chunks[-1].restart)
    # the h0 files later stages and the report read (early -> spin-up, the cycles -> refine
    # and drift), cut to the variables elmai reads from them
    for g in plan.groups:
        for name in ("early", "ai_cycle", "ai_verify"):
            s = g.stages.get(name)
            for c in s.chunks if s else []:
                for rel in c.history:
                    if (folder / rel).exists():
                        dst = to / rel
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        _subset_h0(folder / rel, dst)
                        written.append(dst)
    for rel in sorted(needed):
        src = folder / rel
        dst = to / (rel + ".gz")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.exists():
            with open(src, "rb") as f, gzip.open(dst.with_suffix(".tmp"), "wb", compresslevel=9) as g_:
                shutil.copyfileobj(f, g_)
            dst.with_suffix(".tmp").replace(dst)
            written.append(dst)
    return written


H0_KEEP = ("lat", "lon", "area", "landfrac", "time", "time_bounds", "mcdate", "levdcmp",
           "T_SCALAR", "W_SCALAR", "O_SCALAR", "NEE", "GPP", "TOTECOSYSC", "TOTSOMC", "TOTVEGC", "TOTLITC",
           "CWDC", "SOIL4C", "TOTECOSYSN", "TOTECOSYSP", "TOTSOMN", "TOTSOMP", "TOTVEGN",
           "TOTVEGP")  # fmt: skip


def _subset_h0(src: Path, dst: Path) -> None:
    """A copy of a monthly h0 file with only H0_KEEP (classic format: a few kB for a
    site case, where NetCDF-4 chunking would cost more than the data): what elmai reads."""
    import netCDF4

    tmp = dst.with_name(f".{dst.name}.tmp")
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(tmp, "w", format="NETCDF3_64BIT_OFFSET") as b:
        a.set_auto_maskandscale(False)
        b.setncatts({k: a.getncattr(k) for k in a.ncattrs()})
        keep = [n for n in H0_KEEP if n in a.variables]
        dims = {d for n in keep for d in a.variables[n].dimensions}
        for d in dims:
            b.createDimension(d, None if a.dimensions[d].isunlimited() else len(a.dimensions[d]))
        for n in keep:
            v = a.variables[n]
            fill = v.getncattr("_FillValue") if "_FillValue" in v.ncattrs() else None
            w = b.createVariable(n, v.dtype, v.dimensions, fill_value=fill)
            w.set_auto_maskandscale(False)
            w.setncatts({k: v.getncattr(k) for k in v.ncattrs() if k != "_FillValue"})
            w[...] = v[...]
    tmp.replace(dst)


def unpack(
    packed: str | Path,
    folder: str | Path,
    world: str | Path | None = None,
    paramfile: str | Path | None = None,
) -> EnsemblePlan:
    """Lay a packed ensemble into `folder` (a fresh machine): the manifest, the site lists,
    the compressed restarts (run restores them as it needs them) and the h0 subsets; `world`
    and `paramfile` point the plan at this machine's copies (the world remade with
    `elmai testbed run` and the set-up recorded in plan.world_setup)."""
    packed, folder = Path(packed), Path(folder)
    if not (packed / MANIFEST).is_file():
        raise InputNotFoundError(
            f"'{packed}' holds no packed ensemble ({MANIFEST}): give the folder `pack --to` wrote"
        )
    if (folder / MANIFEST).exists():
        raise InvalidArgumentError(f"'{folder}' already holds an ensemble: unpack into an empty folder")
    shutil.copytree(packed, folder, dirs_exist_ok=True)
    plan = load(folder)
    if world is not None:  # the world is remade from its recipe (plan.world_setup) on a new machine
        plan.world = str(Path(world).resolve())
    if paramfile is not None:
        plan.paramfile = str(Path(paramfile).resolve())
    save(folder, plan)
    return plan


# ---- report -------------------------------------------------------------------------------


def _drifts(folder: Path, stage: Stage, cycle: int) -> dict[str, list[float]] | None:
    """Per site: CTSM's drift (same forcing year one cycle apart, gC/m2/yr) of the stage's
    h0 files, with ELM's mean NEE over the cycle (None: the stage has not run a cycle + 1)."""
    from elmai.apps.elm_runner.loop import site_metrics

    files = [folder / h for c in stage.chunks for h in c.history]
    if stage.status != "done" or len(files) < 12 * (cycle + 1) or not all(f.exists() for f in files):
        return None
    m = site_metrics(files[-12 * (cycle + 1) :], cycle)
    return {k: m[k] for k in ("drift_TOTECOSYSC", "drift_TOTSOMC", "drift_TOTVEGC", "mean_NEE") if k in m}


def report(folder: str | Path) -> dict[str, Any]:
    """What the ensemble has measured so far, as results/elm_ensemble.json holds it: ELM's
    cost per site-year (by case size and task count, from every chunk), progress, and per
    held-out site the drift after AI alone and after AI + refine where those ELM runs are
    done. Keys the issue names whose runs have not finished are None."""
    folder = Path(folder)
    plan = load(folder, verify=False)  # a report reads the records, not the restarts
    chunks = [(len(g.sites), c) for g in plan.groups for s in g.stages.values() for c in s.chunks]
    paces = [c.wall_s / (c.years * n) for n, c in chunks if c.years]
    by_size: dict[str, list[float]] = {}
    for n, c in chunks:
        by_size.setdefault(str(n), []).append(c.wall_s / (c.years * n))
    held = [g for g in plan.groups if g.held_out]
    sites: list[dict[str, Any]] = []
    for g in held:
        alone = _drifts(folder, g.stages["ai_cycle"], plan.cycle_years)
        refined = _drifts(folder, g.stages["ai_verify"], plan.cycle_years)
        for k, site in enumerate(g.sites):
            row = {"group": g.name, "lat": site["lat"], "lon": site["lon"], "t_ann_c": site["t_ann_c"],
                   "precip_mm_yr": site["precip_mm_yr"]}  # fmt: skip
            for label, d in (("ai_alone", alone), ("ai_refine", refined)):
                if d:
                    row |= {f"{label}_{key}": v[k] for key, v in d.items()}
            sites.append(row)
    verified = [r for r in sites if "ai_refine_drift_TOTECOSYSC" in r]
    elmai_runs = [s for g in held for name, s in g.stages.items() if name in ("ai_cycle", "ai_verify")]
    p = progress(plan)
    return {
        "held_out_sites": sum(len(g.sites) for g in held),
        "training_sites": sum(len(g.sites) for g in plan.groups if not g.held_out),
        "pass_rate_ai_refine": (
            sum(abs(r["ai_refine_drift_TOTECOSYSC"]) < 1.0 for r in verified) / len(verified)
            if verified
            else None
        ),
        "verified_sites": len(verified),
        "second_refine_reduces_drift_fraction": None,  # the second refine stage has not run yet
        "site_years_ratio": None,  # needs ELM's AD + native to CTSM's criteria (stage ad_native)
        "balance_failures": sum(
            1 for s in elmai_runs if s.status == "failed" and "balance" in s.message.lower()
        ),
        "elm_cost": {
            "s_per_site_year": {"min": min(paces), "median": float(np.median(paces)), "max": max(paces)}
            if paces
            else None,
            "by_case_sites": {k: float(np.median(v)) for k, v in by_size.items()},
            "chunks": len(chunks),
            "note": "wall time of `elmai elm run` per chunk (ELM's model execution and CIME's set-up), "
            "NTASKS 1, on this 2-core machine while other work shared it",
        },  # fmt: skip
        "progress": p,
        "sites": sites,
        "plan": {
            "world": Path(plan.world).name,
            "groups": len(plan.groups),
            "chunk_years": plan.chunk_years,
            "early_years": plan.early_years,
            "cycle_years": plan.cycle_years,
            "ad_years": plan.ad_years,
            "native_years": plan.native_years,
        },  # fmt: skip
        "kinds": json.loads((folder / "sites.json").read_text()).get("kinds", {}),
    }


def write_report(folder: str | Path, out: str | Path) -> dict[str, Any]:
    data = report(folder)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    tmp.replace(out)
    return data


def retry(folder: str | Path, stage: str | None = None, group: str | None = None) -> list[str]:
    """Set failed stages (of `stage` / `group` if given) back to pending, keeping their
    finished chunks, so that `run` tries them again (after the cause is fixed)."""
    folder = Path(folder)
    plan = load(folder)
    reset = []
    for g in plan.groups:
        for s in g.stages.values():
            if s.status == "failed" and stage in (None, s.name) and group in (None, g.name):
                s.status, s.message = "pending", ""
                reset.append(f"{g.name}/{s.name}")
    save(folder, plan)
    return reset


def _map(data: dict[str, Any], png: Path) -> None:
    """Sites on a lat/lon map: held-out sites coloured by |TOTECOSYSC drift| after AI alone
    and after AI + refine (grey where ELM has not judged them yet), training sites hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from global_land_mask import globe

    lat = np.linspace(-89.5, 89.5, 180)
    lon = np.linspace(-179.5, 179.5, 360)
    land = globe.is_land(*np.meshgrid(lat, lon, indexing="ij"))
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), constrained_layout=True)
    sites = data["sites"]
    train = data.get("training_site_list", [])
    for ax, key, title in zip(
        axes, ("ai_alone", "ai_refine"), ("AI alone", "AI + one cycle + refine"), strict=True
    ):
        ax.pcolormesh(lon, lat, land, cmap="Greys", vmin=0, vmax=4, shading="auto")
        if train:
            ax.scatter([(s["lon"] + 180) % 360 - 180 for s in train], [s["lat"] for s in train], s=18,
                       facecolors="none", edgecolors="k", linewidths=0.6, label="training site")  # fmt: skip
        x = np.array([(s["lon"] + 180) % 360 - 180 for s in sites])
        y = np.array([s["lat"] for s in sites])
        d = np.array([abs(s.get(f"{key}_drift_TOTECOSYSC", np.nan)) for s in sites], dtype=float)
        judged = np.isfinite(d)
        ax.scatter(x[~judged], y[~judged], s=22, c="0.6", label="held out, not yet judged by ELM")
        if judged.any():
            colour = np.log10(np.maximum(d[judged], 1e-3))
            sc = ax.scatter(x[judged], y[judged], s=30, c=colour, cmap="viridis", vmin=-2, vmax=2)
            fig.colorbar(sc, ax=ax, label="log10 |TOTECOSYSC drift| (gC/m2/yr)")
        ax.set_title(f"{title}: {int(judged.sum())} of {len(sites)} held-out sites judged")
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
    axes[0].legend(loc="lower left", fontsize=7)
    tmp = png.with_name(f".{png.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(png)


def write_html(folder: str | Path, out: str | Path) -> Path:
    """report.md, report.html and map.png in `out`: the drift map, the per-site table, the
    cost table and the progress, from what the ensemble has measured (report())."""
    import html

    from elmai.markdown import sig, table

    folder, out = Path(folder), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = report(folder)
    plan = load(folder, verify=False)
    data["training_site_list"] = [s for g in plan.groups if not g.held_out for s in g.sites]
    _map(data, out / "map.png")
    p, cost = data["progress"], data["elm_cost"]
    pace = cost["s_per_site_year"]
    cost_rows = [[n, sig(v)] for n, v in sorted(cost["by_case_sites"].items(), key=lambda kv: int(kv[0]))]
    site_rows = [
        [r["group"], f"{r['lat']:g}", f"{r['lon']:g}", f"{r['t_ann_c']:.1f}", f"{r['precip_mm_yr']:.0f}",
         *(sig(r[k]) if k in r else "-" for k in ("ai_alone_drift_TOTECOSYSC", "ai_refine_drift_TOTECOSYSC"))]
        for r in data["sites"]
    ]  # fmt: skip
    status_rows = [[g.name, len(g.sites), ", ".join(f"{s.name} {s.status}" for s in g.stages.values())]
                   for g in plan.groups]  # fmt: skip
    md = [
        "# ELM site ensemble",
        "",
        f"{p['sites']} sites, {data['held_out_sites']} held out; ELM site-years done "
        f"{p['site_years_done']:,}, left {p['site_years_left']:,}"
        + (f" (median {sig(pace['median'])} s per site-year)" if pace else "")
        + ".",
        "",
        "![drift map](map.png)",
        "",
        "## Cost: ELM wall time per site-year, by case size (NTASKS 1)",
        "",
        *table(["sites in the case", "s per site-year (median)"], cost_rows or [["-", "-"]]),
        "",
        "## Held-out sites: TOTECOSYSC drift (gC/m2/yr), ELM the judge",
        "",
        *table(["group", "lat", "lon", "T (C)", "P (mm/yr)", "AI alone", "AI + refine"], site_rows),
        "",
        "## Stages",
        "",
        *table(["group", "sites", "stages"], status_rows),
    ]
    (out / "report.md").write_text("\n".join(md) + "\n")

    def html_table(header: list[str], rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>ELM site ensemble</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #bbb;padding:2px 6px;font-size:12px}} img{{max-width:100%}}</style></head><body>
<h1>ELM site ensemble</h1><p>{html.escape(md[2])}</p>
<img id="map" src="map.png" alt="drift map">
<h2>Cost: ELM wall time per site-year, by case size (NTASKS 1)</h2>
{html_table(["sites in the case", "s per site-year (median)"], cost_rows or [["-", "-"]])}
<h2>Held-out sites: TOTECOSYSC drift (gC/m2/yr), ELM the judge</h2>
{html_table(["group", "lat", "lon", "T (C)", "P (mm/yr)", "AI alone", "AI + refine"], site_rows)}
<h2>Stages</h2>{html_table(["group", "sites", "stages"], status_rows)}
</body></html>
"""
    (out / "report.html").write_text(page)
    return out / "report.html"
