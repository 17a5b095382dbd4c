"""Memory of process trees, read from /proc: PSS (proportional set size) summed.

PSS splits each shared page among the processes mapping it, so summing PSS over a
tree counts shared libraries and shared memory once, unlike RSS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["children_map", "find_pids", "pss_kib", "tree", "tree_pss_kib"]


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            parent = _ppid(int(name))
            if parent is not None:
                kids.setdefault(parent, []).append(int(name))
    return kids


def tree(roots: Iterable[int], kids: dict[int, list[int]] | None = None) -> list[int]:
    """``roots`` and all their descendants."""
    kids = children_map() if kids is None else kids
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:  # gone meanwhile
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def tree_pss_kib(roots: Iterable[int]) -> tuple[int, int]:
    """(PSS in KiB, process count) of the trees under ``roots``."""
    pids = tree(roots)
    return sum(pss_kib(p) for p in pids), len(pids)


def find_pids(match: Callable[[list[str]], bool]) -> list[int]:
    """PIDs whose argv satisfies ``match``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if raw and match(raw.rstrip(b"\0").decode(errors="replace").split("\0")):
            found.append(int(name))
    return found
