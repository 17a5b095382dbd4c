"""A Managed AD directory's configurable settings (DescribeSettings, UpdateSettings): the
ones pgrealm applies to its Samba DCs, and what each asks of them.

The TLS protocol settings decide which TLS versions the DCs' LDAPS and StartTLS accept:
Samba takes a GnuTLS priority string (``tls priority``), whose default already removes
SSL 3.0. A setting left alone shows RequestStatus ``Default``; a requested value is
``Updating`` while the DCs restart with it one at a time, then ``Updated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SETTINGS", "Setting", "requested", "tls_priority"]

Doc = dict[str, Any]

_SAMBA_DEFAULT_PRIORITY = "NORMAL:-VERS-SSL3.0"


@dataclass(frozen=True)
class Setting:
    type: str  # AWS's grouping: Protocol
    default: str
    disables: str  # what "Disable" adds to the GnuTLS priority string

    allowed = ("Enable", "Disable")


SETTINGS = {
    "TLS_1_0": Setting("Protocol", "Enable", "-VERS-TLS1.0"),
    "TLS_1_1": Setting("Protocol", "Enable", "-VERS-TLS1.1"),
}


def requested(doc: Doc, name: str) -> str:
    """The value the directory's record asks for (the default if never requested)."""
    entry = doc.get("settings", {}).get(name)
    return str(entry["RequestedValue"]) if entry else SETTINGS[name].default


def tls_priority(doc: Doc) -> str | None:
    """The DCs' ``tls priority``: None while every setting is Samba's default."""
    removed = [s.disables for n, s in SETTINGS.items() if requested(doc, n) == "Disable"]
    return ":".join([_SAMBA_DEFAULT_PRIORITY, *removed]) if removed else None
