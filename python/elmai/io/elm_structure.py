"""ELM's biogeochemical structure as one data object, as ELM's own `decomp_cascade_type`
(biogeochem/DecompCascadeBGCMod.F90 init_decompcascade_bgc, CTC): the decomposing pools
(litter, coarse woody debris, soil organic matter) with their decay-rate parameters, the
transitions between them with their respired fractions, CWD fragmentation, the PFT
tissues with the parameters of their stoichiometry, and what the AI spin-up writes.

Every other module derives its pool lists, index arrays and tissue maps from here (and the
C++ check receives them as options): a pool name or index written elsewhere is a defect
(tests/test_elm_structure.py looks for them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CASCADE", "TISSUES", "SPINUP_WRITES", "DecompPool", "Transition", "Tissue", "Cascade", "TissueTable",
]  # fmt: skip


@dataclass(frozen=True)
class DecompPool:
    """One decomposing pool: restart names <name><element>_vr; kind 'litter', 'cwd' or 'soil'."""

    name: str
    kind: str
    decay_rate: str  # its base decay rate in the parameter file (1/day)


@dataclass(frozen=True)
class Transition:
    """Decay of `donor` into `receiver` (None: all to the atmosphere), losing the fraction
    named by `respired` (None: all respired)."""

    donor: str
    receiver: str | None
    respired: str | None


@dataclass(frozen=True)
class Cascade:
    pools: tuple[DecompPool, ...]
    transitions: tuple[Transition, ...]
    # CWD fragments, without respiration, into these litter pools by these parameter fractions
    fragmentation: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.pools)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def of_kind(self, kind: str) -> tuple[str, ...]:
        return tuple(p.name for p in self.pools if p.kind == kind)

    def mask(self, kind: str) -> np.ndarray:
        return np.array([p.kind == kind for p in self.pools])

    @property
    def cwd(self) -> str:
        (name,) = self.of_kind("cwd")
        return name

    @property
    def donors(self) -> np.ndarray:
        return np.array([self.index(t.donor) for t in self.transitions])

    @property
    def receivers(self) -> np.ndarray:
        """Receiver index of each transition, -1 for the atmosphere."""
        return np.array([self.index(t.receiver) if t.receiver else -1 for t in self.transitions])

    def receiver_of(self, donor: str) -> str | None:
        return next((t.receiver for t in self.transitions if t.donor == donor), None)

    def donors_of(self, receiver: str) -> tuple[str, ...]:
        """The pools whose decay feeds `receiver`, in transition order."""
        return tuple(t.donor for t in self.transitions if t.receiver == receiver)


# The converging trophic cascade (CTC) of ELM's CNP configuration
CASCADE = Cascade(
    pools=(
        DecompPool("litr1", "litter", "k_l1"),
        DecompPool("litr2", "litter", "k_l2"),
        DecompPool("litr3", "litter", "k_l3"),
        DecompPool("cwd", "cwd", "k_frag"),
        DecompPool("soil1", "soil", "k_s1"),
        DecompPool("soil2", "soil", "k_s2"),
        DecompPool("soil3", "soil", "k_s3"),
        DecompPool("soil4", "soil", "k_s4"),
    ),
    transitions=(
        Transition("litr1", "soil1", "rf_l1s1"),
        Transition("litr2", "soil2", "rf_l2s2"),
        Transition("litr3", "soil3", "rf_l3s3"),
        Transition("soil1", "soil2", "rf_s1s2"),
        Transition("soil2", "soil3", "rf_s2s3"),
        Transition("soil3", "soil4", "rf_s3s4"),
        Transition("soil4", None, None),
    ),
    fragmentation=(("litr2", "cwd_fcel"), ("litr3", "cwd_flig")),
)


@dataclass(frozen=True)
class Tissue:
    """A PFT tissue (restart pools <name>c, <name>c_storage, ...): `param` is the stem of its
    C:N and C:P parameters (<param>cn, <param>cp: leafcn, livewdcp, ...)."""

    name: str
    param: str
    woody: bool  # only woody PFTs hold it
    dead_wood: bool  # spinup_mortality_factor applies on leaving AD (veg_cs_restart)


@dataclass(frozen=True)
class TissueTable:
    tissues: tuple[Tissue, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tissues)

    @property
    def carbon_pools(self) -> tuple[str, ...]:
        return tuple(f"{t.name}c" for t in self.tissues)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def param(self, tissue: str, kind: str) -> str:
        """The stoichiometry parameter of a tissue: kind 'cn' or 'cp' (e.g. deadwdcn)."""
        return f"{self.tissues[self.index(tissue)].param}{kind}"

    @property
    def dead_wood(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tissues if t.dead_wood)

    @property
    def dead_wood_index(self) -> list[int]:
        return [i for i, t in enumerate(self.tissues) if t.dead_wood]


TISSUES = TissueTable(
    (
        Tissue("leaf", "leaf", woody=False, dead_wood=False),
        Tissue("froot", "froot", woody=False, dead_wood=False),
        Tissue("livestem", "livewd", woody=True, dead_wood=False),
        Tissue("deadstem", "deadwd", woody=True, dead_wood=True),
        Tissue("livecroot", "livewd", woody=True, dead_wood=False),
        Tissue("deadcroot", "deadwd", woody=True, dead_wood=True),
    )
)

# What `elmai spinup` writes (the pools a spin-up is for): dead wood and every decomposing
# pool, as carbon pool names of TISSUES and CASCADE
SPINUP_WRITES: tuple[str, ...] = tuple(f"{t}c" for t in TISSUES.dead_wood) + CASCADE.names
