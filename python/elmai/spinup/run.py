"""`elmai spinup`: an early restart plus the trained model -> an equilibrium restart.

Features are built from the case's files (restart, datm forcing, surfdata, parameters),
the C++ runner (libtorch, the path ELM's Fortran takes) predicts the slow pools, they are
merged into a copy of the restart (elmai.spinup.merge), the copy is checked with every
static rule, and only a file that passes is renamed into place (`force` keeps one that
fails, and still reports). Before the model runs, the inputs are compared with the ranges
the model was trained on (elmai.spinup.input_ranges): cells beyond the margin are refused
unless `force`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from elmai.artifact import ModelArtifact, load_model
from elmai.checks import check_restart
from elmai.data import features as F
from elmai.errors import ElmaiError, ElmaiFileError
from elmai.io.elm_params import ElmParams, find_params
from elmai.io.history import files_before
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.restart import Restart, open_restart, write_restart
from elmai.io.soil_levels import DZSOI_DECOMP
from elmai.spinup.input_ranges import check_input_ranges, refuse_beyond_margin
from elmai.spinup.merge import SLOW_POOLS, Stoichiometry, ad_inflation, fallback_ratios, merge_updates


class SpinupCheckError(ElmaiError):
    """The merged restart failed elmai's static checks (nothing was written)."""


class InputCheckError(SpinupCheckError):
    """The input restart fails elmai's static checks: an input problem, found before the
    model runs (nothing was written)."""


def failed_rules(report) -> str:
    """'3 failure(s): finite, totals': how many failed, and which rules."""
    rules = [rule for rule, n in report.counts.items() if n]
    return f"{sum(report.counts.values())} failure(s): {', '.join(rules)}"


def check_input(restart: Path, params: ElmParams, force: bool) -> str:
    """Check the input restart with the same rules as `elmai check` before any work; its
    failures are the input's (one line each). Returns what the check says of the file's
    spin-up mode (e.g. that an AD restart can leave AD)."""
    report = check_restart(restart, params)
    if not report.ok and not force:
        raise InputCheckError(
            f"input restart '{restart}' fails elmai's checks ({failed_rules(report)}; `elmai check` lists "
            "them): an input problem, nothing was written (--force goes on)",
            details=report.failure_lines(),
        )
    return report.notes.get("spinup_state", "")


@dataclass
class SpinupResult:
    out: str
    cells: int
    checks_ok: bool
    check_table: str
    totals_pgc: dict[str, dict[str, float]] = field(default_factory=dict)  # {"early"|"ai": {...}}
    inputs_file: str | None = None
    layout: dict[str, int] = field(default_factory=dict)  # columns spun up and left alone
    seconds: dict[str, float] = field(default_factory=dict)  # inputs, model, merge + write + checks
    land_m2: float = 0.0  # the land the totals cover (natural-vegetation columns)
    # the inputs against the model's training ranges (elmai.spinup.input_ranges.RangeReport.to_dict)
    input_ranges: dict = field(default_factory=dict)


def layout_note(layout: dict[str, int]) -> str:
    """One line on what elmai changed and what it left as it was."""
    if not layout:
        return ""
    text = f"spun up {layout['natural_vegetation_columns']} natural-vegetation column(s)"
    left = [
        f"{layout[k]} {what}"
        for k, what in (
            ("crop_columns", "crop column(s) (managed: left as they are)"),
            ("special_columns", "urban/lake/wetland/glacier column(s) (no soil BGC)"),
            ("gridcells_without_natural_vegetation", "gridcell(s) without natural vegetation"),
        )
        if layout.get(k)
    ]
    return text + ("; left unchanged: " + ", ".join(left) if left else "")


def _beside(restart: Path, pattern: str, given: str | None, what: str) -> Path:
    if given:
        return Path(given)
    hits = sorted(restart.parent.glob(pattern))
    if not hits:
        raise ElmaiFileError(
            f"no {what} ({pattern}) beside '{restart}': give it with --{what}"
            if restart.exists()
            else f"restart '{restart}' does not exist"
        )
    return hits[0]


def case_params(restart: Path, given: str | None) -> ElmParams:
    """The case's ELM parameter file: the one given, else the one clm_params*.nc beside the restart."""
    return find_params(restart.parent, given)


def early_history(restart: Path, given: list[str] | None = None, year: int | None = None) -> list[Path]:
    """The h0 files whose decomposition scalars give the decay rates: those given, else the
    *.elm.h0.* beside the restart from the 20 years before its date (`year`, read from the
    restart when not given; none: no h0)."""
    if given is not None:
        return [Path(g) for g in given]
    if year is None:
        with open_restart(restart) as r:
            year = r.year
    return files_before(restart.parent, year)


