"""Finds what SQLite would silently drop from a damaged write-ahead log.

When SQLite opens a database whose ``-wal`` file is still there (the daemon was killed),
it replays the log's frames in order and stops at the first frame whose checksum or salt
is wrong: a torn last frame after a crash is expected, and dropping it loses nothing that
was committed. But a damaged frame in the middle makes it drop every later frame too,
committed transactions included, without an error. This module reads the log as SQLite's
file format describes it and reports that case, so the store can refuse to open instead.

The format: a 32-byte header (magic, version, page size, checkpoint sequence, two salts,
a checksum of its first 24 bytes), then frames of a 24-byte header (page number, the
database size after a commit or 0, the two salts, a cumulative checksum of the frame
header's first 8 bytes and the page) and one page. The magic's low bit says whether the
checksum reads its 32-bit words big-endian.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["lost_commits"]

_MAGIC = (0x377F0682, 0x377F0683)
_HEADER, _FRAME_HEADER = 32, 24
_MASK = 0xFFFFFFFF


def _checksum(data: bytes, big_endian: bool, s0: int = 0, s1: int = 0) -> tuple[int, int]:
    words = struct.unpack((">" if big_endian else "<") + f"{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & _MASK
        s1 = (s1 + words[i + 1] + s0) & _MASK
    return s0, s1


def lost_commits(wal: Path) -> str | None:
    """Why opening the database would drop committed transactions of ``wal`` (None: it
    would not: no log, a whole one, or only a torn tail)."""
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return None
    if len(data) < _HEADER:
        return None  # nothing was ever committed through it
    magic, _, page_size, _, salt1, salt2, c0, c1 = struct.unpack(">8I", data[:_HEADER])
    if magic not in _MAGIC:
        return "its write-ahead log has no valid header"
    big = magic == _MAGIC[1]
    if _checksum(data[:24], big) != (c0, c1):
        return "its write-ahead log's header is damaged"
    return _first_gap(data, page_size, (salt1, salt2), (c0, c1), big)


def _first_gap(
    data: bytes, page_size: int, salts: tuple[int, int], start: tuple[int, int], big: bool
) -> str | None:
    """A damaged frame with a whole committed frame of the same log after it."""
    size = _FRAME_HEADER + page_size
    running, damaged = start, None
    for offset in range(_HEADER, len(data) - size + 1, size):
        head = data[offset : offset + _FRAME_HEADER]
        _, commit, salt1, salt2, c0, c1 = struct.unpack(">6I", head)
        if (salt1, salt2) != salts:
            return None  # a former log's frames: SQLite rightly ignores them
        body = head[:8] + data[offset + _FRAME_HEADER : offset + size]
        whole = _checksum(body, big, *running) == (c0, c1)
        if not whole and damaged is None:
            damaged = offset
        elif whole and damaged is not None and commit:
            frame = (damaged - _HEADER) // size + 1
            return (
                f"frame {frame} of its write-ahead log is damaged, and later commits would be lost"
            )
        running = (c0, c1)  # the next frame chains from what was written, damaged or not
    return None
