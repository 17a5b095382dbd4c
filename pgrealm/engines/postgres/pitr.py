"""Point-in-time recovery: what automated backups need from a running server.

With ``spec.wal_archive`` set, the server archives every WAL segment (see conf.py). A
base backup (:func:`pgrealm.engines.postgres.snapshot.take_snapshot`) plus the archived
WAL after it can be replayed to any moment since the backup: a new cluster is made from
the base backup with ``recovery.signal``, and ``spec.recovery`` tells it where the WAL
is and when to stop.

Base backups live in ``backups/base-<UTC time it completed>/``: a new one each day, and
those the retention period no longer needs are dropped with the WAL only they needed
(:func:`prune`), so the archive does not grow without end.

Replay to a time stops at the first commit after it, and fails if the WAL ends before
one. So before a restore, :func:`archive_now` commits a transaction of its own on the
source and closes the current segment: every moment up to the request is then covered.
A restore to the latest moment sets no target at all and replays the whole archive.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pgrealm.engines import _exec
from pgrealm.engines.postgres.osuser import as_user, tool_env
from pgrealm.engines.postgres.roles import run_sql
from pgrealm.engines.postgres.snapshot import take_snapshot
from pgrealm.engines.postgres.spec import PgSpec, bin_path
from pgrealm.errors import ReconcileError

__all__ = [
    "archive_now",
    "archiving",
    "backups_to_drop",
    "base_backups",
    "in_recovery",
    "latest_restorable",
    "prune",
    "take_base_backup",
    "wal_start_segment",
]

_PREFIX = "base-"
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_SEGMENT_BITS = 24  # 16 MB WAL segments, initdb's default

log = logging.getLogger(__name__)


def archiving(spec: PgSpec) -> bool:
    """Whether the running server archives WAL (archive_mode takes effect at a restart)."""
    return run_sql(spec, "SELECT current_setting('archive_mode')").strip() == "on"


def archive_now(spec: PgSpec, timeout: float = 60.0) -> None:
    """Commit a marker transaction, close the WAL segment, and wait until it is archived."""
    run_sql(spec, "SELECT pg_current_xact_id()")  # a commit record, stamped now
    # At a segment boundary pg_walfile_name names the segment just closed.
    segment = run_sql(spec, "SELECT pg_walfile_name(pg_switch_wal())").strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = run_sql(spec, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        if done.strip() >= segment:
            return
        time.sleep(0.1)
    raise ReconcileError(f"WAL segment {segment} was not archived within {timeout:.0f}s")


def in_recovery(spec: PgSpec) -> bool:
    return run_sql(spec, "SELECT pg_is_in_recovery()").strip() == "t"


def latest_restorable(spec: PgSpec) -> datetime | None:
    """The latest moment a point-in-time restore can reach: now while archiving works
    (:func:`archive_now` closes the open segment first), else the last archived segment."""
    out = run_sql(
        spec,
        "SELECT CASE WHEN last_failed_time IS NULL OR last_failed_time < last_archived_time "
        "THEN now() ELSE last_archived_time END AT TIME ZONE 'UTC' FROM pg_stat_archiver",
    ).strip()
    return datetime.fromisoformat(out).replace(tzinfo=UTC) if out else None


def base_backups(root: Path) -> list[tuple[datetime, Path]]:
    """The complete base backups under ``root``, oldest first, with when each completed."""
    found = []
    for path in root.glob(f"{_PREFIX}*") if root.is_dir() else []:
        try:
            stamp = datetime.strptime(path.name[len(_PREFIX) :], _STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue  # base-<...>.partial: an attempt that did not finish
        found.append((stamp, path))
    return sorted(found)


def take_base_backup(spec: PgSpec, root: Path) -> datetime:
    """A new base backup under ``root``, named by the moment it completed: a restore to
    any later moment may start from it."""
    incoming = root / "incoming"
    if incoming.exists():  # complete but not yet named when the daemon stopped
        shutil.rmtree(incoming)
    take_snapshot(spec, incoming)
    done = datetime.now(UTC)
    incoming.rename(root / f"{_PREFIX}{done.strftime(_STAMP)}")
    return done


def backups_to_drop(times: list[datetime], now: datetime, retention_days: int) -> list[datetime]:
    """Base backups the retention period no longer needs: all older than the window but
    the newest of those, from which the window's first moment is restored."""
    start = now - timedelta(days=retention_days)
    older = [t for t in times if t <= start]
    keep = max(older, default=None)
    return [t for t in older if t != keep]


def wal_start_segment(base: Path) -> str:
    """The first WAL segment a restore from ``base`` reads (from its backup_manifest)."""
    manifest = json.loads((base / "backup_manifest").read_text(encoding="utf-8"))
    first = manifest["WAL-Ranges"][0]
    high, low = (int(part, 16) for part in first["Start-LSN"].split("/"))
    segment = ((high << 32) | low) >> _SEGMENT_BITS
    per_id = 1 << (32 - _SEGMENT_BITS)
    return f"{first['Timeline']:08X}{segment // per_id:08X}{segment % per_id:08X}"


def prune(spec: PgSpec, root: Path, retention_days: int, now: datetime) -> datetime | None:
    """Drop what the retention period no longer needs; return the oldest kept backup's time."""
    backups = base_backups(root)
    drop = set(backups_to_drop([t for t, _ in backups], now, retention_days))
    for stamp, path in backups:
        if stamp in drop:
            log.info("dropping base backup %s, older than %d days", path, retention_days)
            shutil.rmtree(path)
    kept = [(t, p) for t, p in backups if t not in drop]
    if not kept:
        return None
    if spec.wal_archive is not None and spec.wal_archive.is_dir():
        oldest = wal_start_segment(kept[0][1])
        argv = [bin_path("pg_archivecleanup"), "-x", ".gz", str(spec.wal_archive), oldest]
        _exec.run(as_user(spec.os_user, argv), env=tool_env(), cwd=str(spec.home), timeout=300)
    return kept[0][0]
