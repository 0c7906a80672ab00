"""Testbed worlds that differ from one another: resolution, seed (climate anomalies and
surface), a uniform warming and a parameter set drawn from configs/transfer_params.txt
(OLMT's parm_list form). A `WorldSpec` names one; `prepare_world` runs its early years and
its matrix equilibrium once and keeps them (a second call finds them)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from elmai.apps.testbed.ensemble import apply, draw, read_param_list
from elmai.errors import InputNotFoundError
from elmai.io.elm_params import ElmParams, default_params

PARAM_LIST = Path(__file__).resolve().parents[4] / "configs" / "transfer_params.txt"
PARAM_DRAW_SEED = 20261130  # the draws are fixed: a draw index names the same parameters everywhere
PARAM_DRAWS = 16


@dataclass(frozen=True)
class WorldSpec:
    """One testbed world. `params_draw` None: ELM's parameter file values (elmai's built-in
    defaults); k: row k of the Latin hypercube over PARAM_LIST."""

    name: str
    resolution: float
    seed: int
    warming: float = 0.0
    params_draw: int | None = None

    def _drawn(self) -> tuple[list, np.ndarray]:
        """The parameter specs and this world's row of the fixed draw."""
        specs = read_param_list(PARAM_LIST)
        return specs, draw(specs, PARAM_DRAWS, seed=PARAM_DRAW_SEED, latin=True)[self.params_draw]

    def params(self) -> ElmParams:
        if self.params_draw is None:
            return default_params()
        specs, values = self._drawn()
        p = apply(default_params(), specs, values)
        p.source = f"elmai transfer draw {self.params_draw} of {PARAM_LIST.name}"
        return p

    def describe(self) -> dict:
        d = asdict(self)
        if self.params_draw is not None:
            specs, values = self._drawn()
            d["params"] = {s.label: float(v) for s, v in zip(specs, values, strict=True)}
        return d


def parameter_ranges() -> dict[str, list[float]]:
    """The ranges the draws come from (what a model trained on them has seen)."""
    return {s.label: [s.low, s.high] for s in read_param_list(PARAM_LIST)}


@dataclass
class PreparedWorld:
    spec: WorldSpec
    folder: Path
    early: Path  # the early restart (after `early_years`)
    equilibrium: Path  # its matrix equilibrium (the truth the AI is scored against)
    params_file: Path
    ncell: int
    early_years: int
    forcing_years: int
    seconds: float

    @property
    def early_year(self) -> int:
        return self.early_years + 1


def prepare_world(
    spec: WorldSpec, root: str | Path, early_years: int = 20, forcing_years: int = 20, progress: bool = True
) -> PreparedWorld:
    """Run `early_years` from bare ground (h0 of the last `forcing_years` of them, the decay
    rates ELM's files give) and the world's matrix equilibrium, in `root`/`spec.name`."""
    from elmai.apps.testbed.run import run_testbed, write_params

    folder = Path(root) / spec.name
    record = folder / "world.json"
    if record.exists():
        saved = json.loads(record.read_text())
        if saved.get("spec") == asdict(spec) and saved.get("early_years") == early_years:
            return _prepared(spec, folder, saved)
    folder.mkdir(parents=True, exist_ok=True)
    params_file = folder / "world_params.nc"
    write_params(params_file, spec.params())
    t0 = time.perf_counter()
    result = run_testbed(
        folder,
        resolution=spec.resolution,
        years=early_years,
        forcing_years=forcing_years,
        case=spec.name,
        params_file=str(params_file),
        history_years=min(early_years, forcing_years),
        seed=spec.seed,
        progress=progress,
        equilibrium=True,
        warming=spec.warming,
    )
    saved = {
        "spec": asdict(spec),
        "early_years": early_years,
        "forcing_years": forcing_years,
        "early": result.restarts[-2],
        "equilibrium": result.restarts[-1],
        "ncell": result.ngrid,
        "balance_failures": result.balance_failures,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    record.write_text(json.dumps(saved, indent=1))
    return _prepared(spec, folder, saved)


def _prepared(spec: WorldSpec, folder: Path, saved: dict) -> PreparedWorld:
    early, eq = Path(saved["early"]), Path(saved["equilibrium"])
    for p in (early, eq):
        if not p.exists():
            raise InputNotFoundError(f"world '{spec.name}': '{p}' is missing; delete '{folder}' to rebuild")
    return PreparedWorld(
        spec,
        folder,
        early,
        eq,
        folder / "world_params.nc",
        int(saved["ncell"]),
        int(saved["early_years"]),
        int(saved["forcing_years"]),
        float(saved["seconds"]),
    )
