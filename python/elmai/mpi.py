"""The MPI world when launched under `mpirun` with more than one rank, else None.

For the numpy work that splits cells or ensemble members over ranks (the data set, the
testbed ensemble); torch training uses `elmai.training.distributed` instead. Kept apart
from both so the testbed does not import torch to learn its rank.
"""

from __future__ import annotations

from typing import Any


def world_comm() -> Any | None:
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None
