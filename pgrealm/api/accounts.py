"""Access keys and the accounts they belong to.

pgrealm has no IAM users with real keys: like the usual local AWS stand-ins, it accepts
access key ``test`` (account ``000000000000``) and any access key that is itself a
12-digit account id. Every secret is ``test``. Signatures are still checked, so a client
with a wrong secret fails the way it would against AWS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_ACCESS_KEY", "Credential", "lookup"]

log = logging.getLogger(__name__)

DEFAULT_ACCESS_KEY = "test"
DEFAULT_ACCOUNT_ID = "000000000000"
_SECRET = "test"


@dataclass(frozen=True)
class Credential:
    access_key: str
    secret: str
    account_id: str


def lookup(access_key: str) -> Credential | None:
    """The credential for ``access_key``, or None when no account owns it."""
    if access_key == DEFAULT_ACCESS_KEY:
        return Credential(access_key, _SECRET, DEFAULT_ACCOUNT_ID)
    # isdigit() alone would accept non-ASCII digits such as "١٢"
    if len(access_key) == 12 and access_key.isascii() and access_key.isdigit():
        return Credential(access_key, _SECRET, access_key)
    log.debug("unknown access key %r", access_key)
    return None
