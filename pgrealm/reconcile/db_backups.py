"""Automated backups of DB instances, and the point-in-time restores made from them.

An instance with BackupRetentionPeriod > 0 archives its WAL into ``<home>/wal-archive``
and keeps base backups in ``<home>/backups`` (see
:mod:`pgrealm.engines.postgres.pitr`). Every few minutes, for each such instance:

    a base backup when there is none, or the newest is a day old   (backing-up, as RDS)
    what the retention period no longer needs dropped, with its WAL
    LatestRestorableTime brought up to date

A point-in-time restore is a new instance whose cluster comes from the source's newest
base backup before the target, and which replays the source's archive up to it.

State kept in the instance's document: ``restorable_since`` (the oldest base backup,
the earliest restorable moment), ``restorable_checked`` (wall time of the last pass),
``archiving: pending-reboot`` (made before pgrealm archived WAL: archive_mode waits for
a restart), and for a restored instance ``restore_point`` / ``recovered``.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pgrealm.engines import postgres
from pgrealm.engines.interfaces import InstanceEngine
from pgrealm.errors import ReconcileError
from pgrealm.model.rds import RUNNING, InstanceStatus, move_instance
from pgrealm.reconcile.runner import Key
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = [
    "AutomatedBackups",
    "RetainedBackupReconciler",
    "backed_up",
    "backup_due",
    "backups_on",
]

log = logging.getLogger(__name__)

KIND = Kind.DB_INSTANCE
RETAINED = Kind.DB_RETAINED_BACKUP
BACKUPS = Path("backups")
WAL_ARCHIVE = "wal-archive"
_REFRESH = 300.0  # RDS moves LatestRestorableTime about every 5 minutes
_BASE_BACKUP_EVERY = timedelta(days=1)
_RECOVERY_TIMEOUT = 600.0


def backups_on(doc: Doc) -> bool:
    return int(doc["aws"].get("BackupRetentionPeriod") or 0) > 0


def backup_due(doc: Doc) -> bool:
    """The first base backup is missing, or the periodic pass is due."""
    if not backups_on(doc) or doc.get("archiving") == "pending-reboot":
        return False
    if doc["aws"]["DBInstanceStatus"] not in RUNNING or not doc.get("roles_bootstrapped"):
        return False
    checked = float(doc.get("restorable_checked", 0))
    return not doc.get("restorable_since") or time.time() - checked > _REFRESH


class AutomatedBackups:
    """The automated-backup side of the db-instance reconciler."""

    def __init__(
        self,
        store: Store,
        instances_root: Path,
        retained_root: Path,
        pg: InstanceEngine = postgres,
    ) -> None:
        self.store = store
        self.pg = pg
        self.instances_root = instances_root
        self.retained_root_dir = retained_root

    def home_of(self, key: Key | list[str]) -> Path:
        account, region, ident = key
        return self.instances_root / f"{account}-{region}-{ident}"

    def retained_root(self, key: Key | list[str]) -> Path:
        account, region, resource = key
        return self.retained_root_dir / f"{account}-{region}-{resource}"

    def root_of(self, point: Doc) -> Path:
        """Where a restore point's backups are: its live source's home, or a retained copy."""
        if point.get("retained"):
            return self.retained_root(point["retained"])
        return self.home_of(point["source"])

    def recovery(self, doc: Doc) -> postgres.Recovery | None:
        """What a point-in-time restore replays, until its server has been promoted."""
        point = doc.get("restore_point")
        if point is None or doc.get("recovered"):
            return None
        archive = self.root_of(point) / WAL_ARCHIVE
        return postgres.Recovery(archive=archive, target_time=point["time"])

    def retain(self, key: Key, doc: Doc, spec: postgres.PgSpec | None) -> None:
        """DeleteAutomatedBackups=false: keep the backups of an instance being deleted, up
        to this moment (with the spec of a running server, its last WAL is archived)."""
        until = datetime.now(UTC)  # before archive_now's marker commit: a target needs one
        if spec is not None:
            self.pg.archive_now(spec)
        resource = doc["aws"]["DbiResourceId"]
        root = self.retained_root((key[0], key[1], resource))
        self.pg.move_into(self.home_of(key), root, (str(BACKUPS), WAL_ARCHIVE))
        self.store.put(RETAINED, key[0], key[1], resource, _retained(doc, until))
        log.info("db instance %s: automated backups retained as %s", key[2], resource)

    def run(self, key: Key, doc: Doc, spec: postgres.PgSpec) -> None:
        """One pass over ``doc``'s automated backups (the module docstring's list)."""
        root = self.home_of(key) / BACKUPS  # the instance's, whichever server is primary
        newest = max((t for t, _ in self.pg.base_backups(root)), default=None)
        now = datetime.now(UTC)
        due = newest is None or now - newest > _BASE_BACKUP_EVERY
        if due and not self.pg.archiving(spec):  # made before pgrealm archived WAL
            self.store.update(KIND, *key, _archiving_at_reboot)
            self.store.update(KIND, *key, backed_up)
            return
        if due:
            self.store.update(KIND, *key, _backing_up)
        try:
            if due:
                stamp = self.pg.take_base_backup(spec, root)
                log.info("db instance %s: base backup at %s", key[2], stamp.isoformat())
            since = self.pg.prune(spec, root, int(doc["aws"]["BackupRetentionPeriod"]), now)
            latest = self.pg.latest_restorable(spec)
            self.store.update(KIND, *key, lambda d: _restorable(d, latest, since))
        finally:
            # Only what this made backing-up (a user's snapshot may be under way).
            if due or not doc.get("restorable_since"):
                self.store.update(KIND, *key, backed_up)  # restorable before available

    def base_for(self, point: Doc, source_spec: postgres.PgSpec | None) -> Path:
        """The newest base backup before the point's time. With the spec of a running
        source, its WAL up to now is archived first."""
        target = datetime.fromisoformat(point["time"]) if point["time"] else datetime.now(UTC)
        usable = [
            path
            for stamp, path in self.pg.base_backups(self.root_of(point) / BACKUPS)
            if stamp <= target
        ]
        if not usable:
            raise ReconcileError(f"no automated backup reaches back to {target.isoformat()}")
        if source_spec is not None:
            self.pg.archive_now(source_spec)
        return usable[-1]

    def wait_promoted(self, spec: postgres.PgSpec) -> None:
        """Until the replay has reached its target and the server left recovery."""
        deadline = time.monotonic() + _RECOVERY_TIMEOUT
        while self.pg.in_recovery(spec):
            if time.monotonic() > deadline:
                raise ReconcileError("the point-in-time restore did not finish replaying WAL")
            time.sleep(0.2)

    def restoring_from(self, key: Key) -> bool:
        """A point-in-time restore from this instance's backups has not finished yet."""
        return any(
            (d.get("restore_point") or {}).get("source") == list(key) and not d.get("recovered")
            for d in self.store.list(KIND, key[0], key[1])
            if d["desired"] == "present" and d["aws"]["DBInstanceStatus"] != InstanceStatus.FAILED
        )

    def drop(self, home: Path) -> None:
        """Retention 0 deletes the automated backups, as on RDS."""
        for path in (home / BACKUPS, home / WAL_ARCHIVE):
            self.pg.remove_tree(path)


