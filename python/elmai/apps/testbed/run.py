"""Drive the testbed: build its inputs, run years of monthly steps with ELM's balance check
every step, write ELM-format files and a per-year log of the spin-up criterion."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from elmai.apps.testbed.climate import DAYS_IN_MONTH
from elmai.apps.testbed.dynamics import State
from elmai.apps.testbed.files import write_forcing, write_surface
from elmai.apps.testbed.history import history_name, write_history
from elmai.apps.testbed.restart import read_testbed_state, restart_name, setup_or_empty, write_testbed_restart
from elmai.apps.testbed.world import World
from elmai.checks import check_balance
from elmai.errors import InvalidArgumentError
from elmai.io.elm_names import CTC_POOLS, ISTSOIL
from elmai.io.elm_params import CTC_PARAMETERS, PFT_PARAMETERS, ElmParams, default_params, read_params
from elmai.io.netcdf_writer import write_netcdf

# CLM5's spin-up criterion: < 3% of land area with |dTOTECOSYSC/dt| > 1 gC/m2/yr. The drift
# is measured over one forcing cycle (same forcing year, one cycle apart), as year-to-year
# changes under inter-annual variability exceed 1 gC/m2/yr at any state; until a full
# cycle has run it is the year-to-year change.
CRITERION_GC_M2_YR = 1.0
CRITERION_AREA = 0.03


@dataclass
class YearLog:
    year: int
    gpp_pgc: float
    nee_pgc: float  # > 0 = source
    totecosysc_pgc: float
    disequilibrium_area: float  # fraction of land area drifting more than the criterion
    balance_failures: int
    drift_years: int = 1  # the window the drift was measured over (a forcing cycle once one has run)
    # what CTSM's SpinupStability script also follows (stocks at the year's end, TLAI its mean)
    totsomc_pgc: float = 0.0
    totvegc_pgc: float = 0.0
    tlai: float = 0.0  # m2/m2, natural-vegetation-area weighted


@dataclass
class RunResult:
    out: str
    case: str
    ngrid: int
    years: list[YearLog] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)
    # global stocks (PgC) at the start of the run, before its first year
    start_pgc: dict[str, float] = field(default_factory=dict)

    @property
    def balance_failures(self) -> int:
        return sum(y.balance_failures for y in self.years)

    def cycle_years(self) -> list[YearLog]:
        """Years whose drift was measured over a whole forcing cycle (free of inter-annual noise)."""
        longest = max((y.drift_years for y in self.years), default=1)
        return [y for y in self.years if y.drift_years == longest]

    def first_year_meeting_criterion(self) -> int | None:
        return next((y.year for y in self.cycle_years() if y.disequilibrium_area < CRITERION_AREA), None)

    def table(self) -> str:
        head = f"{'year':>6} {'GPP PgC':>9} {'NEE PgC':>9} {'TOTECOSYSC':>11}"
        lines = [f"{head} {'diseq. area':>12} {'bal. fail':>9}"]
        for y in self.years:
            lines.append(f"{y.year:>6} {y.gpp_pgc:>9.2f} {y.nee_pgc:>9.3f} {y.totecosysc_pgc:>11.1f} "
                         f"{y.disequilibrium_area:>12.3f} {y.balance_failures:>9}")  # fmt: skip
        return "\n".join(lines)


def _global_stocks(model, state: State, area: np.ndarray) -> dict[str, float]:
    """TOTECOSYSC, TOTSOMC (soil1-4) and TOTVEGC summed over the land (PgC)."""
    som = model.soil_stock(state.soil_c)[CTC_POOLS.index("soil1") :].sum(axis=0)
    return {
        "totecosysc": float((model.totals(state)["C"] * area).sum() / 1e15),
        "totsomc": float((som * area).sum() / 1e15),
        "totvegc": float((model.veg_totals(state)[0] * area).sum() / 1e15),
    }


def write_params(path: str | os.PathLike[str], params: ElmParams) -> None:
    """The parameters the run used, under ELM's names (pft dimension: the 17 natural PFTs)."""
    variables = {name: (("pft",), params.pft[name]) for name in PFT_PARAMETERS}
    variables |= {name: (("allpfts",), np.array([params.ctc[name]])) for name in CTC_PARAMETERS}
    write_netcdf(path, variables, {"title": "elmai testbed parameters", "source": params.source},
                 format="NETCDF3_CLASSIC")  # fmt: skip


FORCING_FORMS = ("monthly", "cpl_bypass", "datm")


