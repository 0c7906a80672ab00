"""Rank and world from MPI (mpirun), then torch.distributed: gloo on CPU, nccl on GPU.

`mpirun -n N elmai train ...` starts N processes; mpi4py tells each its rank, rank 0
picks a free port and broadcasts it, and torch.distributed rendezvous on it. Launched
without mpirun (or with one rank) everything runs in-process with no process group.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Context:
    rank: int = 0
    world: int = 1
    device: str = "cpu"

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


# Set once this process has run a torch.distributed process group; `leave` then ends it.
_process_group_started = False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init(backend: str | None = None) -> Context:
    try:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        rank, world = comm.Get_rank(), comm.Get_size()
    except ImportError:
        from elmai.mpi import world_comm

        world_comm()  # stops with a clear error under an MPI launcher of more than one rank
        comm, rank, world = None, 0, 1
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.cuda.set_device(rank % torch.cuda.device_count())
        device = f"cuda:{rank % torch.cuda.device_count()}"
    ctx = Context(rank, world, device)
    if world > 1 and not dist.is_initialized():
        port = comm.bcast(_free_port() if rank == 0 else None, root=0)
        addr = comm.bcast(socket.gethostbyname(socket.gethostname()) if rank == 0 else None, root=0)
        os.environ.setdefault("MASTER_ADDR", addr)
        os.environ.setdefault("MASTER_PORT", str(port))
        os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
        dist.init_process_group(
            backend or ("nccl" if device.startswith("cuda") else "gloo"), rank=rank, world_size=world
        )
        global _process_group_started
        _process_group_started = True
    return ctx


def mpirun_command(ranks: int, *args: str) -> tuple[list[str], dict[str, str]]:
    """`mpirun -n ranks elmai ARGS` and its environment: Open MPI allowed as root (containers),
    one OpenMP thread per rank so that ranks do not fight over the cores."""
    import sys
    from pathlib import Path

    elmai_cli = str(Path(sys.executable).with_name("elmai"))
    env = os.environ | {
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMP_NUM_THREADS": "1",
    }
    return ["mpirun", "-n", str(ranks), "--oversubscribe", elmai_cli, *args], env


def all_reduce_sum(values: torch.Tensor, ctx: Context) -> torch.Tensor:
    if ctx.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def shutdown(ctx: Context) -> None:
    """Collective: every rank calls it. The barrier first lets Gloo's worker threads finish
    and release the last collectives' tensors while the interpreter is alive; a rank that
    exits right after its last all_reduce can otherwise abort in that release (a torch
    teardown race: rank 1 of `elmai uq emulate train` died with SIGABRT once in CI)."""
    if ctx.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def leave(code: int) -> None:
    """End a rank that ran a process group without Python's interpreter finalisation.

    Gloo's worker threads drop their last references to finished collectives (and through
    them to Python tensors) after the waiting call has returned; a rank that reaches
    finalisation first aborts (SIGABRT in ProcessGroupGloo::runLoop, seen twice in CI on
    rank 1 of `elmai uq emulate train`, after the barrier in `shutdown`). Exiting with
    os._exit once the output is flushed and MPI finalised leaves no interpreter for those
    threads to race. A no-op in a process that never started a process group."""
    if not _process_group_started:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        from mpi4py import MPI

        if MPI.Is_initialized() and not MPI.Is_finalized():
            MPI.Finalize()
    except ImportError:
        pass
    os._exit(code)
