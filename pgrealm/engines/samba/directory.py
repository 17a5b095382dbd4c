"""Users, passwords, service accounts (SPNs) and keytabs in a running or stopped DC.

All writes go to the DC's local sam.ldb through ``_samdb_tool.py`` (see :mod:`.tool`),
never over the network and never with a password on a command line. User records come
back as plain dicts of AD attributes: sAMAccountName, userPrincipalName,
distinguishedName, objectSid (string), objectGUID, givenName, sn, mail, displayName,
userAccountControl, enabled, memberOf, whenCreated.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from pgrealm.engines.samba import tool
from pgrealm.engines.samba.keytab import KeytabEntry, write_keytab
from pgrealm.engines.samba.spec import DcSpec

__all__ = [
    "create_user",
    "delete_user",
    "ensure_service_account",
    "export_keytab",
    "get_user",
    "list_users",
    "service_account_ou",
    "set_enabled",
    "set_password",
    "update_user",
]

log = logging.getLogger(__name__)

User = dict[str, Any]


def create_user(
    dc: DcSpec,
    sam_account_name: str,
    *,
    given_name: str | None = None,
    surname: str | None = None,
    email: str | None = None,
    ou_dn: str | None = None,
    enabled: bool = True,
    password: str | None = None,
    extra: Mapping[str, str | list[str]] | None = None,
) -> User:
    """Create a user (default OU=Users,OU=<NETBIOS>,...) and return its attributes.

    Without ``password`` AD keeps the account disabled whatever ``enabled`` says
    (an enabled account must have a password). Raises AlreadyExistsError, PasswordPolicyError.
    """
    result = tool.call(
        dc,
        "create_user",
        sam_account_name=sam_account_name,
        given_name=given_name,
        surname=surname,
        email=email,
        ou_dn=ou_dn or dc.domain.users_ou_dn,
        enabled=enabled and password is not None,
        password=password,
        extra=dict(extra or {}),
    )
    log.info("%s: created user %s", dc.domain.realm, sam_account_name)
    return cast(User, result)


def set_password(dc: DcSpec, sam_account_name: str, password: str) -> None:
    """Set a password; raises PasswordPolicyError if the domain policy refuses it."""
    tool.call(dc, "set_password", sam_account_name=sam_account_name, password=password)
    log.info("%s: set password of %s", dc.domain.realm, sam_account_name)


def get_user(dc: DcSpec, sam_account_name: str) -> User:
    """Attributes of one user; raises NoSuchObjectError."""
    return cast(User, tool.call(dc, "get_user", sam_account_name=sam_account_name))


def list_users(dc: DcSpec, base_dn: str | None = None) -> list[User]:
    """All person accounts (service/computer accounts excluded), sorted by name."""
    return cast(list[User], tool.call(dc, "list_users", base_dn=base_dn))


def delete_user(dc: DcSpec, sam_account_name: str) -> None:
    tool.call(dc, "delete_user", sam_account_name=sam_account_name)
    log.info("%s: deleted user %s", dc.domain.realm, sam_account_name)


def set_enabled(dc: DcSpec, sam_account_name: str, enabled: bool) -> None:
    tool.call(dc, "set_enabled", sam_account_name=sam_account_name, enabled=enabled)


def update_user(dc: DcSpec, sam_account_name: str, attributes: Mapping[str, str | None]) -> User:
    """Replace (or, with None, remove) plain attributes such as givenName, sn, mail."""
    return cast(
        User,
        tool.call(
            dc, "update_user", sam_account_name=sam_account_name, attributes=dict(attributes)
        ),
    )


def service_account_ou(dc: DcSpec) -> str:
    """Where DB instance service accounts live: OU=Computers,OU=<NETBIOS>,..."""
    return dc.domain.computers_ou_dn


def ensure_service_account(dc: DcSpec, account: str, spn: str) -> None:
    """Make computer account ``account$`` exist, AES-only, holding ``spn``.

    Its random password is generated inside the helper and never leaves it; an existing
    account keeps its keys. Raises AlreadyExistsError if another account holds ``spn``.
    """
    result = tool.call(
        dc, "ensure_service_account", account=account, spn=spn, ou_dn=service_account_ou(dc)
    )
    log.info(
        "%s: service account %s for %s (%s)",
        dc.domain.realm,
        result["sAMAccountName"],
        spn,
        "created" if result["created"] else "exists",
    )


def export_keytab(dc: DcSpec, principal: str, path: Path, owner_uid: int, owner_gid: int) -> None:
    """Write ``principal``'s current AES keys to ``path`` (0600, owner, atomic rename).

    ``principal`` is an SPN, with or without "@REALM" (the domain realm is used).
    """
    keys = tool.call(dc, "keytab_keys", principal=principal)
    name = principal.split("@", 1)[0]
    full = f"{name}@{keys['realm']}"
    entries = [
        KeytabEntry(full, int(keys["kvno"]), int(k["enctype"]), base64.b64decode(k["key"]))
        for k in keys["keys"]
    ]
    write_keytab(path, entries, owner_uid, owner_gid)
