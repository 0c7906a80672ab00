"""Train/validation/test splits of gridcells: random, and by spatial blocks so that
neighbouring cells never sit on both sides of the split."""

from __future__ import annotations

import numpy as np

TRAIN, VALID, TEST = 0, 1, 2
FRACTIONS = (0.7, 0.15, 0.15)


def random_split(ncell: int, seed: int = 0, fractions: tuple[float, float, float] = FRACTIONS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    order = rng.permutation(ncell)
    n_train, n_valid = int(fractions[0] * ncell), int(fractions[1] * ncell)
    split = np.full(ncell, TEST, dtype=np.int8)
    split[order[:n_train]] = TRAIN
    split[order[n_train : n_train + n_valid]] = VALID
    return split


def block_split(
    lat: np.ndarray,
    lon: np.ndarray,
    block_deg: float = 10.0,
    seed: int = 0,
    fractions: tuple[float, float, float] = FRACTIONS,
) -> np.ndarray:
    """Whole lat-lon blocks go to one set, filled in random order until each set holds its
    share of cells."""
    block = np.floor((lat + 90) / block_deg).astype(int) * 1000 + np.floor((lon % 360) / block_deg).astype(
        int
    )
    ids, inverse, counts = np.unique(block, return_inverse=True, return_counts=True)
    rng = np.random.default_rng(seed)
    split_of_block = np.full(ids.size, TRAIN, dtype=np.int8)
    filled = np.zeros(3)
    want = np.array(fractions) * lat.size
    for b in rng.permutation(ids.size):
        s = int(np.argmax(want - filled))  # the set furthest below its share
        split_of_block[b] = s
        filled[s] += counts[b]
    return split_of_block[inverse]


def sample_split(ncell: int, fraction: float, seed: int = 0, valid_share: float = 0.2) -> np.ndarray:
    """Few-shot: a random `fraction` of the cells is known (their equilibrium from a
    conventional spin-up of those points), split train/valid by `valid_share`; every other
    cell is a test cell, the ones the model must fill in."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    rng = np.random.default_rng(seed)
    known = rng.permutation(ncell)[: max(2, int(round(fraction * ncell)))]
    n_valid = max(1, int(round(valid_share * known.size)))
    split = np.full(ncell, TEST, dtype=np.int8)
    split[known[n_valid:]] = TRAIN
    split[known[:n_valid]] = VALID
    return split
