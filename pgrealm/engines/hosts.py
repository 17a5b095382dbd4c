"""Publishes DB instance endpoint names in the hosts file, in a block owned by one stack.

Each stack (one PGREALM_HOME) owns the lines between its own BEGIN/END markers, so a
test stack and a user's stack can both publish names without touching each other's.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

__all__ = ["publish", "published", "unpublish"]

log = logging.getLogger(__name__)

_lock = threading.Lock()


def _markers(owner: str) -> tuple[str, str]:
    return (f"# BEGIN pgrealm {owner} (managed by pgrealm)", f"# END pgrealm {owner}")


def _split(text: str, owner: str) -> tuple[list[str], dict[str, str]]:
    begin, end = _markers(owner)
    outside: list[str] = []
    entries: dict[str, str] = {}
    inside = False
    for line in text.splitlines():
        if line == begin:
            inside = True
        elif line == end:
            inside = False
        elif inside:
            parts = line.split()
            if len(parts) == 2:
                entries[parts[1]] = parts[0]
        else:
            outside.append(line)
    return outside, entries


def _write(path: Path, outside: list[str], entries: dict[str, str], owner: str) -> None:
    begin, end = _markers(owner)
    lines = list(outside)
    if entries:
        lines += [begin, *(f"{ip} {name}" for name, ip in sorted(entries.items())), end]
    text = "\n".join(lines) + "\n"
    # /etc/hosts is often a bind mount (containers): rename over it fails, so rewrite in place.
    with open(path, "r+" if path.exists() else "w") as f:
        f.seek(0)
        f.write(text)
        f.truncate()
        f.flush()
        os.fsync(f.fileno())


def published(path: Path, owner: str) -> dict[str, str]:
    """name -> address of the names ``owner`` publishes."""
    return _split(path.read_text() if path.exists() else "", owner)[1]


def publish(path: Path, owner: str, name: str, address: str) -> None:
    with _lock:
        outside, entries = _split(path.read_text() if path.exists() else "", owner)
        entries[name] = address
        _write(path, outside, entries, owner)
    log.info("hosts: %s -> %s", name, address)


def unpublish(path: Path, owner: str, name: str) -> None:
    with _lock:
        if not path.exists():
            return
        outside, entries = _split(path.read_text(), owner)
        if entries.pop(name, None) is not None:
            _write(path, outside, entries, owner)