def write_forcing_form(folder: Path, form: str, grid, climate) -> list[Path]:
    """The testbed's forcing, 3-hourly, in one of ELM's real forms: cpl_bypass per-variable
    files (GSWP3_<VAR>_<years>_z01.nc + zone_mappings.txt) or datm Solr/Prec/TPQWL streams."""
    from elmai.apps.testbed import forcing_forms as ff

    if form not in FORCING_FORMS:
        raise InvalidArgumentError(f"forcing form must be one of {', '.join(FORCING_FORMS)}, not {form!r}")
    series = ff.climate_series(climate, steps_per_day=8)
    if form == "cpl_bypass":
        return ff.write_cpl_bypass_files(folder, series, grid.cell_lat, grid.cell_lon, steps_per_day=8)
    nlat, nlon = grid.lat.size, grid.lon.size
    maps = {k: ff.to_map(v, grid.jxy - 1, grid.ixy - 1, nlat, nlon) for k, v in series.items()}
    return ff.write_datm_streams(folder, maps, grid.lat, grid.lon, steps_per_day=8)


def run_testbed(
    out: str | os.PathLike[str],
    resolution: float = 2.0,
    years: int = 20,
    restart_years: tuple[int, ...] = (),
    forcing_years: int = 20,
    case: str = "elmai_testbed",
    params_file: str | None = None,
    supplement_nutrients: bool = True,
    spinup: str = "native",
    history_years: int = 0,
    start_from: str | None = None,
    first_year: int = 1,
    seed: int = 0,
    progress: bool = True,
    equilibrium: bool = False,
    topounits: int | None = None,
    crop: bool | None = None,
    glacier_cells: bool | None = None,
    forcing_form: str = "monthly",
    warming: float | None = None,
) -> RunResult:
    """Run `years` simulated years and write restarts `<case>.elm.r.YYYY-01-01-00000.nc` at
    the start of each year in `restart_years` (and after the last year). `start_from` is a
    restart to continue from (testbed- or elmai-written); `first_year` its year. With
    spinup="matrix" the run starts from the semi-analytic equilibrium. Monthly h0
    history files are written for the last `history_years` years. `equilibrium` also writes
    the matrix equilibrium of the same world, `<case>.equilibrium.elm.r.YYYY-01-01-00000.nc`,
    dated at the first start of a forcing cycle at or after the end of the run (the target
    of an AI spin-up). `topounits` (1 or 2), `crop` and `glacier_cells` set the subgrid
    layout (see World); left None they are taken from `start_from`'s testbed_* attributes
    (so `verify` rebuilds the same world), else 1 / off. `forcing_form` "cpl_bypass" or
    "datm" also writes the forcing, 3-hourly, in that real form under `forcing_<form>/`
    (elmai.apps.testbed.forcing_forms; large: 3-hourly data of every cell and year). `warming`
    (K, default: `start_from`'s, else 0) shifts the world's temperatures (World.build).
    The parameters are written to `out`/clm_params.nc and the restarts record that file
    (testbed_params_file), so a continuation (`verify`) runs the same parameters.

    Global sums (GPP, NEE, TOTECOSYSC in PgC) and the criterion's area weight each gridcell
    by the area of its natural-vegetation landunit (land area x PCT_NATVEG): the testbed
    simulates that column only; lake, wetland, glacier, urban and crop columns hold no carbon.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    earlier = setup_or_empty(start_from) if start_from else {}
    if params_file is None and earlier.get("params_file") and Path(str(earlier["params_file"])).exists():
        params_file = str(earlier["params_file"])
    params = read_params(params_file) if params_file else default_params()
    warming = float(earlier.get("warming_k", 0.0)) if warming is None else float(warming)
    topounits = int(earlier.get("topounits", 1)) if topounits is None else topounits
    crop = bool(earlier.get("crop", 0)) if crop is None else crop
    glacier_cells = bool(earlier.get("glacier_cells", 0)) if glacier_cells is None else glacier_cells
    world = World.build(resolution, forcing_years, seed, params, topounits, crop, glacier_cells, warming)
    layout = world.layout()
    natveg_weight = layout.landunit_weights[ISTSOIL]
    grid, climate, surface = world.grid, world.climate, world.surface
    surfdata = f"surfdata_{resolution:g}deg.nc"
    write_surface(out / surfdata, grid, surface)
    write_forcing(out / f"{case}.datm.forcing.nc", grid, climate)
    if forcing_form != "monthly":
        write_forcing_form(out / f"forcing_{forcing_form}", forcing_form, grid, climate)
    write_params(out / "clm_params.nc", params)
    if spinup not in ("native", "ad", "matrix"):
        raise InvalidArgumentError(f"spinup must be 'native', 'ad' or 'matrix', not {spinup!r}")
    if spinup == "matrix" and not supplement_nutrients:
        raise InvalidArgumentError(
            "the matrix equilibrium needs supplemental nutrients (omit --no-supplement)"
        )
    model = world.model(accelerated=spinup == "ad", supplement_nutrients=supplement_nutrients)
    state = read_testbed_state(start_from, model) if start_from else State.bare(grid.ngrid)
    if spinup == "matrix":  # start from the semi-analytic equilibrium; the years then verify it
        from elmai.apps.testbed.equilibrium import solve_equilibrium

        state = solve_equilibrium(model, climate, state)
    area = world.natveg_area_m2
    result = RunResult(out=str(out), case=case, ngrid=grid.ngrid)
    setup = {
        "resolution_deg": np.float64(resolution),
        "seed": np.int32(seed),
        "forcing_years": np.int32(forcing_years),
        "supplement_nutrients": np.int32(supplement_nutrients),
        "spinup": spinup,
        "topounits": np.int32(topounits),
        "crop": np.int32(crop),
        "glacier_cells": np.int32(glacier_cells),
        "warming_k": np.float64(warming),
        "params_file": str((out / "clm_params.nc").resolve()),
    }
    wanted = set(restart_years) | {first_year + years}
    where = {
        "column_gridcell": np.arange(grid.ngrid),
        "gridcell_lat": grid.cell_lat,
        "gridcell_lon": grid.cell_lon,
    }
    history: list[np.ndarray] = []  # TOTECOSYSC at the start of each year of this run
    result.start_pgc = _global_stocks(model, state, area)
    lai_of = model.params.pft["slatop"][None, :] * model.wtcol  # column TLAI per gC/m2 of leaf

    from tqdm import tqdm

    bar = tqdm(range(first_year, first_year + years), desc="testbed years", unit="yr", disable=not progress)
    for year in bar:
        if year in wanted and year != first_year + years:
            path = out / restart_name(case, year)
            write_testbed_restart(path, grid, model, state, year, case, setup, layout, surfdata)
            result.restarts.append(str(path))
        start_total = model.totals(state)["C"]
        history.append(start_total)
        gpp = nee = lai = np.zeros(grid.ngrid)
        failures = 0
        for month in range(12):
            dt = DAYS_IN_MONTH[month] * 86400.0
            before = model.totals(state)
            # the forcing cycle follows the simulated year, so a continuation sees the same years
            forcing = climate.month(year - 1, month)
            f = model.step(state, forcing, dt)
            after = model.totals(state)
            for element, (ins, outs) in f.balance_terms().items():
                report = check_balance(
                    before[element], after[element], ins, outs, dt, element=element, **where
                )
                failures += len(report.failures)
            gpp = gpp + f.gpp * dt
            lai = lai + (state.veg_c[0] * lai_of).sum(axis=1) / 12.0
            nee = nee + f.nee * dt
            if year > first_year + years - 1 - history_years:
                write_history(
                    out / history_name(case, year, month), grid, model, state, f, year, month, case,
                    forcing=forcing, dt=dt, natveg_weight=natveg_weight,
                )  # fmt: skip
        end_total = model.totals(state)["C"]
        if len(history) >= climate.nyears:  # one forcing cycle back: the same forcing year
            drift = (end_total - history[len(history) - climate.nyears]) / climate.nyears
            window = climate.nyears
        else:
            drift = end_total - start_total
            window = 1
        log = YearLog(
            year=year,
            gpp_pgc=float((gpp * area).sum() / 1e15),
            nee_pgc=float((nee * area).sum() / 1e15),
            totecosysc_pgc=float((model.totals(state)["C"] * area).sum() / 1e15),
            disequilibrium_area=float(np.average(np.abs(drift) > CRITERION_GC_M2_YR, weights=area)),
            balance_failures=failures,
            drift_years=window,
            tlai=float(np.average(lai, weights=area)),
            **{f"{k}_pgc": v for k, v in _global_stocks(model, state, area).items() if k != "totecosysc"},
        )
        result.years.append(log)
        bar.set_postfix(nee=f"{log.nee_pgc:.2f}", diseq=f"{log.disequilibrium_area:.2f}")
    final = out / restart_name(case, first_year + years)
    write_testbed_restart(final, grid, model, state, first_year + years, case, setup, layout, surfdata)
    result.restarts.append(str(final))
    if equilibrium:
        from elmai.apps.testbed.equilibrium import solve_equilibrium

        eq = solve_equilibrium(model, climate, state)
        end = first_year + years
        date = end + (-(end - 1)) % climate.nyears  # forcing year 0, as the solution
        path = out / restart_name(f"{case}.equilibrium", date)
        write_testbed_restart(
            path, grid, model, eq, date, case, setup | {"spinup": "matrix"}, layout, surfdata
        )
        result.restarts.append(str(path))
    log = asdict(result) | {"balance_failures": result.balance_failures}
    (out / "spinup_log.json").write_text(json.dumps(log, indent=2))
    return result
