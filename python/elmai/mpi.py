"""The MPI world when launched under `mpirun` with more than one rank, else None.

For the numpy work that splits cells or ensemble members over ranks (the data set, the
testbed ensemble); torch training uses `elmai.ml.distributed` instead. Kept apart
from both so the testbed does not import torch to learn its rank.

This is the one place that detects a launch under an MPI launcher: `launcher_size()` reads
the world size the launcher put in the environment (Open MPI, MPICH/Hydra/Slurm PMI,
PMIx), and a launch of more than one rank without mpi4py stops with a clear error instead
of N copies each doing the whole job and writing the same files.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from elmai.errors import RunError

# environment variables MPI launchers set to the number of ranks
SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE")


def launcher_size() -> int:
    """Number of ranks the MPI launcher started (1 when not under one). PMIx launchers set
    PMIX_RANK but not always a size: a rank > 0 means at least two ranks."""
    for name in SIZE_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 1:
            return int(value)
    rank = os.environ.get("PMIX_RANK", "").strip()
    if rank.isdigit() and int(rank) > 0:
        return int(rank) + 1
    return 1


def _no_mpi4py(size: int, reason: str = "") -> RunError:
    return RunError(
        f"launched under an MPI launcher with {size} ranks but mpi4py {reason or 'is not installed'}: "
        "install it (pip install 'elmai[mpi]', built against the same MPI as mpirun) "
        "or run without mpirun"
    )


def check_launch() -> None:
    """Stop early, before any work, when launched on more than one rank without mpi4py."""
    size = launcher_size()
    if size > 1 and importlib.util.find_spec("mpi4py") is None:
        raise _no_mpi4py(size)


def world_comm() -> Any | None:
    try:
        from mpi4py import MPI
    except ImportError as e:
        size = launcher_size()
        if size > 1:
            raise _no_mpi4py(size, f"cannot be imported ({e})") from None
        return None
    return MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None
