"""Real ELM in the loop (issue 21): ELM's own spin-up of a few sites against the AI route,
both run by ELM itself, on inputs written by `elmai elm case` from one testbed world.

  ELM route: AD spin-up from a cold start (ELM's factors from the parameter file), then
             native years, in two runs as OLMT does; its last cycle gives ELM's own drift.
  AI route:  a cold-start native run of `early` years (ELM's early restart) -> `elmai
             spinup` (the shipped model, trained on testbed worlds) -> ELM one forcing
             cycle from the AI restart -> `elmai refine` -> ELM one cycle + 1 year from the
             refined restart (the verification).

Every ELM run goes through `elmai elm run`, which fails on any balance-check error or
endrun message in ELM's log. Drift per site is CTSM's: annual means of the same forcing
year one cycle apart (SpinupStability_BGC_v11.ncl), from ELM's monthly h0 files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from elmai.apps.elm_runner import e3sm
from elmai.io.history import annual_means

SECONDS_PER_YEAR = 365.0 * 86400.0
FLUXES = ("NEE", "GPP")
STOCKS = ("TOTECOSYSC", "TOTSOMC", "TOTVEGC", "TOTLITC", "CWDC", "SOIL4C")


@dataclass
class LoopOptions:
    ad_years: int = 100
    native_years: int = 40
    early_years: int = 20
    cycle: int = 20
    force: bool = False  # --force for spinup/refine (the measured runs used it; nothing was refused)


@dataclass
class Phase:
    name: str
    simulated_years: int
    wall_s: float
    folder: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def site_metrics(files: list[Path], cycle: int) -> dict[str, Any]:
    """Per site: TOTECOSYSC/TOTSOMC/TOTVEGC drift (gC/m2/yr, same forcing year one cycle
    apart), mean NEE and GPP over the first cycle (gC/m2/yr; NEE > 0 is a source), and
    the stocks' annual means of the last year."""
    means = annual_means(sorted(files), STOCKS + FLUXES)
    years = means["TOTECOSYSC"].shape[0]
    result: dict[str, Any] = {"years": years}
    if years >= cycle + 1:
        for n in ("TOTECOSYSC", "TOTSOMC", "TOTVEGC"):
            result[f"drift_{n}"] = ((means[n][cycle] - means[n][0]) / cycle).tolist()
    for n in FLUXES:
        result[f"mean_{n}"] = (means[n][: min(cycle, years)].mean(axis=0) * SECONDS_PER_YEAR).tolist()
    result["last_year"] = {n: means[n][-1].tolist() for n in STOCKS}
    return result


def _elm(
    case: Path, years: int, label: str, restart: Path | None, mode: str, restart_every: int | None = None
) -> tuple[Phase, Path]:
    """One ELM run through `elmai elm run`'s code path; returns the phase and its first
    restart (with restart_every < years: the one `restart_every` years in). A run already
    recorded under OUT/runs/LABEL (run.json) is reused: the loop resumes."""
    done = case / "runs" / label / "run.json"
    if done.is_file():
        rec = json.loads(done.read_text())
        if rec["years"] == years and rec["restarts"]:
            print(f"elmai elm loop: {label}: reusing {done.parent}", flush=True)
            phase = Phase(
                label, years, rec["wall_s"], str(done.parent), rec["problems"], rec.get("warnings", [])
            )
            return phase, done.parent / rec["restarts"][0]
    print(f"elmai elm loop: {label}: ELM {years} years ({mode}) in {case}", flush=True)
    run = e3sm.run(case, years, restart, mode=mode, label=label, restart_every=restart_every)
    assert not isinstance(run, list)
    phase = Phase(label, years, run.wall_s, str(run.folder), run.problems, run.warnings)
    return phase, run.folder / run.restarts[0]


