"""The grid-cell data set of the AI spin-up: build it from ELM-format files, store it as
NetCDF (dims, units, normalisation statistics and splits inside), and load it back.

Groups per gridcell: forcing (month, forcing_var), static (static_var), PFT traits
(pft, trait; the parameters are the same everywhere, the PFT weight is not), PFT pools
(pft, pft_pool) and soil pools (level, soil_pool) at the early year; targets: the same
pools at equilibrium. Plus lat, lon, land area, the climatological decay rate of each
soil pool and level, and the respired fractions (for the cascade-balance constraint).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from elmai.data import features as F
from elmai.data.normalize import GROUPS, fit_stats
from elmai.data.splits import TEST, TRAIN, VALID, block_split, random_split
from elmai.errors import ElmaiError, InputNotFoundError, ShapeError
from elmai.io.elm_names import NATPFT, NLEVDECOMP
from elmai.io.history import files_before
from elmai.io.netcdf_writer import write_netcdf
from elmai.io.restart import open_restart
from elmai.mpi import world_comm

SPLITS = ("random", "block")
SHARED = ("traits", "respired_fraction")  # the same for every cell
# the arrays the spin-up model reads, in its input order (elmai.models.spinup_transformer.INPUT_NAMES)
MODEL_INPUTS = ("forcing", "static", "pft_weight", "pft_early", "soil_early", "decay_rate")
DIMS = {
    "forcing": ("cell", "month", "forcing_var"),
    "static": ("cell", "static_var"),
    "traits": ("pft", "trait_param"),
    "pft_weight": ("cell", "pft"),
    "pft_early": ("cell", "pft", "pft_pool"),
    "soil_early": ("cell", "level", "soil_pool"),
    "pft_target": ("cell", "pft", "pft_pool"),
    "soil_target": ("cell", "level", "soil_pool"),
    "decay_rate": ("cell", "level", "soil_pool"),
    "lat": ("cell",),
    "lon": ("cell",),
    "area": ("cell",),
    "respired_fraction": ("soil_pool",),
}
UNITS = {
    "pft_early": "gC/m2",
    "pft_target": "gC/m2",
    "soil_early": "gC/m3",
    "soil_target": "gC/m3",
    "decay_rate": "1/yr",
    "lat": "degrees_north",
    "lon": "degrees_east",
    "area": "m2",
    "pft_weight": "1",
}
NAMES = {
    "forcing_var": F.FORCING_VARS,
    "static_var": F.STATIC_VARS,
    "trait_param": F.PFT_PARAMETERS,
    "pft_pool": F.PFT_POOLS,
    "soil_pool": F.SOIL_VARS,
}


@dataclass
class SpinupData:
    arrays: dict[str, np.ndarray]
    splits: dict[str, np.ndarray]  # {"random"|"block": (ncell,) 0 train, 1 valid, 2 test}
    stats: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    attrs: dict[str, object] = field(default_factory=dict)

    @property
    def ncell(self) -> int:
        return self.arrays["lat"].size

    def indices(self, split: str, part: int) -> np.ndarray:
        return np.flatnonzero(self.splits[split] == part)

    def subset(self, cells: np.ndarray) -> dict[str, np.ndarray]:
        """The per-cell arrays of `cells` (traits are shared)."""
        return {k: (v if k in SHARED else v[cells]) for k, v in self.arrays.items()}


def find_restart(run_dir: Path, year: int, case: str | None = None) -> Path:
    pattern = f"{case or '*'}.elm.r.{year:04d}-01-01-00000.nc"
    hits = sorted(p for p in run_dir.glob(pattern) if ".equilibrium." not in p.name)
    if not hits:
        raise InputNotFoundError(f"no restart {pattern} in '{run_dir}'")
    return hits[0]


def find_target(run_dir: Path) -> Path:
    hits = sorted(run_dir.glob("*.equilibrium.elm.r.*.nc"))
    if not hits:
        raise InputNotFoundError(
            f"no equilibrium restart (*.equilibrium.elm.r.*.nc) in '{run_dir}': give --target "
            "(a restart at equilibrium of the same case, e.g. from a conventional spin-up)"
        )
    return hits[-1]


def build_dataset(
    run_dir: str | os.PathLike[str],
    early_year: int,
    out: str | os.PathLike[str] | None = None,
    target: str | os.PathLike[str] | None = None,
    surfdata: str | None = None,
    forcing: str | None = None,
    params: str | None = None,
    seed: int = 0,
    block_deg: float = 10.0,
) -> SpinupData:
    """Read the files of one case and write the data set to `out` (rank 0 under mpirun;
    the ranks split the cells for the per-cell work)."""
    run = Path(run_dir)
    early = find_restart(run, early_year)
    target = Path(target) if target else find_target(run)
    surf = Path(surfdata) if surfdata else next(iter(sorted(run.glob("surfdata_*.nc"))), None)
    forc = Path(forcing) if forcing else next(iter(sorted(run.glob("*.datm.forcing.nc"))), None)
    for what, p in (("surface data", surf), ("forcing", forc)):
        if p is None or not p.exists():
            raise InputNotFoundError(f"{what} not found in '{run}' (give --surfdata/--forcing)")
    prm = F.load_params(run, params)
    e, t = F.read_cell_pools(early), F.read_cell_pools(target)
    if e.pft.shape != t.pft.shape or not np.allclose(e.lat, t.lat):
        raise ShapeError(f"'{early}' and '{target}' are not the same grid ({e.pft.shape} vs {t.pft.shape})")
    if e.spinup_state or t.spinup_state:
        raise ElmaiError("AD-mode restarts (spinup_state = 1): give normal-mode files (ELM rescales on exit)")
    comm = world_comm()
    rank, size = (comm.Get_rank(), comm.Get_size()) if comm else (0, 1)
    mine = np.array_split(np.arange(e.lat.size), size)[rank]
    scal = None if e.scalaravg is None else e.scalaravg[mine]
    with open_restart(early) as r:
        history = files_before(run, r.year)  # the h0 of the run up to the early restart, if any
    forcing_cells, static_cells, area_cells, rates = F.climate_inputs(
        forc, surf, prm, e.lat[mine], e.lon[mine], scal, history
    )
    if comm:
        parts = comm.gather((forcing_cells, static_cells, area_cells, rates), root=0)
        if rank != 0:
            comm.Barrier()
            return SpinupData({}, {})
        forcing_cells, static_cells, area_cells, rates = (np.concatenate(p) for p in zip(*parts, strict=True))
    case = early.name.split(".elm.r.")[0]
    arrays = {
        "forcing": forcing_cells,
        "static": static_cells,
        "traits": F.pft_traits(prm),
        "pft_weight": e.weight,
        "pft_early": e.pft,
        "soil_early": e.soil,
        "pft_target": np.where(e.weight[..., None] > 0, t.pft, 0.0),
        "soil_target": t.soil,
        "decay_rate": rates,
        "lat": e.lat,
        "lon": e.lon,
        "area": area_cells * e.column_weight,  # the column's share of its gridcell's land
        "respired_fraction": F.respired_fractions(prm),
    }
    splits = {"random": random_split(e.lat.size, seed), "block": block_split(e.lat, e.lon, block_deg, seed)}
    data = SpinupData(
        arrays,
        splits,
        attrs={
            "early_restart": str(early),
            "target_restart": str(target),
            "early_year": early_year,
            "case": case,
            "seed": seed,
        },
    )
    data.stats = {s: fit_stats(arrays, splits[s] == TRAIN) for s in SPLITS}
    if out is not None:
        save(data, out)
    if comm:
        comm.Barrier()
    return data


def merge(parts: list[SpinupData], seed: int = 0, block_deg: float = 10.0) -> SpinupData:
    """One data set from the cells of several worlds (resolutions, seeds, climates,
    decomposition parameters), with fresh splits and statistics. The PFT traits and
    respired fractions are constants of the model, so the worlds must share them."""
    if not parts:
        raise ElmaiError("no data sets to merge")
    first = parts[0]
    for i, d in enumerate(parts[1:], 2):
        for name in SHARED:
            if not np.allclose(d.arrays[name], first.arrays[name]):
                raise ElmaiError(
                    f"data set {i} ({d.attrs.get('case', '?')}) has other {name} than data set 1: the "
                    "spin-up model holds them as constants, so worlds with different per-PFT parameters "
                    "or respired fractions cannot share one data set"
                )
    arrays = {k: np.concatenate([d.arrays[k] for d in parts]) for k in first.arrays if k not in SHARED}
    arrays |= {k: first.arrays[k] for k in SHARED}
    # blocks are per world: shift each world's latitudes so that two worlds never share one
    shifted = np.concatenate([d.arrays["lat"] + 1000.0 * i for i, d in enumerate(parts)])
    n = arrays["lat"].size
    splits = {"random": random_split(n, seed), "block": block_split(shifted, arrays["lon"], block_deg, seed)}
    attrs = {
        "case": "+".join(str(d.attrs.get("case", "?")) for d in parts),
        "seed": seed,
        "worlds": ";".join(f"{d.attrs.get('case', '?')}:{d.ncell}" for d in parts),
        "early_restart": ";".join(str(d.attrs.get("early_restart", "")) for d in parts),
        "target_restart": ";".join(str(d.attrs.get("target_restart", "")) for d in parts),
    }
    data = SpinupData(arrays, splits, attrs=attrs)
    data.stats = {s: fit_stats(arrays, splits[s] == TRAIN) for s in SPLITS}
    return data


def with_split(data: SpinupData, split: np.ndarray, name: str = "random") -> SpinupData:
    """The same cells with split `name` replaced (and its statistics refitted)."""
    splits = dict(data.splits) | {name: split.astype(np.int8)}
    stats = dict(data.stats) | {name: fit_stats(data.arrays, split == TRAIN)}
    return SpinupData(data.arrays, splits, stats, dict(data.attrs))


def save(data: SpinupData, path: str | os.PathLike[str]) -> None:
    a = data.arrays
    variables: dict[str, tuple] = {}
    for name, dims in DIMS.items():
        attrs = {"units": UNITS[name]} if name in UNITS else {}
        variables[name] = (dims, np.asarray(a[name], dtype=np.float64), attrs)
    for split, values in data.splits.items():
        variables[f"split_{split}"] = (
            ("cell",),
            values.astype(np.int8),
            {"flag_values": "0 1 2", "flag_meanings": "train valid test"},
        )
        for group, (mean, std) in data.stats[split].items():
            dims = _stat_dims(group)
            variables[f"stats_{split}_{group}_mean"] = (dims, mean, {"space": _space(group)})
            variables[f"stats_{split}_{group}_std"] = (dims, std, {"space": _space(group)})
    gatts = {
        "title": "elmai AI spin-up data set (one record per gridcell)",
        **{f"names_{k}": ",".join(v) for k, v in NAMES.items()},
        **{k: (np.int32(v) if isinstance(v, int) else str(v)) for k, v in data.attrs.items()},
    }
    dims = {
        "cell": data.ncell,
        "month": 12,
        "forcing_var": len(F.FORCING_VARS),
        "static_var": len(F.STATIC_VARS),
        "pft": NATPFT,
        "trait_param": len(F.PFT_PARAMETERS),
        "trait": len(F.TRAIT_VARS),
        "pft_pool": len(F.PFT_POOLS),
        "level": NLEVDECOMP,
        "soil_pool": len(F.SOIL_VARS),
    }
    write_netcdf(path, variables, gatts, format="NETCDF4", dims=dims)


def _stat_dims(group: str) -> tuple[str, ...]:
    return {
        "forcing": ("forcing_var",),
        "static": ("static_var",),
        "traits": ("trait",),
        "pft_early": ("pft_pool",),
        "pft_target": ("pft_pool",),
        "soil_early": ("level", "soil_pool"),
        "soil_target": ("level", "soil_pool"),
        "decay_rate": ("level", "soil_pool"),
    }[group]


def _space(group: str) -> str:
    return "log1p" if group.startswith(("pft_", "soil_", "decay_")) else "linear"


def load(path: str | os.PathLike[str]) -> SpinupData:
    with open_restart(path) as r:
        missing = [n for n in DIMS if n not in r]
        if missing:
            raise ElmaiError(f"'{path}' is not an elmai spin-up data set (lacks {', '.join(missing)})")
        arrays = {n: r.read(n) for n in DIMS}
        splits = {s: r.read(f"split_{s}").astype(np.int8) for s in SPLITS}
        stats = {
            s: {g: (r.read(f"stats_{s}_{g}_mean"), r.read(f"stats_{s}_{g}_std")) for g in GROUPS}
            for s in SPLITS
        }
        attrs = {k: v for k, v in r.global_attrs.items() if not k.startswith("names_")}
    return SpinupData(arrays, splits, stats, attrs)


__all__ = ["SpinupData", "build_dataset", "load", "merge", "save", "with_split", "TRAIN", "VALID", "TEST"]
