"""Writes MIT/Heimdal keytab files (format 0x0502) from keys read out of the directory.

Samba's own ``exportkeytab`` also writes the RC4 key derived from the NT hash; an RDS
instance's keytab must hold AES keys only, so the engine writes the file itself from
the account's ``Primary:Kerberos-Newer-Keys``. Layout per entry (all big-endian):
int32 size, uint16 ncomponents, counted realm, counted components, uint32 name_type,
uint32 timestamp, uint8 kvno, uint16 enctype, counted key, uint32 kvno.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KeytabEntry", "parse_keytab", "render_keytab", "write_keytab"]

log = logging.getLogger(__name__)

_KRB5_NT_PRINCIPAL = 1
_VERSION = b"\x05\x02"


@dataclass(frozen=True)
class KeytabEntry:
    principal: str  # "postgres/db1.example.internal@CORP.EXAMPLE.COM"
    kvno: int
    enctype: int
    key: bytes


def _counted(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def _split(principal: str) -> tuple[list[str], str]:
    name, _, realm = principal.rpartition("@")
    if not name or not realm:
        raise ValueError(f"principal needs a realm: {principal!r}")
    return name.split("/"), realm


def render_keytab(entries: list[KeytabEntry], timestamp: int | None = None) -> bytes:
    """The bytes of a keytab holding ``entries``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    out = bytearray(_VERSION)
    for e in entries:
        comps, realm = _split(e.principal)
        body = struct.pack(">H", len(comps)) + _counted(realm.encode())
        body += b"".join(_counted(c.encode()) for c in comps)
        body += struct.pack(">IIB", _KRB5_NT_PRINCIPAL, stamp, e.kvno & 0xFF)
        body += struct.pack(">H", e.enctype) + _counted(e.key)
        body += struct.pack(">I", e.kvno)
        out += struct.pack(">i", len(body)) + body
    return bytes(out)


def parse_keytab(data: bytes) -> list[KeytabEntry]:
    """Inverse of :func:`render_keytab` (for tests and checks); skips deleted entries."""
    if data[:2] != _VERSION:
        raise ValueError("not a version 0x0502 keytab")
    pos, entries = 2, []
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if size < 0:
            pos += -size
            continue
        rec, pos = data[pos : pos + size], pos + size
        (ncomp,), off = struct.unpack_from(">H", rec, 0), 2
        parts = []
        for _ in range(ncomp + 1):
            (n,) = struct.unpack_from(">H", rec, off)
            parts.append(rec[off + 2 : off + 2 + n].decode())
            off += 2 + n
        _nt, _ts, kvno8, enctype = struct.unpack_from(">IIBH", rec, off)
        off += 11
        (klen,) = struct.unpack_from(">H", rec, off)
        key = rec[off + 2 : off + 2 + klen]
        off += 2 + klen
        kvno = struct.unpack_from(">I", rec, off)[0] if off + 4 <= len(rec) else kvno8
        entries.append(KeytabEntry("/".join(parts[1:]) + "@" + parts[0], kvno, enctype, key))
    return entries


def write_keytab(path: Path, entries: list[KeytabEntry], uid: int, gid: int) -> None:
    """Atomically replace ``path`` with a 0600 keytab owned by ``uid:gid``.

    Ownership and mode are set on the temp file before the rename, so the final name
    never exists with wider permissions or the wrong owner.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "wb") as f:
            f.write(render_keytab(entries))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info(
        "wrote keytab %s (%d keys, kvno %d)", path, len(entries), entries[0].kvno if entries else 0
    )
