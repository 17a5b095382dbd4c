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
    "create_group",
    "create_user",
    "delegate_admin",
    "delete_object",
    "describe_object",
    "list_groups_for_member",
    "list_members",
    "list_objects",
    "set_member",
    "update_object",
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


# -- ds-data: users and groups with typed attributes (ops in _samdb_data.py) -------------
# Objects come back as dicts: sAMAccountName, objectSid, distinguishedName, kind
# ("user"/"group"/"computer"), enabled (users), groupScope/groupType (groups), givenName,
# sn, mail, userPrincipalName, and "other": {attribute: {"S"|"N"|"BOOL"|"SS": value}}.


def describe_object(
    dc: DcSpec, kind: str, sam_account_name: str, attributes: list[str] | None = None
) -> User:
    """One user or group (``kind``) with the requested extra attributes; NoSuchObjectError."""
    return cast(
        User,
        tool.call(
            dc,
            "data_describe",
            kind=kind,
            sam_account_name=sam_account_name,
            attributes=list(attributes or []),
        ),
    )


def list_objects(
    dc: DcSpec,
    kind: str,
    search_string: str | None = None,
    search_attributes: list[str] | None = None,
) -> list[User]:
    """Every user or group, or those whose ``search_attributes`` contain ``search_string``."""
    return cast(
        list[User],
        tool.call(
            dc,
            "data_list",
            kind=kind,
            search_string=search_string,
            search_attributes=list(search_attributes or []),
        ),
    )


def create_group(
    dc: DcSpec,
    sam_account_name: str,
    *,
    scope: str | None = None,
    group_type: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    ou_dn: str | None = None,
) -> User:
    """A group in ``ou_dn`` (default OU=Users,OU=<NETBIOS>); AlreadyExistsError."""
    result = tool.call(
        dc,
        "data_create_group",
        sam_account_name=sam_account_name,
        scope=scope,
        type=group_type,
        attributes=dict(attributes or {}),
        ou_dn=ou_dn or dc.domain.users_ou_dn,
    )
    log.info("%s: created group %s", dc.domain.realm, sam_account_name)
    return cast(User, result)


def update_object(
    dc: DcSpec,
    kind: str,
    sam_account_name: str,
    update_type: str,
    attributes: Mapping[str, Any],
    group_scope: str | None = None,
    group_type: str | None = None,
) -> None:
    """ADD / REPLACE / REMOVE typed attributes (and, for groups, scope and type)."""
    extra: dict[str, Any] = {}
    if group_scope:
        extra["group_scope"] = group_scope
    if group_type:
        extra["group_type"] = group_type
    tool.call(
        dc,
        "data_update",
        kind=kind,
        sam_account_name=sam_account_name,
        update_type=update_type,
        attributes=dict(attributes),
        **extra,
    )


def delete_object(dc: DcSpec, kind: str, sam_account_name: str) -> None:
    tool.call(dc, "data_delete", kind=kind, sam_account_name=sam_account_name)
    log.info("%s: deleted %s %s", dc.domain.realm, kind, sam_account_name)


def set_member(dc: DcSpec, group: str, member: str, add: bool) -> bool:
    """Add or remove ``member`` (user, group or computer); False if nothing changed."""
    return bool(tool.call(dc, "data_set_member", group=group, member=member, add=add))


def list_members(dc: DcSpec, group: str) -> list[User]:
    return cast(list[User], tool.call(dc, "data_list_members", group=group))


def list_groups_for_member(dc: DcSpec, member: str) -> list[User]:
    return cast(list[User], tool.call(dc, "data_list_groups_for", member=member))


def delegate_admin(dc: DcSpec) -> None:
    """Give Admin AWS's delegated rights (not Domain Admins); idempotent.

    Provisioning does it already (finish_provision); this repairs older domains.
    """
    tool.call(dc, "delegate_admin", netbios=dc.domain.netbios)
