"""A Multi-AZ DB instance's two servers, as its record holds them.

The primary's place is the record's own: ``address`` (machine side, what the endpoint name
resolves to), ``vpc_ip``, ``subnet_id``, ``slot`` and ``aws.AvailabilityZone``. The
standby's is ``record["standby"]``, with the same fields and ``zone``, and its progress:
``cloned`` (its data directory is a copy of the primary's) and ``ready`` (it streams, and
the primary's commits wait for it). A failover swaps the two places, so the endpoint name,
which follows ``address``, moves to the promoted server.

A slot names a server's files and process for its whole life, whichever role it has:
slot "a" is the instance's home itself, slot "b" a folder in it (model/layout.py).

Pure record rules: nothing here reads or writes the disk.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SLOT_A",
    "SLOT_B",
    "new_standby",
    "primary_slot",
    "standby",
    "standby_ready",
    "swap_roles",
]

Doc = dict[str, Any]

SLOT_A, SLOT_B = "a", "b"
_PLACE = ("address", "vpc_ip", "subnet_id", "slot")
# What the record says of the primary server's own files and process: a promoted server
# has its configuration written and loaded afresh, and a certificate from the current CA.
_PRIMARY_STATE = ("config_hash", "loaded_hash", "tls_issued_by")


def primary_slot(doc: Doc) -> str:
    return str(doc.get("slot") or SLOT_A)


def standby(doc: Doc) -> Doc | None:
    """The standby's place and progress, while the instance is (becoming) Multi-AZ."""
    found = doc.get("standby")
    return found if isinstance(found, dict) else None


def standby_ready(doc: Doc) -> bool:
    """The standby streams synchronously: every commit that returned is on it too."""
    found = standby(doc)
    return bool(found and found.get("ready") and found.get("desired", "present") == "present")


def new_standby(doc: Doc, subnet_id: str, zone: str) -> Doc:
    """A standby to be placed in ``subnet_id`` (another zone than the primary's)."""
    other = SLOT_B if primary_slot(doc) == SLOT_A else SLOT_A
    return {"subnet_id": subnet_id, "zone": zone, "slot": other, "cloned": False, "ready": False}


def swap_roles(doc: Doc) -> None:
    """The failover's record change: the standby takes the primary's place and role, and
    the former primary's place becomes the standby's, to be cloned anew."""
    spare = doc["standby"]
    spare.setdefault("slot", SLOT_B)
    doc.setdefault("slot", SLOT_A)
    for field in _PLACE:
        doc[field], spare[field] = spare[field], doc[field]
    aws = doc["aws"]
    aws["AvailabilityZone"], spare["zone"] = spare["zone"], aws["AvailabilityZone"]
    aws["SecondaryAvailabilityZone"] = spare["zone"]
    spare.update(cloned=False, ready=False)
    for field in _PRIMARY_STATE:
        doc.pop(field, None)
