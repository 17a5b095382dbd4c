"""Reconcilers reach PostgreSQL, Samba and the disk only through the engine interfaces
(pgrealm/engines/interfaces.py): no subprocess, no file system calls of their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RECONCILE = Path(__file__).resolve().parents[2] / "pgrealm" / "reconcile"
FORBIDDEN_MODULES = {"subprocess", "shutil", "pwd", "grp", "os", "socket"}
FILE_METHODS = {
    "exists", "mkdir", "unlink", "rename", "read_text", "write_text", "read_bytes",
    "write_bytes", "iterdir", "glob", "rglob", "stat", "chmod", "chown", "rmdir", "touch",
}  # fmt: skip
ENGINES = {"pg", "ad", "names"}


@pytest.mark.parametrize("path", sorted(RECONCILE.glob("*.py")), ids=lambda p: p.name)
def test_a_reconciler_touches_nothing_itself(path: Path) -> None:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "") in FORBIDDEN_MODULES:
            found.append(node.module or "")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "open":
                found.append("open()")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in FILE_METHODS
            and not _an_engine(node.func.value)
        ):
            found.append(f".{node.func.attr}() at line {node.lineno}")
    assert not found, f"{path.name} goes around the engine seam: {found}"


def _an_engine(receiver: ast.expr) -> bool:
    """``self.pg``, ``self.ad``, ``self.names`` (or ``x.pg``): the injected engines."""
    return isinstance(receiver, ast.Attribute) and receiver.attr in ENGINES