def early_inputs(
    restart: Path | Restart,
    forcing: Path,
    surfdata: Path,
    params: ElmParams,
    history: list[Path] | None = None,
) -> tuple[dict[str, np.ndarray], F.CellPools]:
    """The model inputs of every natural-vegetation column (normal-mode pools: an AD
    restart's are inflated as ELM does when it leaves AD), and the cells' place in the
    restart (a path or an open Restart). Decay rates from the `history` (h0) files when given.
    This is the feature builder inference shares with training (elmai.data.dataset)."""
    cells = F.read_cell_pools(restart)
    restart = Path(restart.path) if isinstance(restart, Restart) else restart
    if cells.lat.size == 0:
        raise ElmaiError(f"'{restart}' has no natural-vegetation column: nothing to spin up")
    forc, static, area, rates = F.climate_inputs(
        forcing, surfdata, params, cells.lat, cells.lon, cells.scalaravg, history
    )
    used = np.flatnonzero((cells.weight > 0).any(axis=0))
    if used.size and used.max() >= params.npft:
        raise ElmaiError(
            f"'{restart}' has pfts of type {int(used.max())} but the parameter file '{params.source}' "
            f"defines {params.npft} PFTs: give the case's own parameter file (--params)"
        )
    soil_ad, pft_ad = ad_inflation(cells, Stoichiometry.from_params(params), restart)
    inputs = {
        "forcing": forc,
        "static": static,
        "pft_weight": cells.weight,
        "pft_early": cells.pft * pft_ad,
        "soil_early": cells.soil * soil_ad,
        "soil_rate": rates,
        # the column's share of its gridcell's land (several topounits, lakes, glaciers)
        "area": area * cells.column_weight,
    }
    return inputs, cells


