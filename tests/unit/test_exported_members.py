"""Every package says what it exports, and exports only what exists."""

from __future__ import annotations

import importlib
import pkgutil

import pgrealm


def _packages() -> list[str]:
    names = ["pgrealm"]
    for info in pkgutil.walk_packages(pgrealm.__path__, "pgrealm."):
        if info.ispkg:
            names.append(info.name)
    return names


def test_every_package_lists_its_exports() -> None:
    for name in _packages():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{name} has no __all__"
        missing = [n for n in exported if not hasattr(module, n)]
        assert not missing, f"{name}.__all__ names what it lacks: {missing}"
        assert list(exported) == sorted(exported), f"{name}.__all__ is not sorted"
