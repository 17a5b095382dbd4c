"""A directory's registered CA certificates (RegisterCertificate and the rest) and its
client LDAPS setting (EnableLDAPS, DisableLDAPS), as its record keeps them.

``doc["certificates"]``: one entry per registered certificate, AWS's fields under
``aws`` and the PEM beside them. ``doc["ldaps"]``: the LDAPSSettingInfo of the directory's
one LDAPS type, ``Client``. ``doc["authority"]``: the directory's own certificate
authority, which issues its DCs' LDAPS certificates (engines/samba/tls.py), its key
sealed.

Enabling client LDAPS is checked, as AWS checks it: every DC (an AD Connector: every DNS
address of the customer's AD) must present, on port 636, a certificate that chains to a
registered ClientLDAPS certificate; if one does not, the status is EnableFailed with the
reason.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "CERTIFICATE_LIMIT",
    "CertificateState",
    "LdapsStatus",
    "certificate_work",
    "ldaps_status",
    "registered_pems",
    "set_ldaps",
]

Doc = dict[str, Any]

# Registered certificates per directory. AWS documents no figure for it; five is ours.
CERTIFICATE_LIMIT = 5


class CertificateState(StrEnum):
    REGISTERING = "Registering"
    REGISTERED = "Registered"
    REGISTER_FAILED = "RegisterFailed"
    DEREGISTERING = "Deregistering"
    DEREGISTERED = "Deregistered"
    DEREGISTER_FAILED = "DeregisterFailed"


class LdapsStatus(StrEnum):
    ENABLING = "Enabling"
    ENABLED = "Enabled"
    ENABLE_FAILED = "EnableFailed"
    DISABLED = "Disabled"


def ldaps_status(doc: Doc) -> LdapsStatus:
    return LdapsStatus(doc.get("ldaps", {}).get("LDAPSStatus", LdapsStatus.DISABLED))


def set_ldaps(doc: Doc, status: LdapsStatus, reason: str | None, stamp: str) -> None:
    doc["ldaps"] = {"LDAPSStatus": str(status), "LastUpdatedDateTime": stamp}
    if reason:
        doc["ldaps"]["LDAPSStatusReason"] = reason


def registered_pems(doc: Doc) -> list[str]:
    """The PEMs of the directory's Registered ClientLDAPS certificates."""
    return [
        str(c["pem"])
        for c in doc.get("certificates", [])
        if c["aws"]["State"] == CertificateState.REGISTERED and c["aws"]["Type"] == "ClientLDAPS"
    ]


def certificate_work(doc: Doc) -> bool:
    """Whether the reconciler has a certificate or the LDAPS setting to move on."""
    return ldaps_status(doc) == LdapsStatus.ENABLING or any(
        c["aws"]["State"] == CertificateState.REGISTERING for c in doc.get("certificates", [])
    )
