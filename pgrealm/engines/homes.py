"""The files of a resource's home on this machine, for reconcilers that must not touch
the file system themselves: whether a tree is there, its size, moving and removing it.

Removal raises on failure: a record whose files could not go is kept, and the next
reconcile pass tries again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ensure_dir", "exists", "free_bytes", "move_into", "remove_tree", "tree_size"]


def exists(path: Path) -> bool:
    return path.exists()


def free_bytes(path: Path) -> int:
    """What an unprivileged writer may still write on ``path``'s file system."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def ensure_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything below it; nothing there is fine."""
    if path.exists():
        shutil.rmtree(path)


def tree_size(path: Path) -> int:
    """Bytes in the files directly in ``path`` (a snapshot's archives)."""
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def move_into(home: Path, root: Path, parts: Iterable[str]) -> None:
    """Move each of ``parts`` of ``home`` into ``root`` unless ``root`` has it already
    (repeatable after a crash half-way)."""
    root.mkdir(parents=True, exist_ok=True)
    for part in parts:
        if (home / part).exists() and not (root / part).exists():
            (home / part).rename(root / part)