class RetainedBackupReconciler:
    """Removes retained automated backups deleted with DeleteDBInstanceAutomatedBackup."""

    kind = RETAINED

    def __init__(self, store: Store, backups: AutomatedBackups) -> None:
        self.store = store
        self.backups = backups

    def pending(self) -> list[Key]:
        return [key for key, doc in self.store.items(RETAINED) if doc["desired"] == "absent"]

    def reconcile(self, key: Key) -> None:
        # An error keeps the record: the next pass tries again.
        self.backups.pg.remove_tree(self.backups.retained_root(key))
        self.store.delete(RETAINED, *key)


def _retained(doc: Doc, end: datetime) -> Doc:
    """The record of retained backups: the deleted instance as it was (the service shows it
    as a DBInstanceAutomatedBackup), and what a point-in-time restore needs of it."""
    aws = doc["aws"]
    until = end.isoformat()
    kept = (
        "DBInstanceIdentifier", "DBInstanceClass", "MasterUsername", "AllocatedStorage",
        "StorageType", "StorageEncrypted", "DBName", "BackupRetentionPeriod", "DbiResourceId",
    )  # fmt: skip
    source = {
        "aws": {k: aws.get(k) for k in kept},
        "restorable_since": doc["restorable_since"],
        "restorable_until": until,
    }
    instance = {"aws": dict(aws), "restorable_since": doc["restorable_since"]}
    return {"instance": instance, "source": source, "retained_until": until, "desired": "present"}


def _restorable(doc: Doc, latest: datetime | None, since: datetime | None) -> None:
    if since is not None:
        doc["restorable_since"] = since.isoformat()
    if latest is not None:
        doc["aws"]["LatestRestorableTime"] = latest.isoformat()
    doc["restorable_checked"] = time.time()


def _archiving_at_reboot(doc: Doc) -> None:
    doc["archiving"] = "pending-reboot"


def _backing_up(doc: Doc) -> None:
    if doc["aws"]["DBInstanceStatus"] == InstanceStatus.AVAILABLE:
        move_instance(doc, InstanceStatus.BACKING_UP)


def backed_up(doc: Doc) -> None:
    """An instance's backup or snapshot is done: backing-up -> available."""
    if doc["aws"]["DBInstanceStatus"] == InstanceStatus.BACKING_UP:
        move_instance(doc, InstanceStatus.AVAILABLE)