def _elmai(*args: str) -> float:
    """An elmai command in a subprocess, as a user runs it; returns its wall time."""
    t0 = time.time()
    cli = str(Path(sys.executable).with_name("elmai"))
    proc = subprocess.run([cli, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        # the reason first: a stage's message is kept short, and the command line is long
        command = " ".join(args)
        command = command if len(command) <= 300 else command[:300] + " ..."
        raise e3sm.RunError(f"`elmai {args[0]}` failed: {proc.stderr.strip()[-1500:]} (ran: elmai {command})")
    print(proc.stdout.strip()[-1500:], flush=True)
    return time.time() - t0


def _elmai_once(folder: Path, name: str, output: Path, args: list[str]) -> float:
    """Run an elmai step unless its output exists; its wall time is kept in elmai_steps.json."""
    log = folder / "elmai_steps.json"
    times = json.loads(log.read_text()) if log.is_file() else {}
    if not output.exists() or name not in times:
        times[name] = _elmai(*args)
        write_json(log, times)
    return float(times[name])


def elm_route(spin: Path, opts: LoopOptions) -> dict[str, Any]:
    """ELM's own spin-up: AD from a cold start, then native from the AD restart."""
    # labels carry the lengths: a longer spin-up is a new run beside the shorter one
    ad, ad_restart = _elm(spin, opts.ad_years, f"ad_{opts.ad_years}y", None, "ad")
    native, _ = _elm(spin, opts.native_years, f"native_{opts.native_years}y", ad_restart, "native")
    h0 = sorted(Path(native.folder).glob("*.elm.h0.*.nc"))[-12 * (opts.cycle + 1) :]
    return {"phases": [asdict(ad), asdict(native)], "metrics": site_metrics(h0, opts.cycle)}


def ai_route(ai: Path, opts: LoopOptions, model: str | None = None) -> dict[str, Any]:
    """Early ELM run, AI restart, one ELM cycle, refine, ELM verification (cycle + 1 years)."""
    early, early_restart = _elm(ai, opts.early_years, "early", None, "native")
    surf = next(ai.glob("surfdata_*.nc"))
    common = ["--params", str(ai / "clm_params.nc")]
    ai_file = ai / "ai_restart.nc"
    args = ["spinup", "--restart", str(early_restart), "--out", str(ai_file), "--surfdata", str(surf),
            "--forcing", str(ai / "cpl_bypass"), "--history",
            *map(str, sorted(Path(early.folder).glob("*.elm.h0.*.nc"))), *common]  # fmt: skip
    if model:
        args += ["--model", model]
    if opts.force:
        args.append("--force")
    spinup_s = _elmai_once(ai, "spinup", ai_file, args)
    # cycle + 1 years with a restart after the cycle: refine reads that restart, the extra
    # year gives CTSM's same-forcing-year drift of the AI restart alone
    cycle, cycle_restart = _elm(ai, opts.cycle + 1, "cycle", ai_file, "native", restart_every=opts.cycle)
    refined = ai / "ai_refined.nc"
    cycle_h0 = sorted(Path(cycle.folder).glob("*.elm.h0.*.nc"))[: 12 * opts.cycle]  # the cycle's own years
    args = ["refine", "--start", str(ai_file), "--end", str(cycle_restart), "--out", str(refined), *common,
            "--history", *map(str, cycle_h0)]  # fmt: skip
    refine_s = _elmai_once(ai, "refine", refined, args + (["--force"] if opts.force else []))
    verify, _ = _elm(ai, opts.cycle + 1, "verify", refined, "native")
    return {
        "phases": [asdict(early), asdict(cycle), asdict(verify)],
        "elmai_s": {"spinup": spinup_s, "refine": refine_s},
        "metrics_ai_alone": site_metrics(sorted(Path(cycle.folder).glob("*.elm.h0.*.nc")), opts.cycle),
        "metrics_refined": site_metrics(sorted(Path(verify.folder).glob("*.elm.h0.*.nc")), opts.cycle),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)
