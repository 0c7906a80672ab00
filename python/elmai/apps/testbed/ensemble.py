"""Parameter ensembles of the testbed: draw parameter sets, run one testbed per set, and
keep parameters and outputs together in one NetCDF (`elmai testbed ensemble`).

The parameter list is OLMT's plain-text form, one parameter per line (`#` comments):

    name  min  max          a cascade scalar (q10_hr, k_s1, ...) takes the value; a per-PFT
                            parameter (slatop, froot_leaf, ...) is scaled, all PFTs by one
                            factor drawn in [min, max]
    name  pft  min  max     one PFT's value of a per-PFT parameter

Each member starts from bare ground and runs `years` years of the world's forcing; the
outputs are annual GPP and NEE per gridcell and year (gC/m2/yr), what an emulator learns.
Under `mpirun -n N` the ranks take members round-robin and rank 0 writes the file.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elmai.apps.testbed.climate import DAYS_IN_MONTH
from elmai.apps.testbed.dynamics import State
from elmai.apps.testbed.world import World
from elmai.errors import ElmaiError, InputNotFoundError
from elmai.io.elm_names import NATPFT
from elmai.io.elm_params import CTC_PARAMETERS, PFT_PARAMETERS, ElmParams

OUTPUTS = ("GPP", "NEE")  # annual, gC/m2/yr


@dataclass(frozen=True)
class ParamSpec:
    name: str
    low: float
    high: float
    pft: int | None = None  # one PFT's value; None: scalar value, or all PFTs scaled

    @property
    def scaled(self) -> bool:
        return self.name in PFT_PARAMETERS and self.pft is None

    @property
    def label(self) -> str:
        if self.pft is not None:
            return f"{self.name}[pft{self.pft}]"
        return f"{self.name}_scale" if self.scaled else self.name


def read_param_list(path: str | os.PathLike[str]) -> list[ParamSpec]:
    specs = []
    for lineno, raw in enumerate(Path(path).read_text().splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        where = f"parameter list '{path}' line {lineno}"
        if len(words) not in (3, 4):
            raise ElmaiError(f"{where}: expected 'name min max' or 'name pft min max', got {raw.strip()!r}")
        name = words[0]
        if name not in PFT_PARAMETERS and name not in CTC_PARAMETERS:
            raise ElmaiError(f"{where}: '{name}' is not a parameter the testbed uses")
        try:
            pft = int(words[1]) if len(words) == 4 else None
            low, high = float(words[-2]), float(words[-1])
        except ValueError as e:
            raise ElmaiError(f"{where}: {e}") from None
        if pft is not None and (name not in PFT_PARAMETERS or not 1 <= pft < NATPFT):
            raise ElmaiError(f"{where}: a PFT index (1..{NATPFT - 1}) only goes with a per-PFT parameter")
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ElmaiError(f"{where}: need finite min < max, got {low} {high}")
        specs.append(ParamSpec(name, low, high, pft))
    if not specs:
        raise ElmaiError(f"parameter list '{path}' names no parameters")
    return specs


def draw(specs: list[ParamSpec], n: int, seed: int = 0, latin: bool = False) -> np.ndarray:
    """(n, nparam) parameter sets, uniform within the ranges (or a Latin hypercube)."""
    if latin:
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(specs), seed=seed).random(n)
    else:
        unit = np.random.default_rng(seed).random((n, len(specs)))
    low = np.array([s.low for s in specs])
    high = np.array([s.high for s in specs])
    return low + unit * (high - low)


def apply(base: ElmParams, specs: list[ParamSpec], values: np.ndarray) -> ElmParams:
    p = copy.deepcopy(base)
    for spec, v in zip(specs, values, strict=True):
        if spec.name in CTC_PARAMETERS:
            p.ctc[spec.name] = float(v)
        elif spec.pft is not None:
            p.pft[spec.name][spec.pft] = v
        else:
            p.pft[spec.name] = p.pft[spec.name] * v
    return p


def run_member(world: World, params: ElmParams, years: int) -> dict[str, np.ndarray]:
    """Annual GPP and NEE (years, ngrid) in gC/m2/yr, from bare ground."""
    model = World(world.grid, world.climate, world.surface, params).model()
    s = State.bare(world.grid.ngrid)
    out = {k: np.zeros((years, world.grid.ngrid)) for k in OUTPUTS}
    for year in range(years):
        for month in range(12):
            dt = DAYS_IN_MONTH[month] * 86400.0
            f = model.step(s, world.climate.month(year, month), dt)
            out["GPP"][year] += f.gpp * dt
            out["NEE"][year] += f.nee * dt
    return out


@dataclass
class Ensemble:
    """Parameters (member, param) and outputs {name: (member, year, gridcell)}."""

    names: list[str]
    low: np.ndarray
    high: np.ndarray
    params: np.ndarray
    outputs: dict[str, np.ndarray]
    lat: np.ndarray | None = None
    lon: np.ndarray | None = None
    area: np.ndarray | None = None

    @property
    def nmember(self) -> int:
        return self.params.shape[0]

    def flat(self, output: str) -> np.ndarray:
        """(member, nout) outputs of one variable, years and cells flattened."""
        if output not in self.outputs:
            raise ElmaiError(f"ensemble has no output '{output}' (it has {', '.join(self.outputs)})")
        y = self.outputs[output]
        return y.reshape(y.shape[0], -1)

    def save(self, path: str | os.PathLike[str]) -> None:
        from elmai.io.netcdf_writer import write_netcdf

        v: dict = {
            "parameters": (("member", "param"), self.params, {"long_name": "parameter values"}),
            "param_min": (("param",), self.low),
            "param_max": (("param",), self.high),
        }
        for name, y in self.outputs.items():
            v[name] = (
                ("member", "year", "gridcell"),
                y,
                {"units": "gC/m2/yr", "long_name": f"annual {name}"},
            )
        for name, a, units in (
            ("lat", self.lat, "degrees_north"),
            ("lon", self.lon, "degrees_east"),
            ("area", self.area, "m2"),
        ):
            if a is not None:
                v[name] = (("gridcell",), a, {"units": units})
        write_netcdf(
            path,
            v,
            {"param_names": " ".join(self.names), "title": "elmai parameter ensemble"},
            format="NETCDF4",
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Ensemble:
        from elmai.io.restart import open_restart

        if not Path(path).exists():
            raise InputNotFoundError(f"ensemble file '{path}' does not exist")
        with open_restart(path) as r:
            for var in ("parameters", "param_min", "param_max"):
                if var not in r:
                    raise ElmaiError(f"'{path}' is not an elmai ensemble: it lacks '{var}'")
            names = str(r.global_attrs["param_names"]).split()
            outs = {
                k: np.asarray(r.read(k), dtype=np.float64)
                for k in r.variables
                if r.info(k).dims == ("member", "year", "gridcell")
            }
            get = lambda k: np.asarray(r.read(k), dtype=np.float64) if k in r else None  # noqa: E731
            return cls(
                names,
                get("param_min"),
                get("param_max"),
                get("parameters"),
                outs,
                get("lat"),
                get("lon"),
                get("area"),
            )


def run_ensemble(
    specs: list[ParamSpec],
    n: int,
    out: str | os.PathLike[str] | None = None,
    resolution: float = 10.0,
    years: int = 20,
    seed: int = 0,
    latin: bool = False,
    base: ElmParams | None = None,
    progress: bool = True,
) -> Ensemble | None:
    """Run n members (spread over MPI ranks); rank 0 returns the ensemble (and writes `out`)."""
    from tqdm import tqdm

    from elmai.mpi import world_comm

    comm = world_comm()
    rank, world_size = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
    values = draw(specs, n, seed, latin)
    world = World.build(resolution, forcing_years=years, seed=seed, params=base)
    mine = range(rank, n, world_size)
    results = {}
    for m in tqdm(
        mine,
        desc=f"ensemble ({n} members, {world_size} rank(s))",
        unit="member",
        disable=not progress or rank != 0,
    ):
        results[m] = run_member(world, apply(world.params, specs, values[m]), years)
    if comm is not None and world_size > 1:
        gathered = comm.gather(results, root=0)
        if rank != 0:
            return None
        results = {k: v for part in gathered for k, v in part.items()}
    ens = Ensemble(
        [s.label for s in specs],
        np.array([s.low for s in specs]),
        np.array([s.high for s in specs]),
        values,
        {k: np.stack([results[m][k] for m in range(n)]) for k in OUTPUTS},
        world.grid.cell_lat,
        world.grid.cell_lon,
        world.area_m2,
    )
    if out is not None:
        ens.save(out)
    return ens


def global_gpp_pg(ens: Ensemble) -> np.ndarray:
    """(member, year) global GPP in PgC/yr."""
    return (ens.outputs["GPP"] * ens.area).sum(-1) / 1e15
