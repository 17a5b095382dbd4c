"""The import layers of docs/ARCHITECTURE.md, and no import cycles, read with ``ast``.

Every import counts: module level, in functions (where cycles hide), under TYPE_CHECKING.
A layer is the first name under ``pgrealm/``; "->" is "may import" (besides itself):

    top        daemon cli client console devstack __main__ -> anything; nothing imports them
    api        -> services, model, gateways, store
    services   -> model, gateways, store              (not reconcile, engines, supervisor)
    reconcile  -> model, gateways, engines, store, supervisor             (not services)
    gateways   -> model, engines, store, supervisor
    engines    -> errors, passwords                   (callers hand it paths, not config)
    supervisor -> store, errors
    store      -> errors
    model      -> store, config, errors                (rules and allocators over records)
    leaves     errors config passwords sealing pgrealm(root): all of the above may import
               them; they import errors only, errors nothing

An import that breaks a rule, or closes a cycle between modules, fails with the
importer, what it imports (names without ``pgrealm.``) and the rule.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pgrealm"

TOP = {"daemon", "cli", "client", "console", "devstack", "__main__"}
LEAVES = {"errors", "config", "passwords", "sealing", "pgrealm"}
ALLOWED: dict[str, set[str]] = {
    "api": LEAVES | {"services", "model", "gateways", "store"},
    "services": LEAVES | {"model", "gateways", "store"},
    "reconcile": LEAVES | {"model", "gateways", "engines", "store", "supervisor"},
    "gateways": LEAVES | {"model", "engines", "store", "supervisor"},
    "engines": {"errors", "passwords"},
    "supervisor": {"errors", "store"},
    "errors": set(),
    "model": {"errors", "config", "store"},
    **dict.fromkeys(["store", "config", "passwords", "sealing", "pgrealm"], {"errors"}),
}

MODULES = {  # every module's dotted name (``pgrealm.api.errors``) and its file
    ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): path
    for path in sorted(PACKAGE.rglob("*.py"))
}


def imported_names(module: str, path: Path) -> set[str]:
    """Every name ``path`` imports, anywhere in it; relative imports made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(filter(None, [package.rsplit(".", node.level - 1)[0], base]))
            for alias in node.names:  # ``from pgrealm.engines import samba`` is a submodule
                sub = f"{base}.{alias.name}"
                names.add(sub if sub in MODULES else base)
    return names


@cache
def edges() -> frozenset[tuple[str, str]]:
    """(importer, imported) between pgrealm's modules, ``pgrealm.`` dropped from both."""
    found: set[tuple[str, str]] = set()
    for module, path in MODULES.items():
        for name in imported_names(module, path):
            while name not in MODULES and name.startswith("pgrealm."):
                name = name.rpartition(".")[0]  # ``pgrealm.store.Doc`` lies in ``pgrealm.store``
            if name in MODULES and name != module:
                found.add((module.removeprefix("pgrealm."), name.removeprefix("pgrealm.")))
    return frozenset(found)


def violations() -> dict[tuple[str, str], str]:
    """Each import that breaks a rule, and the rule."""
    found: dict[tuple[str, str], str] = {}
    for importer, imported in edges():
        source, target = importer.split(".")[0], imported.split(".")[0]
        if source == target or source in TOP:
            continue
        if source not in ALLOWED:
            found[importer, imported] = f"{source} has no rule: add it to ALLOWED and the docstring"
        elif target not in ALLOWED[source]:
            allowed = ", ".join(sorted(ALLOWED[source]))
            found[importer, imported] = f"{source} may not import {target} (only {allowed})"
    return found


def cycles() -> set[frozenset[str]]:
    """The strongly connected components of more than one module."""
    graph: dict[str, set[str]] = {}
    for importer, imported in edges():
        graph.setdefault(importer, set()).add(imported)
    reach: dict[str, set[str]] = {}  # reached by one import or more: itself if on a cycle
    for start, first in graph.items():
        reach[start], todo = set(), set(first)
        while todo:
            reach[start] |= todo
            todo = set().union(*(graph.get(node, set()) for node in todo)) - reach[start]
    return {frozenset(n for n in reach[m] if m in reach.get(n, ())) for m in reach if m in reach[m]}


def inside(scc: frozenset[str]) -> set[tuple[str, str]]:
    """The imports within a strongly connected component: each lies on a cycle."""
    return {(a, b) for a, b in edges() if {a, b} <= scc}


def test_no_import_breaks_the_layers() -> None:
    found = sorted(f"{a} -> {b}: {why}" for (a, b), why in violations().items())
    assert not found, "imports breaking the layers (see this module's docstring):\n" + "\n".join(
        found
    )


def test_no_import_cycle() -> None:
    found = sorted(f"{sorted(scc)}, closed by {sorted(inside(scc))}" for scc in cycles())
    assert not found, "import cycles (modules, then the imports on them):\n" + "\n".join(found)
