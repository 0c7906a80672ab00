"""The pretraining corpus: monthly maps of many worlds in one chunked NetCDF-4 store
(`corpus.nc`, variable `maps` (world, time, channel, lat, lon), one (lat, lon) map per
chunk, zlib), with `manifest.json` beside it (worlds, channels, units, per-channel
statistics in model space, size, build time). Both are written to temporary names and
renamed at the end, so a killed build leaves no half corpus under the real names."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elmai.apps.foundation.variables import CHANNELS, forward_transform
from elmai.apps.foundation.worlds import WorldSpec, simulate
from elmai.errors import ElmaiFileError, FileFormatError, InvalidValueError, VariableNotFoundError

__all__ = ["CORPUS_FILE", "MANIFEST_FILE", "Corpus", "build_corpus"]

CORPUS_FILE = "corpus.nc"
MANIFEST_FILE = "manifest.json"


def build_corpus(
    out: str | os.PathLike[str],
    specs: list[WorldSpec],
    years: int,
    spin_years: int = 0,
    progress: bool = True,
) -> dict:
    """Simulate every world and write OUT/corpus.nc and OUT/manifest.json; returns the manifest."""
    import netCDF4
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not specs:
        raise InvalidValueError("a corpus needs at least one world")
    if len({s.resolution for s in specs}) != 1:
        raise InvalidValueError("every world of a corpus must have the same resolution")
    names = [c.name for c in CHANNELS]
    tmp = out / f".{CORPUS_FILE}.{os.getpid()}.tmp"
    start = time.perf_counter()
    # running sums of the model-space fields over land, for per-channel mean and std
    total = np.zeros(len(names))
    square = np.zeros(len(names))
    count = np.zeros(len(names))
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        bar = tqdm(specs, desc="corpus worlds", unit="world", disable=not progress)
        var = None
        for w, spec in enumerate(bar):
            world, maps = simulate(spec, years, spin_years)
            if var is None:
                nt, nc_, nlat, nlon = maps.shape
                nc.createDimension("world", len(specs))
                nc.createDimension("time", nt)
                nc.createDimension("channel", nc_)
                nc.createDimension("lat", nlat)
                nc.createDimension("lon", nlon)
                nc.createVariable("lat", "f8", ("lat",))[:] = world.grid.lat
                nc.createVariable("lon", "f8", ("lon",))[:] = world.grid.lon
                ch = nc.createVariable("channel", str, ("channel",))
                for i, n in enumerate(names):
                    ch[i] = n
                var = nc.createVariable(
                    "maps",
                    "f4",
                    ("world", "time", "channel", "lat", "lon"),
                    zlib=True,
                    complevel=1,
                    chunksizes=(1, 1, 1, nlat, nlon),
                    fill_value=np.float32(np.nan),
                )
                var.long_name = "monthly maps of every channel, NaN off land"
            var[w] = maps
            z = forward_transform(maps.astype(np.float64), names, axis=1)
            land = np.isfinite(z)
            total += np.where(land, z, 0).sum(axis=(0, 2, 3))
            square += np.where(land, z * z, 0).sum(axis=(0, 2, 3))
            count += land.sum(axis=(0, 2, 3))
            bar.set_postfix(world=spec.label())
        shape = var.shape
        nc.title = "elmai foundation-model corpus"
        nc.worlds = json.dumps([s.as_dict() for s in specs])
    mean = total / np.maximum(count, 1)
    std = np.sqrt(np.maximum(square / np.maximum(count, 1) - mean**2, 0.0))
    std = np.where(std > 1e-8, std, 1.0)  # a constant channel (LANDMASK-like) stays as it is
    seconds = time.perf_counter() - start
    manifest = {
        "file": CORPUS_FILE,
        "worlds": [s.as_dict() | {"label": s.label()} for s in specs],
        "years": years,
        "spin_years": spin_years,
        "resolution": specs[0].resolution,
        "shape": {
            "world": len(specs),
            "time": 12 * years,
            "channel": len(names),
            "lat": int(shape[3]),
            "lon": int(shape[4]),
        },
        "channels": [{"name": c.name, "group": c.group, "units": c.units, "log": c.log} for c in CHANNELS],
        "mean": mean.tolist(),
        "std": std.tolist(),
        "bytes": tmp.stat().st_size,
        "build_seconds": seconds,
    }
    os.replace(tmp, out / CORPUS_FILE)
    mtmp = out / f".{MANIFEST_FILE}.{os.getpid()}.tmp"
    mtmp.write_text(json.dumps(manifest, indent=2))
    os.replace(mtmp, out / MANIFEST_FILE)
    return manifest


@dataclass
class Corpus:
    """A built corpus: `fields(world)` gives (time, channel, lat, lon) in model space
    (transformed and standardised with the manifest's statistics, 0 off land) and
    `land` the (lat, lon) mask."""

    folder: Path
    manifest: dict

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Corpus:
        folder = Path(folder)
        mpath = folder / MANIFEST_FILE
        if not mpath.is_file() or not (folder / CORPUS_FILE).is_file():
            raise ElmaiFileError(
                f"corpus '{folder}' has no {MANIFEST_FILE} and {CORPUS_FILE} (build it first)"
            )
        try:
            manifest = json.loads(mpath.read_text())
        except json.JSONDecodeError as e:
            raise FileFormatError(f"corpus manifest '{mpath}' is not JSON: {e}") from None
        return cls(folder, manifest)

    @property
    def path(self) -> Path:
        return self.folder / CORPUS_FILE

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.manifest["channels"]]

    @property
    def nworld(self) -> int:
        return int(self.manifest["shape"]["world"])

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        import netCDF4

        with netCDF4.Dataset(self.path) as nc:
            return np.asarray(nc["lat"][:]), np.asarray(nc["lon"][:])

    def raw(self, world: int, channels: list[str] | None = None) -> np.ndarray:
        """(time, channel, lat, lon) in raw units, NaN off land; a NaN on land is an error."""
        import netCDF4

        names = self.names
        want = names if channels is None else channels
        for n in want:
            if n not in names:
                raise VariableNotFoundError(
                    f"corpus '{self.path}': no channel '{n}' (it has {', '.join(names)})"
                )
        idx = [names.index(n) for n in want]
        with netCDF4.Dataset(self.path) as nc:
            data = np.asarray(nc["maps"][world][:, idx].filled(np.nan), dtype=np.float32)
        land = np.isfinite(data[0, want.index("LANDFRAC")]) if "LANDFRAC" in want else self.land_mask()
        bad = ~np.isfinite(data) & land[None, None]
        if bad.any():
            t, c, j, i = (int(v[0]) for v in np.nonzero(bad))
            raise InvalidValueError(
                f"corpus '{self.path}': NaN on land in channel '{want[c]}' (world {world}, month {t}, "
                f"cell {j},{i}) of shape {tuple(data.shape)}"
            )
        return data

    def land_mask(self) -> np.ndarray:
        import netCDF4

        c = self.names.index("LANDFRAC")
        with netCDF4.Dataset(self.path) as nc:
            return np.isfinite(np.asarray(nc["maps"][0, 0, c].filled(np.nan)))

    def stats(self, channels: list[str], stats: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) (1, C, 1, 1) of `channels`: this corpus's, or `stats` (a pretrained
        model's {"variables", "mean", "std"}: a model keeps the normalisation it learnt)."""
        src = stats or {"variables": self.names, "mean": self.manifest["mean"], "std": self.manifest["std"]}
        idx = [src["variables"].index(n) for n in channels]
        mean = np.asarray(src["mean"])[idx].reshape(1, -1, 1, 1)
        std = np.asarray(src["std"])[idx].reshape(1, -1, 1, 1)
        return mean, std

    def normalise(self, raw: np.ndarray, channels: list[str], stats: dict | None = None) -> np.ndarray:
        mean, std = self.stats(channels, stats)
        z = (forward_transform(raw.astype(np.float64), channels, axis=1) - mean) / std
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    def fields(self, world: int, channels: list[str] | None = None, stats: dict | None = None) -> np.ndarray:
        channels = self.names if channels is None else channels
        return self.normalise(self.raw(world, channels), channels, stats)
