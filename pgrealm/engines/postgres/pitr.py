"""Point-in-time recovery: what automated backups need from a running server.

With ``spec.wal_archive`` set, the server archives every WAL segment (see conf.py). A
base backup (:func:`pgrealm.engines.postgres.snapshot.take_snapshot`) plus the archived
WAL after it can be replayed to any moment since the backup: a new cluster is made from
the base backup with ``recovery.signal``, and ``spec.recovery`` tells it where the WAL
is and when to stop.

Replay to a time stops at the first commit after it, and fails if the WAL ends before
one. So before a restore, :func:`archive_now` commits a transaction of its own on the
source and closes the current segment: every moment up to the request is then covered.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from pgrealm.engines.postgres.roles import run_sql
from pgrealm.engines.postgres.spec import PgSpec
from pgrealm.errors import ReconcileError

__all__ = ["archive_now", "archiving", "in_recovery", "latest_restorable"]

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
