"""The package's shape (issue 28): the core never imports an app, no two modules import
each other (imports inside functions included), and the developer tools stay out of the
installed package. Read from the source with ast, not by importing it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "elmai"
# the command line registers every app's commands: the one place the core side names them
MAY_IMPORT_APPS = ("elmai.apps", "elmai.cli")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports() -> dict[str, set[str]]:
    """{module: the elmai modules it imports anywhere in its body}."""
    names = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    out: dict[str, set[str]] = {}
    for name, path in names.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                while t and t not in names:
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("elmai"):
                    found.add(t)
        out[name] = found
    return out


def test_core_never_imports_an_app() -> None:
    bad = sorted(
        f"{m} imports {t}"
        for m, ts in imports().items()
        if not m.startswith(MAY_IMPORT_APPS)
        for t in ts
        if t.startswith("elmai.apps")
    )
    assert not bad, "\n".join(bad)


def test_no_two_modules_import_each_other() -> None:
    graph = imports()
    # a package's __init__ re-exporting its modules is not a circle
    circles = sorted(
        f"{a} <-> {b}"
        for a, ts in graph.items()
        for b in ts
        if a < b and a in graph.get(b, set()) and not (b.startswith(a + ".") or a.startswith(b + "."))
    )
    assert not circles, "\n".join(circles)


def test_developer_tools_are_not_in_the_package() -> None:
    assert not (PACKAGE / "docs_api.py").exists() and not (PACKAGE / "docs_figures.py").exists()
    assert (ROOT / "tools" / "docs_api.py").exists() and (ROOT / "tools" / "docs_figures.py").exists()
    users = [
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tools")
        or (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "tools" for a in node.names))
    ]
    assert not users, f"the package imports the repository's developer tools: {users}"