def predict_pools(
    model: ModelArtifact | str | os.PathLike[str], inputs: dict[str, np.ndarray], threads: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(pft pools, soil pools) in gC/m2 and gC/m3 from the C++ runner."""
    artifact = model if isinstance(model, ModelArtifact) else load_model(model)
    pft, soil = artifact.forward(inputs, threads)
    for name, arr in (("pft_pools", pft), ("soil_pools", soil)):
        bad = ~np.isfinite(arr)
        if bad.any():
            cell = int(np.argwhere(bad)[0][0])
            raise ElmaiError(f"model '{artifact.path}' returned NaN/Inf in {name} (first at gridcell {cell})")
    return pft.astype(np.float64), soil.astype(np.float64)


def _totals(cells: F.CellPools, area: np.ndarray, pft: np.ndarray, soil: np.ndarray) -> dict[str, float]:
    veg = (pft.sum(axis=2) * cells.weight).sum(axis=1)
    stock = np.einsum("gls,l->gs", soil, DZSOI_DECOMP)
    return {
        "vegetation": float(veg @ area / 1e15),
        "soil_and_litter": float(stock.sum(axis=1) @ area / 1e15),
        "soil4": float(stock[:, F.SOIL_POOLS.index("soil4")] @ area / 1e15),
    }


def written_pools(
    pft_early: np.ndarray,
    soil_early: np.ndarray,
    pft: np.ndarray,
    soil: np.ndarray,
    cells: F.CellPools,
    pools: tuple[str, ...] = SLOW_POOLS,
) -> tuple[np.ndarray, np.ndarray]:
    """The (normal-mode) pools the AI restart holds: the predicted `pools` on PFTs of
    non-zero weight, the early state elsewhere."""
    pft_out, soil_out = pft_early.copy(), soil_early.copy()
    for j, name in enumerate(F.PFT_POOLS):
        if name in pools:
            pft_out[..., j] = np.where(cells.weight > 0, pft[..., j], pft_early[..., j])
    for k, name in enumerate(F.SOIL_POOLS):
        if name in pools:
            soil_out[..., k] = soil[..., k]
    return pft_out, soil_out


@dataclass
class SpinupState:
    """What the stages of `elmai spinup` hand on: the open input restart, the case's files
    and parameters, the model artifact, and what each stage produced."""

    restart: Path
    out: Path
    r: Restart  # the input, opened once
    forcing: Path
    surfdata: Path
    params: ElmParams
    artifact: ModelArtifact
    force: bool = False
    threads: int = 0
    history: list[Path] = field(default_factory=list)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    cells: F.CellPools | None = None
    ranges: object = None
    pft: np.ndarray | None = None
    soil: np.ndarray | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def gather(state: SpinupState) -> None:
    """Stage 1: check the input with `elmai check`'s rules, then build the model inputs of
    every natural-vegetation column from the open restart, the forcing, surface data and h0."""
    t0 = time.perf_counter()
    check_input(state.restart, state.params, state.force)
    state.inputs, state.cells = early_inputs(
        state.r, state.forcing, state.surfdata, state.params, state.history
    )
    if state.cells.spinup_state == 1:
        print(
            f"elmai spinup: '{state.restart.name}' is an AD restart: the AI restart stays in AD mode "
            "(spinup_state 1, pools stored as ELM stores them in AD); a native ELM run from it leaves "
            "AD as from ELM's own AD restart (col_cs_restart: factor / scalaravg_col, dead wood x "
            "spinup_mortality_factor)"
        )
    state.seconds["inputs"] = time.perf_counter() - t0


def check_ranges(state: SpinupState) -> None:
    """Stage 2: before the model runs, a case far outside the training data is refused
    unless forced (the trained ranges come from the artifact's sidecar)."""
    t0 = time.perf_counter()
    cells = state.cells
    assert cells is not None
    state.ranges = check_input_ranges(state.artifact.sidecar.input_ranges, state.inputs, cells.lat, cells.lon)
    if state.ranges.paragraph():
        print(state.ranges.paragraph())
    refuse_beyond_margin(state.ranges, state.restart, state.force)
    state.seconds["inputs"] += time.perf_counter() - t0


def predict(state: SpinupState) -> None:
    """Stage 3: the slow pools from the C++ runner."""
    t0 = time.perf_counter()
    state.pft, state.soil = predict_pools(state.artifact, state.inputs, state.threads)
    state.seconds["model"] = time.perf_counter() - t0


def merge_write_check(state: SpinupState) -> tuple[bool, str]:
    """Stage 4: merge into a copy of the input, check the copy, rename it into place."""
    t0 = time.perf_counter()
    assert state.cells is not None and state.pft is not None and state.soil is not None
    note = f"elmai spinup: slow pools predicted by {state.artifact.path.name}"
    ok, table = write_checked(
        state.restart, state.out, state.cells, state.pft, state.soil, state.params, note, state.force,
        r=state.r,
    )  # fmt: skip
    state.seconds["merge_write_check"] = time.perf_counter() - t0
    return ok, table


def refuse_overwriting_inputs(out: Path, *inputs: Path) -> None:
    """`--out` must not be any input restart: elmai never modifies its input."""
    for given in inputs:
        if out.resolve() == given.resolve():
            raise ElmaiError(f"--out '{out}' is an input restart: elmai never modifies its input")


def ai_spinup(
    restart: str | os.PathLike[str],
    model_file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    surfdata: str | None = None,
    forcing: str | None = None,
    params: str | None = None,
    force: bool = False,
    save_inputs: str | os.PathLike[str] | None = None,
    threads: int = 0,
    history: list[str] | None = None,
) -> SpinupResult:
    """An early restart and a trained model -> an equilibrium restart at `out`, in stages:
    gather (the input checked, then opened once: cell pools, year, h0, forcing, surface,
    parameters), check_ranges (the model's trained ranges, read once from its sidecar),
    predict (C++ runner), merge_write_check (stoichiometry, totals, every static rule, then
    rename). The input is never modified; nothing is written unless every stage passes
    (or `force`)."""
    restart, out = Path(restart), Path(out)
    refuse_overwriting_inputs(out, restart)
    forc = _beside(restart, "*.datm.forcing.nc", forcing, "forcing")
    surf = _beside(restart, "surfdata_*.nc", surfdata, "surfdata")
    prm = case_params(restart, params)
    artifact = load_model(model_file)
    with open_restart(restart) as r:
        state = SpinupState(restart, out, r, forc, surf, prm, artifact, force, threads,
                            early_history(restart, history, r.year))  # fmt: skip
        gather(state)
        check_ranges(state)
        predict(state)
        ok, table = merge_write_check(state)
    cells, inputs, pft, soil = state.cells, state.inputs, state.pft, state.soil
    assert cells is not None and pft is not None and soil is not None
    result = SpinupResult(str(out), int(cells.lat.size), ok, table, layout=cells.layout or {})
    result.input_ranges = state.ranges.to_dict()
    result.seconds = dict(state.seconds)
    area = inputs["area"]
    written_pft, written_soil = written_pools(inputs["pft_early"], inputs["soil_early"], pft, soil, cells)
    result.totals_pgc = {
        "early": _totals(cells, area, inputs["pft_early"], inputs["soil_early"]),
        "ai": _totals(cells, area, written_pft, written_soil),
    }
    result.land_m2 = float(area.sum())
    if save_inputs:
        write_inputs(save_inputs, inputs, cells, Stoichiometry.from_params(prm), pft, soil)
        result.inputs_file = str(save_inputs)
    return result


def write_checked(
    restart: Path,
    out: Path,
    cells: F.CellPools,
    pft: np.ndarray,
    soil: np.ndarray,
    params: ElmParams,
    history: str,
    force: bool,
    pools: tuple[str, ...] = SLOW_POOLS,
    r: Restart | None = None,
) -> tuple[bool, str]:
    """Merge `pools` into a copy of `restart` (read through `r` when it is open already),
    check the copy with every static rule (the case's parameters) and rename it to `out`
    only if it passes (or `force`). (checks passed, check table)."""
    st = Stoichiometry.from_params(params)
    if r is not None:
        updates = merge_updates(r, cells, pft, soil, st, pools)
    else:
        with open_restart(restart) as opened:
            updates = merge_updates(opened, cells, pft, soil, st, pools)
    tmp = out.with_name(f".{out.name}.unchecked")
    write_restart(restart, tmp, updates, history=history)
    try:
        report = check_restart(tmp, params)
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    if not report.ok and not force:
        tmp.unlink(missing_ok=True)
        raise SpinupCheckError(
            f"the restart elmai built from '{restart}' fails elmai's checks "
            f"({failed_rules(report)}); nothing written (--force keeps it)",
            details=report.failure_lines(),
        )
    tmp.replace(out)
    return report.ok, report.table().replace(str(tmp), str(out))


def write_inputs(
    path, inputs, cells: F.CellPools, st: Stoichiometry, pft: np.ndarray, soil: np.ndarray
) -> None:
    """The model inputs and the merge's ratios, for an in-model (Fortran) spin-up to redo
    the same step: example 03 reads this file."""
    dims = {
        "cell": cells.lat.size,
        "month": 12,
        "forcing_var": len(F.FORCING_VARS),
        "static_var": len(F.STATIC_VARS),
        "pft": cells.weight.shape[1],
        "pft_pool": len(F.PFT_POOLS),
        "level": soil.shape[1],
        "soil_pool": len(F.SOIL_VARS),
        "element": 2,
    }
    v = {
        "forcing": (("cell", "month", "forcing_var"), inputs["forcing"]),
        "static": (("cell", "static_var"), inputs["static"]),
        "pft_weight": (("cell", "pft"), inputs["pft_weight"]),
        "soil_rate": (("cell", "level", "soil_pool"), inputs["soil_rate"]),
        "pft_cn": (("pft_pool", "pft"), np.where(np.isfinite(st.pft_cn), st.pft_cn, 0.0)),
        "pft_cp": (("pft_pool", "pft"), np.where(np.isfinite(st.pft_cp), st.pft_cp, 0.0)),
        "soil_cn": (("soil_pool",), np.nan_to_num(st.soil_cn)),
        "soil_cp": (("soil_pool",), np.nan_to_num(st.soil_cp)),
        "slatop": (("pft",), st.slatop),
        "dz": (("level",), DZSOI_DECOMP),
        "pft_pools": (("cell", "pft", "pft_pool"), pft),
        "soil_pools": (("cell", "level", "soil_pool"), soil),
        # which pools the merge writes (1) and which it leaves as the restart has them (0)
        "written_pft_pool": (("pft_pool",), np.array([float(n in SLOW_POOLS) for n in F.PFT_POOLS])),
        "written_soil_pool": (("soil_pool",), np.array([float(n in SLOW_POOLS) for n in F.SOIL_POOLS])),
        # 1-based restart column of each cell (its natural-vegetation column)
        "cell_column": (("cell",), cells.column + 1.0),
        # N:C and P:C of a pool where the cell's column held none of it (merge.fallback_ratios)
        "fallback_ratio": (("cell", "element", "soil_pool"), fallback_ratios(cells, st)),
    }
    write_netcdf(
        path,
        {k: (d, np.asarray(a, dtype=np.float64), {}) for k, (d, a) in v.items()},
        {"title": "elmai spinup: model inputs, merge ratios and the CLI's predictions"},
        dims=dims,
    )
