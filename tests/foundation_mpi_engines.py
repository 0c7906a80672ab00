"""Run under `mpirun -n 2 python tests/foundation_mpi_engines.py CORPUS OUT ENGINE...`:
the tiny foundation model pretrained for 20 steps under each engine in one launch (one
process-group start for all engines keeps the test fast); rank 0 writes each
OUT/ENGINE/pretrain_summary.json."""

from __future__ import annotations

import sys

import torch

from elmai.apps.foundation.corpus import Corpus
from elmai.apps.foundation.pretrain import PretrainOptions, pretrain
from elmai.ml import distributed

TINY = {"size": "tiny", "patch": 6, "steps": 20, "batch": 4, "checkpoint_every": 10, "lr": 3e-3, "warmup": 20}


def main(corpus: str, out: str, engines: list[str]) -> int:
    torch.set_num_threads(1)
    ctx = distributed.init()
    c = Corpus.open(corpus)
    for engine in engines:
        pretrain(c, f"{out}/{engine}", PretrainOptions(engine=engine, **TINY), ctx, progress=False)
    distributed.shutdown(ctx)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1], sys.argv[2], sys.argv[3:])
    distributed.leave(code)
    sys.exit(code)
