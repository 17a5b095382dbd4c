"""A directory's life cycle, as Directory Service shows it, and its naming rules.

Stage transitions allowed (one table, as the service documents them):

    Requested -> Creating -> Active <-> Impaired
    Active/Impaired -> Restoring -> Active | RestoreFailed (restore-from-snapshot)
    any -> Deleting -> (gone);  Creating -> Failed
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from enum import Enum
from typing import Any

__all__ = [
    "ALLOWED",
    "CHANGING",
    "LIMITED_TYPES",
    "PROCESS_MODELS",
    "DirectoryStage",
    "dc_changing",
    "domain_controller_id",
    "limited_type",
    "now",
    "set_stage",
    "updating",
]

log = logging.getLogger(__name__)

Doc = dict[str, Any]


class DirectoryStage(str, Enum):
    REQUESTED = "Requested"
    CREATING = "Creating"
    ACTIVE = "Active"
    IMPAIRED = "Impaired"
    DELETING = "Deleting"
    FAILED = "Failed"
    RESTORING = "Restoring"
    RESTORE_FAILED = "RestoreFailed"


ALLOWED = {
    (DirectoryStage.REQUESTED, DirectoryStage.CREATING),
    (DirectoryStage.CREATING, DirectoryStage.ACTIVE),
    (DirectoryStage.CREATING, DirectoryStage.FAILED),
    (DirectoryStage.ACTIVE, DirectoryStage.IMPAIRED),
    (DirectoryStage.IMPAIRED, DirectoryStage.ACTIVE),
    (DirectoryStage.ACTIVE, DirectoryStage.RESTORING),
    (DirectoryStage.IMPAIRED, DirectoryStage.RESTORING),
    (DirectoryStage.RESTORE_FAILED, DirectoryStage.RESTORING),
    (DirectoryStage.RESTORING, DirectoryStage.ACTIVE),
    (DirectoryStage.RESTORING, DirectoryStage.RESTORE_FAILED),
    *((s, DirectoryStage.DELETING) for s in DirectoryStage),
}


def now() -> datetime:
    return datetime.now(UTC)


def _set_stage(doc: Doc, stage: DirectoryStage, reason: str | None) -> None:
    doc["aws"]["Stage"] = stage.value
    doc["aws"]["StageLastUpdatedDateTime"] = now().isoformat()
    if reason:
        doc["aws"]["StageReason"] = reason
    else:
        doc["aws"].pop("StageReason", None)


def set_stage(doc: Doc, stage: DirectoryStage, reason: str | None = None) -> bool:
    """Move ``doc`` to ``stage`` if the table allows it; True if it changed."""
    current = DirectoryStage(doc["aws"]["Stage"])
    if current == stage:
        if doc["aws"].get("StageReason") != reason:
            _set_stage(doc, stage, reason)
            return True
        return False
    if (current, stage) not in ALLOWED:
        log.warning("directory %s: refusing %s -> %s", doc["aws"]["DirectoryId"], current, stage)
        return False
    _set_stage(doc, stage, reason)
    return True


# Directory types that lack what only AWS Managed Microsoft AD offers, as AWS names them.
LIMITED_TYPES = {"SimpleAD": "Simple AD", "ADConnector": "AD Connector"}
# A DC joining or leaving (UpdateNumberOfDomainControllers): health leaves it alone.
CHANGING = ("Creating", "Deleting")


def limited_type(doc: Doc) -> str | None:
    """Simple AD or AD Connector, named as AWS names them; None for Managed AD."""
    return LIMITED_TYPES.get(doc["aws"].get("Type", "MicrosoftAD"))


def dc_changing(dc: Doc) -> bool:
    return dc.get("status") in CHANGING


def domain_controller_id(doc: Doc, dc: Doc) -> str:
    """The DomainControllerId AWS shows for ``dc`` (dc-<directory digits><n>)."""
    return f"dc-{doc['aws']['DirectoryId'][2:]}{dc['name'][2:]}"


# The directory's edition picks how its DCs run (engines/samba/dc.py has the numbers):
# Standard fits a laptop, one process per DC; Enterprise, AWS's edition for bigger
# workloads, gives the KDC a worker process per core for Kerberos throughput. Simple AD's
# sizes follow the same line: Small as Standard, Large as Enterprise.
PROCESS_MODELS = {
    "Standard": "single",
    "Enterprise": "prefork",
    "Small": "single",
    "Large": "prefork",
}


def updating(doc: Doc) -> list[Doc]:
    """The directory's UpdateDirectorySetup activities still Updating (services/ds/updates.py)."""
    return [
        a for kind in doc.get("updates", {}).values() for a in kind if a["Status"] == "Updating"
    ]
