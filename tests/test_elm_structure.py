"""ELM's structure is one table (elmai.io.elm_structure), as ELM's decomp_cascade_type:
its content is ELM's CTC cascade (E3SM source: DecompCascadeBGCMod init_decompcascade_bgc),
every user derives from it, and no pool list, index block, topology or tissue map is
restated elsewhere (issue 28)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from elmai.io import elm_names as N
from elmai.io.elm_structure import CASCADE, SPINUP_WRITES, TISSUES

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "python" / "elmai" / "io" / "elm_structure.py"

# restatements of the structure (issue 28's grep), as regular expressions
RESTATED = {
    "index block": r"\bL1, L2, L3, CWD\b|=\s*2, 3, 5, 6, 7\b",
    "tissue parameter stem": r"\"livewd\"|\"deadwd\"",
    "litter tuple": r"\(\s*\"litr1\",\s*\"litr2\"",
    "soil tuple": r"\(\s*\"soil1\",\s*\"soil2\"",
    "tissue tuple": r"\(\s*\"leaf\",\s*\"froot\"|\(\s*\"deadstem\",\s*\"deadcroot\"\)",
    "C++ pool list": r"\bkCtc\b|\bkPftPools\b|\bkPftCnParam\b",
    "hand-written topology": r"\(S1, \(L1,?\)\)|\(S2, \(\(?L2",
}


def test_the_table_is_elms_ctc_cascade() -> None:
    assert CASCADE.names == ("litr1", "litr2", "litr3", "cwd", "soil1", "soil2", "soil3", "soil4")
    assert CASCADE.of_kind("litter") == ("litr1", "litr2", "litr3") and CASCADE.cwd == "cwd"
    # donors -> receivers as init_decompcascade_bgc wires them (i_l1s1 ... i_s4atm)
    pairs = [(CASCADE.names[d], CASCADE.names[r] if r >= 0 else None)
             for d, r in zip(CASCADE.donors, CASCADE.receivers, strict=True)]  # fmt: skip
    assert pairs == [("litr1", "soil1"), ("litr2", "soil2"), ("litr3", "soil3"), ("soil1", "soil2"),
                     ("soil2", "soil3"), ("soil3", "soil4"), ("soil4", None)]  # fmt: skip
    assert CASCADE.donors_of("soil3") == ("litr3", "soil2")
    assert dict(CASCADE.fragmentation) == {"litr2": "cwd_fcel", "litr3": "cwd_flig"}
    assert np.array_equal(CASCADE.mask("soil"), [False] * 4 + [True] * 4)
    assert TISSUES.param("livecroot", "cn") == "livewdcn" and TISSUES.dead_wood == ("deadstem", "deadcroot")
    assert SPINUP_WRITES == ("deadstemc", "deadcrootc", *CASCADE.names)


def test_every_user_derives_from_the_table() -> None:
    from elmai.apps.testbed.dynamics import CWD, TRANSITIONS
    from elmai.apps.testbed.equilibrium import SOIL_FEEDS
    from elmai.data.features import PFT_POOLS, SOIL_POOLS
    from elmai.models.constraints import DEAD_WOOD, S3, S4
    from elmai.models.quasi_equilibrium import FEEDS
    from elmai.spinup.merge import SLOW_POOLS

    assert SOIL_POOLS == CASCADE.names == N.CTC_POOLS
    assert PFT_POOLS == TISSUES.carbon_pools
    assert (CASCADE.names[S3], CASCADE.names[S4], CASCADE.names[CWD]) == ("soil3", "soil4", "cwd")
    assert [PFT_POOLS[i] for i in DEAD_WOOD] == ["deadstemc", "deadcrootc"]
    assert SLOW_POOLS == SPINUP_WRITES
    assert [(d, r) for d, r, _ in TRANSITIONS] == list(
        zip(CASCADE.donors.tolist(), CASCADE.receivers.tolist(), strict=True)
    )
    assert FEEDS == tuple((k, tuple((d,) for d in donors)) for k, donors in SOIL_FEEDS)


def test_no_structure_restated_outside_the_table() -> None:
    files = [p for p in (ROOT / "python" / "elmai").rglob("*.py") if p != TABLE]
    files += list((ROOT / "csrc").rglob("*.cpp")) + list((ROOT / "csrc").rglob("*.hpp"))
    found = []
    for path in files:
        text = path.read_text()
        for what, pattern in RESTATED.items():
            for m in re.finditer(pattern, text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}: {m.group(0)}")
    assert not found, "\n".join(found)
