"""Takes the DB snapshots the API recorded, and removes deleted ones.

A snapshot lives in ``$PGREALM_HOME/snapshots/<account>-<region>-<id>/`` (see
:mod:`pgrealm.engines.postgres.snapshot`), and only a complete one has that name, so
"the directory exists" is the observable "taken". A failed attempt is retried; after
three, a snapshot asked for by CreateDBSnapshot is ``failed``. A final snapshot is
retried until it is taken: its instance waits for it, and deleting the instance without
it would lose the data it was asked to keep.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pgrealm.config import Settings
from pgrealm.errors import EngineError, ReconcileError
from pgrealm.model.events import record as record_event
from pgrealm.model.layout import snapshot_home
from pgrealm.model.rds import RUNNING, SnapshotStatus
from pgrealm.reconcile.db_backups import backed_up
from pgrealm.reconcile.runner import Key
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

if TYPE_CHECKING:
    from pgrealm.reconcile.db_instance import DbInstanceReconciler

__all__ = ["DbSnapshotReconciler", "snapshot_home"]

log = logging.getLogger(__name__)

KIND = Kind.DB_SNAPSHOT
INSTANCE = Kind.DB_INSTANCE
_ATTEMPTS = 3


class _NoData(ReconcileError):
    """The source instance has no cluster: its data directory was never made, or is gone."""


class DbSnapshotReconciler:
    kind = KIND

    def __init__(self, store: Store, settings: Settings, instances: DbInstanceReconciler) -> None:
        self.store = store
        self.settings = settings
        self.instances = instances
        self.pg = instances.pg

    def pending(self) -> list[Key]:
        return [
            key
            for key, doc in self.store.items(KIND)
            if doc["desired"] == "absent" or doc["aws"]["Status"] == SnapshotStatus.CREATING
        ]

    def reconcile(self, key: Key) -> None:
        doc = self.store.get(KIND, *key)
        if doc is None:
            return
        if doc["desired"] == "absent":
            self._delete(key)
        elif doc["aws"]["Status"] == SnapshotStatus.CREATING:
            self._take(key, doc)

    def _take(self, key: Key, doc: Doc) -> None:
        dest = snapshot_home(self.settings, key)
        try:
            if not self.pg.exists(dest) and doc.get("copy_of"):
                self._copy(doc["copy_of"], dest)
            elif not self.pg.exists(dest):
                source = self.store.get(INSTANCE, *_source_key(doc))
                if source is None:
                    raise ReconcileError(f"DB instance {doc['source'][2]} no longer exists")
                spec = self.instances.spec(source)
                if not self.pg.is_initialized(spec):
                    raise _NoData(f"DB instance {doc['source'][2]} has no data to snapshot")
                if self._starting(source):
                    log.info("db snapshot %s: waiting for its instance to serve", key[2])
                    return
                self.pg.take_snapshot(spec, dest)
        except _NoData as exc:  # no retry can help, and there is nothing for it to keep
            self._fail(key, doc, str(exc))
            return
        except (EngineError, ReconcileError, OSError) as exc:
            self._record_failure(key, doc, exc)
            return
        stamp = datetime.now(UTC).isoformat()

        def taken(d: Doc) -> None:
            d["aws"].update(
                Status=SnapshotStatus.AVAILABLE.value, PercentProgress=100, SnapshotCreateTime=stamp
            )
            d["aws"].setdefault("OriginalSnapshotCreateTime", stamp)  # a copy keeps its source's
            d.pop("attempts", None)

        # The instance first: once the snapshot shows available, its instance is too.
        if not doc.get("copy_of"):
            self.store.update(INSTANCE, *_source_key(doc), backed_up)
        self.store.update(KIND, *key, taken)
        self._event(key, doc, "Manual snapshot created", "creation")
        log.info("db snapshot %s: available (%d bytes)", key[2], self.pg.tree_size(dest))

    def _starting(self, source: Doc) -> bool:
        """The instance should run but its server does not serve yet (the supervisor is
        bringing it back): a copy of its files now would not be consistent, and a stopped
        instance's files are copied as they lie."""
        running = source["aws"]["DBInstanceStatus"] in RUNNING
        return running and not self.instances.serving(source)

    def _copy(self, source_key: list[str], dest: Path) -> None:
        source = snapshot_home(self.settings, source_key)
        if not self.pg.exists(source):
            raise ReconcileError(f"DB snapshot {source_key[2]} is gone; it cannot be copied")
        self.pg.copy_snapshot(source, dest, self.settings.pg_os_user)

    def _record_failure(self, key: Key, doc: Doc, exc: Exception) -> None:
        attempts = int(doc.get("attempts", 0)) + 1
        final = self._is_final(key, doc)
        log.error("db snapshot %s: %s (attempt %d)", key[2], exc, attempts)

        def fail(d: Doc) -> None:
            d["attempts"] = attempts
            if attempts >= _ATTEMPTS and not final:
                d["aws"]["Status"] = SnapshotStatus.FAILED.value

        self.store.update(KIND, *key, fail)
        if attempts >= _ATTEMPTS and not final:
            if not doc.get("copy_of"):
                self.store.update(INSTANCE, *_source_key(doc), backed_up)
            return
        raise exc  # the runner retries with backoff

    def _fail(self, key: Key, doc: Doc, reason: str) -> None:
        log.error("db snapshot %s: failed: %s", key[2], reason)

        def failed(d: Doc) -> None:
            d["aws"]["Status"] = SnapshotStatus.FAILED.value
            d["status_reason"] = reason

        self.store.update(KIND, *key, failed)
        if not doc.get("copy_of"):
            self.store.update(INSTANCE, *_source_key(doc), backed_up)

    def _is_final(self, key: Key, doc: Doc) -> bool:
        source = self.store.get(INSTANCE, *_source_key(doc))
        return source is not None and source.get("final_snapshot") == list(key)

    def _delete(self, key: Key) -> None:
        home = snapshot_home(self.settings, key)
        for path in (home, home.with_name(home.name + ".partial")):
            self.pg.remove_tree(path)  # an error keeps the record: the next pass tries again
        doc = self.store.get(KIND, *key)
        self.store.delete(KIND, *key)
        if doc is not None:
            self._event(key, doc, "Deleted manual snapshot", "deletion")
        log.info("db snapshot %s: deleted", key[2])

    def _event(self, key: Key, doc: Doc, message: str, category: str) -> None:
        source = ("db-snapshot", key[2], str(doc["aws"].get("DBSnapshotArn", "")))
        record_event(self.store, key[0], key[1], source, message, category)


def _source_key(doc: Doc) -> Key:
    account, region, ident = doc["source"]
    return (str(account), str(region), str(ident))
