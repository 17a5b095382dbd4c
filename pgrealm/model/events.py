"""RDS events: what happened to a DB instance, as ``describe-events`` shows it.

The db-instance reconciler writes every change through one function, which compares the
record before and after and records the events below. The messages are RDS's where RDS
has one ("Amazon RDS event categories and event messages",
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html); RDS
has none for a domain membership, so those are pgrealm's own wording. Events are kept
14 days, as on RDS.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = ["CATEGORIES", "KEPT_FOR", "instance_events", "record"]

KEPT_FOR = timedelta(days=14)
_PRUNE_EVERY = 500  # records; pruning reads every event

# What describe-event-categories lists, per source type.
CATEGORIES = {
    "db-instance": [
        "availability", "backup", "configuration change", "creation", "deletion", "failover",
        "failure", "notification", "read replica", "recovery", "restoration",
    ],
    "db-snapshot": ["creation", "deletion", "notification", "restoration"],
    "db-parameter-group": ["configuration change"],
}  # fmt: skip

Doc = dict[str, Any]

# (status before, status after) -> (message, category); "" stands for any status.
_STATUS_EVENTS = {
    ("creating", "available"): ("DB instance created", "creation"),
    ("creating", "backing-up"): ("DB instance created", "creation"),
    ("stopping", "stopped"): ("DB instance stopped", "notification"),
    ("starting", "available"): ("DB instance started", "notification"),
    ("starting", "backing-up"): ("DB instance started", "notification"),
    ("rebooting", "available"): ("DB instance restarted", "availability"),
    ("", "failed"): ("DB instance put into failed state", "failure"),
}


def instance_events(before: Doc, after: Doc) -> list[tuple[str, str]]:
    """The (message, category) events of a change from ``before`` to ``after``."""
    out = []
    old, new = before["aws"].get("DBInstanceStatus"), after["aws"].get("DBInstanceStatus")
    if old != new:
        found = _STATUS_EVENTS.get((old, new)) or _STATUS_EVENTS.get(("", new))
        if found:
            message, category = found
            reason = after.get("status_reason")
            out.append(
                (f"{message}: {reason}" if new == "failed" and reason else message, category)
            )
    if before.get("promote_requested") and not after.get("promote_requested"):
        out.append(("Promoted Read Replica to a stand-alone database instance", "read replica"))
    out += _membership_events(before, after)
    return out


def _membership_events(before: Doc, after: Doc) -> list[tuple[str, str]]:
    was = {m["Domain"]: m["Status"] for m in before["aws"].get("DomainMemberships") or []}
    now = {m["Domain"]: m["Status"] for m in after["aws"].get("DomainMemberships") or []}
    out = []
    for domain, status in now.items():
        if status == was.get(domain):
            continue
        if status == "kerberos-enabled":
            out.append(
                (f"Kerberos authentication enabled with domain {domain}", "configuration change")
            )
        elif status == "enable-kerberos-failed":
            why = after.get("membership_reason") or "see the server log"
            out.append(
                (
                    f"Kerberos authentication could not be enabled with domain {domain}: {why}",
                    "failure",
                )
            )
    for domain in was.keys() - now.keys():
        out.append(
            (f"Kerberos authentication disabled: left domain {domain}", "configuration change")
        )
    return out


def record(
    store: Store,
    account: str,
    region: str,
    source: tuple[str, str, str],
    message: str,
    category: str,
) -> None:
    """Keep one event of ``source`` (source type, identifier, ARN)."""
    now = datetime.now(UTC)
    event_id = f"{now.strftime('%Y%m%dT%H%M%S.%f')}-{secrets.token_hex(4)}"  # sorts by time
    source_type, identifier, arn = source
    store.put(
        Kind.EVENT,
        account,
        region,
        event_id,
        {
            "SourceIdentifier": identifier,
            "SourceType": source_type,
            "SourceArn": arn,
            "Message": message,
            "EventCategories": [category],
            "Date": now.isoformat(),
        },
    )
    if store.next_value("events") % _PRUNE_EVERY == 0:
        _prune(store, now)


def _prune(store: Store, now: datetime) -> None:
    oldest = now - KEPT_FOR
    for key, event in store.items(Kind.EVENT):
        if datetime.fromisoformat(event["Date"]) < oldest:
            store.delete(Kind.EVENT, *key)
