"""DB snapshots: a consistent copy of an instance's cluster, and a new cluster made from one.

A snapshot directory holds ``base.tar.gz`` (the data directory) and, when it was taken
from a running server, ``pg_wal.tar.gz`` (the WAL written during the copy), as
``pg_basebackup -Ft -z -X stream`` writes them: together they start as a consistent
cluster. A server that is not running (a failed instance being deleted) is copied as it
lies; its WAL is in the copy, so it starts the way it would have after a crash.

Both operations build under ``<name>.partial`` and rename when complete, so a crash
leaves either nothing or a finished snapshot (or cluster); a leftover ``.partial`` is
removed by the next attempt.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from pgrealm.engines import _exec
from pgrealm.engines.postgres.initdb import ensure_layout, write_config
from pgrealm.engines.postgres.osuser import (
    as_user,
    check_traversable,
    ensure_os_user,
    ensure_owned_dir,
    tool_env,
)
from pgrealm.engines.postgres.postmaster import is_ready
from pgrealm.engines.postgres.spec import INTERNAL_SUPERUSER, PgSpec, bin_path, data_dir, socket_dir

__all__ = ["copy_snapshot", "fresh_staging", "restore_cluster", "take_snapshot"]

log = logging.getLogger(__name__)

BASE = "base.tar.gz"
WAL = "pg_wal.tar.gz"
_TIMEOUT = 3600.0


def take_snapshot(spec: PgSpec, dest: Path) -> None:
    """Copy the cluster of ``spec`` into the new directory ``dest`` (owned by its OS user)."""
    uid, gid = ensure_layout(spec)
    dest.parent.mkdir(parents=True, exist_ok=True)
    check_traversable(dest.parent, uid, gid)
    staging = fresh_staging(dest, uid, gid)
    if is_ready(spec):
        argv = [
            bin_path("pg_basebackup"),
            *("-h", str(socket_dir(spec)), "-p", str(spec.port), "-U", INTERNAL_SUPERUSER),
            *("-D", str(staging), "-Ft", "-z", "-X", "stream", "--checkpoint=fast"),
            "--no-password",
        ]
    else:
        log.info("%s is not running: copying its data directory as it lies", spec.home)
        argv = ["tar", "-czf", str(staging / BASE), "-C", str(data_dir(spec)), "."]
    _run_as(spec, argv)
    staging.rename(dest)


def copy_snapshot(source: Path, dest: Path, os_user: str) -> None:
    """CopyDBSnapshot: ``source``'s files under the new name ``dest``, the OS user's."""
    uid, gid = ensure_os_user(os_user)
    staging = dest.with_name(dest.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(source, staging)
    for path in (staging, *staging.iterdir()):
        os.chown(path, uid, gid)
    staging.rename(dest)


def restore_cluster(spec: PgSpec, snapshot: Path, recover: bool = False) -> None:
    """Make ``spec``'s data directory from ``snapshot``, then write ``spec``'s own config.

    ``recover``: the cluster starts in archive recovery (``recovery.signal``) and replays
    WAL as ``spec.recovery`` says, past the end of the snapshot.
    """
    if not (snapshot / BASE).is_file():
        raise FileNotFoundError(f"snapshot {snapshot} has no {BASE}")
    uid, gid = ensure_layout(spec)
    staging = fresh_staging(data_dir(spec), uid, gid)
    _run_as(spec, ["tar", "-xzf", str(snapshot / BASE), "-C", str(staging)])
    if (snapshot / WAL).is_file():
        ensure_owned_dir(staging / "pg_wal", uid, gid, 0o700)
        _run_as(spec, ["tar", "-xzf", str(snapshot / WAL), "-C", str(staging / "pg_wal")])
    # The source's pid file (an offline copy) would make the new postmaster wait for it.
    (staging / "postmaster.pid").unlink(missing_ok=True)
    if recover:
        (staging / "recovery.signal").touch()
        os.chown(staging / "recovery.signal", uid, gid)
    staging.rename(data_dir(spec))
    write_config(spec)


def fresh_staging(final: Path, uid: int, gid: int) -> Path:
    """An empty ``<final>.partial`` owned by the OS user (a leftover one is a crashed try)."""
    staging = final.with_name(final.name + ".partial")
    if staging.exists():
        log.warning("removing %s left by an interrupted attempt", staging)
        shutil.rmtree(staging)
    ensure_owned_dir(staging, uid, gid, 0o700)
    return staging


def _run_as(spec: PgSpec, argv: list[str]) -> None:
    _exec.run(as_user(spec.os_user, argv), env=tool_env(), cwd=str(spec.home), timeout=_TIMEOUT)
