"""The generated API reference (docs/api) is complete, deterministic and up to date.

The names that must appear are found here with simple regexes, independently of the
parser in tools.docs_api, so a parser that misses a declaration fails the test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from tools import docs_api

import elmai
from tests.conftest import ROOT

API = ROOT / "docs" / "api"


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return docs_api.generate(ROOT)


def headings(text: str) -> set[str]:
    """Names documented under a `### `name`` heading, or listed as `- `name``."""
    return set(re.findall(r"^(?:### |- )`([^`(]+)", text, re.M))


def test_generation_is_deterministic(generated: dict[str, str]) -> None:
    assert set(generated) == {"python.md", "c_abi.md", "fortran.md"}
    assert docs_api.generate(ROOT) == generated
    for text in generated.values():
        assert not re.search(r" at 0x[0-9a-f]+", text), "object addresses change from run to run"
        assert str(ROOT) not in text, "the reference must not depend on where the tree is"


def test_every_top_level_name_is_documented(generated: dict[str, str]) -> None:
    names = headings(generated["python.md"])
    public = getattr(elmai, "__all__", None) or [n for n in vars(elmai) if not n.startswith("_")]
    assert public
    missing = [n for n in public if f"elmai.{n}" not in names]
    assert not missing, f"python.md lacks {missing}"
    # each public module's __all__ as well
    for modname in docs_api.PYTHON_MODULES:
        module = sys.modules[modname]
        for n in getattr(module, "__all__", []):
            assert f"{modname}.{n}" in names, f"python.md lacks {modname}.{n}"


def test_every_c_function_is_documented(generated: dict[str, str]) -> None:
    header = (ROOT / "csrc" / "include" / "elmai.h").read_text()
    header = re.sub(r"/\*.*?\*/", "", header, flags=re.S)  # names quoted in comments do not count
    declared = set(re.findall(r"\b(elmai_\w+)\s*\(", header))
    assert len(declared) >= 20, declared
    documented = headings(generated["c_abi.md"])
    assert declared <= documented, f"c_abi.md lacks {sorted(declared - documented)}"
    assert documented <= declared, f"c_abi.md has functions not in elmai.h: {sorted(documented - declared)}"
    # a documented comment is carried over (one example of each kind)
    assert "records the message as the last error" in generated["c_abi.md"]


def test_every_public_fortran_procedure_is_documented(generated: dict[str, str]) -> None:
    source = (ROOT / "fortran_bridge" / "elmai.F90").read_text()
    source = re.sub(r"&\s*\n\s*&?", " ", source)  # join continuation lines
    public = set()
    for line in source.splitlines():
        m = re.match(r"\s*public\s*::\s*(.+)", line, re.I)
        if m:
            public |= {n.strip() for n in m.group(1).split("!")[0].split(",")}
        m = re.match(r"\s*type\s*,\s*public\s*::\s*(\w+)", line, re.I)
        if m:
            public.add(m.group(1))
    assert {"elmai_restart_open", "elmai_model_forward", "elmai_restart"} <= public
    documented = headings(generated["fortran.md"])
    assert public <= documented, f"fortran.md lacks {sorted(public - documented)}"
    # the `!>` comments come with them
    assert "Shape of a variable in Fortran order" in generated["fortran.md"]


def test_committed_reference_is_current(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.docs_api", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"docs/api is stale; run `python -m tools.docs_api`\n{done.stderr}"
    # and --check does notice a change
    (tmp_path / "c_abi.md").write_text("stale\n")
    done = subprocess.run(
        [sys.executable, "-m", "tools.docs_api", "--check", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "c_abi.md" in done.stderr
    assert (tmp_path / "c_abi.md").read_text() == "stale\n", "--check must write nothing"
