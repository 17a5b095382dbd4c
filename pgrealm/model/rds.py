"""RDS's statuses of a DB instance and a DB snapshot, and the moves between them.

    creating -> available | backing-up (its first automated backup) | failed
    available -> modifying | rebooting | backing-up -> available
    available -> stopping -> stopped -> starting -> available
    any but deleting -> failed (a step that keeps failing);  any -> deleting -> (gone)

A move the table lacks is refused and logged: a reconciler finishing its steps must not
bring back an instance that was marked for deletion meanwhile.
Status names are RDS's (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import Enum
from typing import Any

from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = [
    "RUNNING",
    "InstanceStatus",
    "SnapshotStatus",
    "instances_joined_to",
    "move_instance",
]

log = logging.getLogger(__name__)


class InstanceStatus(str, Enum):
    CREATING = "creating"
    AVAILABLE = "available"
    MODIFYING = "modifying"
    REBOOTING = "rebooting"
    BACKING_UP = "backing-up"
    DELETING = "deleting"
    FAILED = "failed"
    STOPPING = "stopping"
    STOPPED = "stopped"
    STARTING = "starting"


class SnapshotStatus(str, Enum):
    CREATING = "creating"
    AVAILABLE = "available"
    FAILED = "failed"
    DELETED = "deleted"


_I = InstanceStatus
_SETTLE = {_I.AVAILABLE, _I.BACKING_UP, _I.FAILED, _I.DELETING}
_INSTANCE_MOVES: dict[InstanceStatus, set[InstanceStatus]] = {
    _I.CREATING: _SETTLE,
    _I.AVAILABLE: _SETTLE | {_I.MODIFYING, _I.REBOOTING, _I.STOPPING},
    _I.MODIFYING: _SETTLE,
    _I.REBOOTING: _SETTLE,
    _I.BACKING_UP: _SETTLE,
    _I.STOPPING: {_I.STOPPED, _I.FAILED, _I.DELETING},
    _I.STOPPED: {_I.STARTING, _I.DELETING},
    _I.STARTING: _SETTLE,
    _I.FAILED: {_I.DELETING},
    _I.DELETING: set(),
}

# Statuses of an instance whose server runs and takes connections.
RUNNING = (InstanceStatus.AVAILABLE.value, InstanceStatus.BACKING_UP.value)


def move_instance(doc: dict[str, Any], status: InstanceStatus) -> bool:
    """Set ``doc``'s DBInstanceStatus to ``status`` if the table allows it; True if it did."""
    aws = doc["aws"]
    current = InstanceStatus(aws["DBInstanceStatus"])
    if current != status and status not in _INSTANCE_MOVES[current]:
        log.warning(
            "db instance %s: refusing %s -> %s", aws["DBInstanceIdentifier"], current, status
        )
        return False
    aws["DBInstanceStatus"] = status.value
    return True


def instances_joined_to(
    store: Store, directory: Sequence[str], account: str | None = None
) -> list[str]:
    """Instances (of ``account``, or of any) joined to the directory whose store key is
    ``directory``: a directory, or a share of it, cannot go while one is."""
    return [
        doc["aws"]["DBInstanceIdentifier"]
        for key, doc in store.items(Kind.DB_INSTANCE)
        if (account is None or key[0] == account) and doc.get("directory") == list(directory)
    ]
