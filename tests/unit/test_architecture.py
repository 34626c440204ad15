"""The shape of the code: each layer imports only the layers below it, and modules stay small.

Read from the source with ``ast`` (nothing is imported), so a violation is found even in a module
no test loads.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "safepassage"

# Lower numbers are lower layers; a module may import its own layer and the layers below.
LAYERS = {
    "__init__": 0,  # the package itself: its version, nothing else
    "domain": 0,  # the standard library only
    "linkage": 1,  # the engines: pure over plain data, no database, no use cases
    "planning": 1,
    "simulation": 1,
    "adapters": 2,  # the database, files, crypto: may use the engines' data types
    "services": 3,  # the use cases, over the UnitOfWork seam
    "config": 4,
    "bootstrap": 4,  # the composition root
    "synthetic": 5,  # generated operations, built through the use cases
    "web": 6,  # the shells
    "cli": 6,
    "cli_base": 6,
    "cli_keys": 6,
    "cli_tables": 6,
    "cli_backup": 6,
    "cli_audit": 6,
}
SIBLINGS_APART = {"linkage", "planning", "simulation"}  # the engines never lean on each other
MAX_LINES = 450
LONG_ALLOWED = {"adapters/db/tables.py"}  # the schema in one place, and the migrations


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _layer(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] != "safepassage" or len(parts) < 2:
        return None
    return parts[1]


def _own_layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, absolute, with its line (TYPE_CHECKING imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("safepassage", *path.relative_to(PACKAGE).parent.parts))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def _violations(path: Path) -> list[str]:
    return _violations_of(_own_layer(path), _imports(path))


def _violations_of(own: str, imports: list[tuple[int, str]]) -> list[str]:
    if own not in LAYERS:
        return [f"{own}: not in any layer; add it to LAYERS"]
    wrong = []
    for line, name in imports:
        top = name.split(".")[0]
        layer = _layer(name)
        if own == "domain" and top != "safepassage" and top not in sys.stdlib_module_names:
            wrong.append(f"line {line}: {name} (domain/ imports the standard library only)")
        if layer is None or layer == own or layer == "__init__":
            continue
        if layer not in LAYERS:
            wrong.append(f"line {line}: {name} is in no layer")
        elif LAYERS[layer] > LAYERS[own]:
            wrong.append(f"line {line}: {name} is a higher layer than {own}/")
        elif own in SIBLINGS_APART and layer in SIBLINGS_APART:
            wrong.append(f"line {line}: {name}: the engines do not import each other")
    return wrong


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_its_own_layer_and_those_below(path: Path) -> None:
    assert _violations(path) == []


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if str(p.relative_to(PACKAGE)) not in LONG_ALLOWED],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_a_module_stays_under_450_lines(path: Path) -> None:
    rel = str(path.relative_to(PACKAGE))
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{rel} has {lines} lines: split it by concept"


@pytest.mark.parametrize(
    ("own", "imported"),
    [
        ("services", "safepassage.bootstrap"),
        ("services", "safepassage.web.deps"),
        ("linkage", "safepassage.adapters.calendars"),
        ("planning", "safepassage.services.common"),
        ("linkage", "safepassage.planning.problem"),
        ("domain", "sqlalchemy"),
        ("adapters", "safepassage.services.uow"),
    ],
)
def test_the_layer_check_refuses_an_import_from_above(own: str, imported: str) -> None:
    # the check must fail on what it forbids, or its passing proves nothing
    assert _violations_of(own, [(1, imported)]) != []


@pytest.mark.parametrize(
    ("own", "imported"),
    [
        ("services", "safepassage.adapters.db.uow"),
        ("adapters", "safepassage.linkage.features"),
        ("domain", "datetime"),
        ("web", "safepassage.bootstrap"),
        ("linkage", "rapidfuzz"),
    ],
)
def test_the_layer_check_allows_an_import_from_below(own: str, imported: str) -> None:
    assert _violations_of(own, [(1, imported)]) == []


def _declared() -> set[str]:
    import re
    import tomllib

    project = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())["project"]
    names = project["dependencies"]
    return {re.split(r"[<>=!~;\[ ]", n, maxsplit=1)[0].lower().replace("_", "-") for n in names}


def test_every_package_the_code_imports_is_declared() -> None:
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    imported = {
        name.split(".")[0]
        for path in _modules()
        for _, name in _imports(path)
        if name and name.split(".")[0] not in sys.stdlib_module_names
    } - {"safepassage"}
    missing = {
        top: owners.get(top, ["?"])
        for top in imported
        if not {d.lower().replace("_", "-") for d in owners.get(top, [])} & _declared()
    }
    assert missing == {}, "imported but not declared in pyproject.toml: add them"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(("safepassage", *parts))


def test_no_two_modules_import_each_other_even_for_types() -> None:
    # a loop, even under TYPE_CHECKING, means two files are one concept cut in the wrong place
    names = {_module_name(p): p for p in _modules()}
    graph = {
        name: {
            target
            for _, imported in _imports(path)
            for target in (imported, imported.rsplit(".", 1)[0])
            if target in names and target != name
        }
        for name, path in names.items()
    }
    loops = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    loops.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert loops == []
