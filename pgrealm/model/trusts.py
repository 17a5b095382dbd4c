"""A directory's trusts with other forests and its conditional forwarders, as Directory
Service shows them, and what they ask of the directory's DCs.

Trust states, as AWS names them:

    Creating -> Created -> Verifying -> Verified | VerifyFailed
    Creating -> Failed;  VerifyFailed/Verified -> Verifying (verify-trust)
    any -> Deleting -> Deleted (then gone)

Both live in the directory's record: ``trusts`` (each with its sealed trust password)
and ``conditional_forwarders``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

__all__ = [
    "AWS_TO_SAMBA_DIRECTION",
    "AWS_TO_SAMBA_TYPE",
    "LIVE",
    "TrustState",
    "dns_forwarders",
    "put_forwarder",
    "runs_trusts",
    "set_trust_state",
]

Doc = dict[str, Any]


class TrustState(str, Enum):
    CREATING = "Creating"
    CREATED = "Created"
    VERIFYING = "Verifying"
    VERIFY_FAILED = "VerifyFailed"
    VERIFIED = "Verified"
    UPDATING = "Updating"
    UPDATE_FAILED = "UpdateFailed"
    UPDATED = "Updated"
    DELETING = "Deleting"
    DELETED = "Deleted"
    FAILED = "Failed"


# States in which the trust exists, or is being made, on the directory's side.
LIVE = {
    TrustState.CREATING,
    TrustState.CREATED,
    TrustState.VERIFYING,
    TrustState.VERIFY_FAILED,
    TrustState.VERIFIED,
    TrustState.UPDATING,
    TrustState.UPDATED,
    TrustState.UPDATE_FAILED,
}

# AWS's trust direction names, from this directory's side, to samba-tool's: a
# "One-Way: Outgoing" trust means this directory trusts the other one.
AWS_TO_SAMBA_DIRECTION = {
    "Two-Way": "both",
    "One-Way: Outgoing": "outgoing",
    "One-Way: Incoming": "incoming",
}
AWS_TO_SAMBA_TYPE = {"Forest": "forest", "External": "external"}


def runs_trusts(doc: Doc) -> bool:
    """Whether the directory's DCs run what trusts need (file server, winbindd): while it
    has a trust, and always for an on-premises forest (``pgrealm onprem``)."""
    live = {s.value for s in LIVE} | {TrustState.DELETING.value}
    return bool(doc.get("onprem")) or any(
        t["aws"]["TrustState"] in live for t in doc.get("trusts", [])
    )


def dns_forwarders(doc: Doc) -> tuple[str, ...]:
    """Every conditional forwarder's addresses, in order, once each (Samba 4.17's DNS has
    one forwarder list for all names it does not serve)."""
    out: list[str] = []
    for forwarder in doc.get("conditional_forwarders", []):
        out += [ip for ip in forwarder["DnsIpAddrs"] if ip not in out]
    return tuple(out)


def set_trust_state(trust: Doc, state: TrustState, reason: str | None = None) -> None:
    """Move one trust record to ``state``, with AWS's reason field and timestamps."""
    stamp = datetime.now(UTC).isoformat()
    aws = trust["aws"]
    aws["TrustState"] = state.value
    aws["StateLastUpdatedDateTime"] = aws["LastUpdatedDateTime"] = stamp
    if reason:
        aws["TrustStateReason"] = reason
    else:
        aws.pop("TrustStateReason", None)


def put_forwarder(doc: Doc, remote: str, addresses: list[str]) -> None:
    """The directory's conditional forwarder for ``remote`` is ``addresses`` (made or
    replaced; names compare without case, as DNS does)."""
    others = [
        f
        for f in doc.get("conditional_forwarders", [])
        if f["RemoteDomainName"].lower() != remote.lower()
    ]
    forwarder = {"RemoteDomainName": remote, "DnsIpAddrs": addresses, "ReplicationScope": "Domain"}
    doc["conditional_forwarders"] = [*others, forwarder]
