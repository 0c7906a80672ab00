"""The core is safe from many Python threads at once: restart reads (netcdf-c, not
thread-safe, runs under one process-wide lock while the GIL is released) and model
forwards (one lock per model) give exactly what a serial run gives."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import elmai
from elmai.io.sample_restart import make_sample_restart
from tests.models_for_tests import MLP, save

NTHREADS = 8


@pytest.fixture(scope="module")
def restarts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("threads")
    paths = []
    for fmt in ("NETCDF3_64BIT_OFFSET", "NETCDF4"):  # classic and HDF5 code paths of netcdf-c
        p = d / f"r_{fmt}.nc"
        make_sample_restart(p, ngridcells=300, format=fmt, n_variables=40)
        paths.append(p)
    return paths


def read_all(path: Path) -> dict[str, np.ndarray]:
    with elmai.open_restart(path) as r:
        return {name: r.read(name) for name in r.variables}


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a
    )


def test_concurrent_restart_reads_match_serial(restarts: list[Path]) -> None:
    reference = {p: read_all(p) for p in restarts}
    shared = {p: elmai.open_restart(p) for p in restarts}  # one handle read by all threads too
    try:

        def job(i: int) -> bool:
            p = restarts[i % len(restarts)]
            if i % 2:
                got = read_all(p)  # open/read/close on this thread
            else:
                got = {name: shared[p].read(name) for name in reference[p]}
            return same(got, reference[p])

        with ThreadPoolExecutor(NTHREADS) as pool:
            results = list(pool.map(job, range(64)))
    finally:
        for r in shared.values():
            r.close()
    assert all(results), f"{results.count(False)} of {len(results)} concurrent reads differed"


def test_concurrent_writes_and_reads(restarts: list[Path], tmp_path: Path) -> None:
    src = restarts[0]
    ref = read_all(src)
    name = "soil4c_vr" if "soil4c_vr" in ref else next(k for k, v in ref.items() if v.dtype == np.float64)

    def job(i: int) -> bool:
        if i % 2:
            dst = tmp_path / f"w{i}.nc"
            elmai.write_restart(src, dst, {name: ref[name] + i}, history=f"thread {i}")
            return np.array_equal(read_all(dst)[name], ref[name] + i)
        return same(read_all(src), ref)

    with ThreadPoolExecutor(NTHREADS) as pool:
        assert all(pool.map(job, range(24)))


@pytest.mark.parametrize("threads", [1, 2])
def test_concurrent_forwards_match_serial(tmp_path: Path, threads: int) -> None:
    path = save(MLP(), tmp_path / "mlp.pt")
    model = elmai.Model(path, threads=threads)  # one model shared by every thread
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((int(n), 5)).astype(np.float32) for n in rng.integers(1, 3000, size=48)]
    serial = [model(x) for x in xs]
    with ThreadPoolExecutor(NTHREADS) as pool:
        parallel = list(pool.map(model, xs))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
    # and a model per thread, loaded concurrently
    with ThreadPoolExecutor(NTHREADS) as pool:
        per_thread = list(pool.map(lambda x: elmai.Model(path, threads=threads)(x), xs[:16]))
    for a, b in zip(serial[:16], per_thread, strict=True):
        np.testing.assert_array_equal(a, b)
