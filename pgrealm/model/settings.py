"""A Managed AD directory's configurable settings (DescribeSettings, UpdateSettings): the
secure-channel protocols and ciphers that Managed AD lists, what each asks of pgrealm's
Samba DCs, and which of them those DCs cannot offer at all.

The DCs' LDAPS and StartTLS run on GnuTLS, configured by one priority string (Samba's
``tls priority``), whose default, ``NORMAL:-VERS-SSL3.0``, offers TLS 1.0 to 1.3 with
AES-128, AES-256 and ChaCha20 suites. So:

- TLS_1_0, TLS_1_1 and AES_128 are on by default and can be turned off;
- 3DES_168 and RC4_128 are off by default (GnuTLS leaves them out of NORMAL) and can be
  turned on;
- PCT 1.0, SSL 2.0, SSL 3.0, DES, RC2 and the short RC4 keys have no GnuTLS suite (or none
  that Samba lets through): they are always Disable, and asking for Enable is refused.

A setting left alone shows RequestStatus ``Default``; a requested value is ``Updating``
while the DCs restart with it one at a time, then ``Updated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SETTINGS", "Setting", "requested", "tls_priority"]

Doc = dict[str, Any]

_SAMBA_DEFAULT_PRIORITY = "NORMAL:-VERS-SSL3.0"


@dataclass(frozen=True)
class Setting:
    type: str  # AWS's grouping: Protocol or Cipher
    default: str
    priority: str = ""  # the GnuTLS priority items that give the non-default value

    @property
    def allowed(self) -> tuple[str, ...]:
        """The values the DCs can apply: a setting without priority items has one."""
        return ("Enable", "Disable") if self.priority else (self.default,)


def _off(*names: str) -> str:
    return ":".join(f"-{n}" for n in names)


def _on(*names: str) -> str:
    return ":".join(f"+{n}" for n in names)


SETTINGS = {
    "PCT_1_0": Setting("Protocol", "Disable"),
    "SSL_2_0": Setting("Protocol", "Disable"),
    "SSL_3_0": Setting("Protocol", "Disable"),
    "TLS_1_0": Setting("Protocol", "Enable", _off("VERS-TLS1.0")),
    "TLS_1_1": Setting("Protocol", "Enable", _off("VERS-TLS1.1")),
    "AES_128": Setting("Cipher", "Enable", _off("AES-128-GCM", "AES-128-CBC", "AES-128-CCM")),
    "3DES_168": Setting("Cipher", "Disable", _on("3DES-CBC")),
    "RC4_128": Setting("Cipher", "Disable", _on("ARCFOUR-128")),
    "DES_56": Setting("Cipher", "Disable"),
    "RC2_40": Setting("Cipher", "Disable"),
    "RC2_56": Setting("Cipher", "Disable"),
    "RC2_128": Setting("Cipher", "Disable"),
    "RC4_40": Setting("Cipher", "Disable"),
    "RC4_56": Setting("Cipher", "Disable"),
    "RC4_64": Setting("Cipher", "Disable"),
}


def requested(doc: Doc, name: str) -> str:
    """The value the directory's record asks for (the default if never requested)."""
    entry = doc.get("settings", {}).get(name)
    return str(entry["RequestedValue"]) if entry else SETTINGS[name].default


def tls_priority(doc: Doc) -> str | None:
    """The DCs' ``tls priority``: None while every setting is Samba's default."""
    changed = [s.priority for n, s in SETTINGS.items() if requested(doc, n) != s.default]
    return ":".join([_SAMBA_DEFAULT_PRIORITY, *changed]) if changed else None
