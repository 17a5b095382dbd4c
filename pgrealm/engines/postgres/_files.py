"""Atomic, owned file writes for the files pgrealm manages inside an instance's home.

A crash must leave either the old or the new file, never half of one: postgres reads
pg_hba.conf on every reload and would refuse to start on a torn config.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

__all__ = ["HEADER", "atomic_write"]

log = logging.getLogger(__name__)

HEADER = "# managed by pgrealm: do not edit, it is rewritten from the instance's spec\n"


def atomic_write(
    path: Path, content: str | bytes, *, uid: int, gid: int, mode: int = 0o600
) -> bool:
    """Write ``content`` to ``path`` (tmp + fsync + rename); return False if it was already so."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.read_bytes() == data:
            st = path.stat()
            if (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, mode):
                return False
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchown(fh.fileno(), uid, gid)
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    log.debug("wrote %s", path)
    return True


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
