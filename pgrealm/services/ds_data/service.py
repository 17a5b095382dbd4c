"""Directory Service Data (ds-data): users, groups and memberships, read and written in the real AD.

Every call needs the directory's data access enabled first (AccessDeniedException with
reason DATA_DISABLED otherwise), as the service does. Reads cover the whole domain;
writes only reach objects inside OU=<NETBIOS> (the customer's OU): anything else
(built-in accounts, the AWS OUs) is refused with AccessDeniedException DIRECTORY_AUTH,
because the service acts with Admin's delegated rights, not as a domain admin.

Attribute values travel in ds-data's ``AttributeValue`` shape ({"S"}, {"N"}, {"BOOL"},
{"SS"}); names are case-insensitive. Pagination is an opaque offset token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pgrealm.gateways.directory import DirectoryGateway, Exists, NotFound, Refused
from pgrealm.services.base import Service
from pgrealm.services.context import RequestContext
from pgrealm.services.ds.service import DsService
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc, Store

__all__ = ["DsDataService"]

log = logging.getLogger(__name__)

# Request members that are LDAP attributes of a user (ds-data name -> LDAP name).
_USER_FIELDS = {"GivenName": "givenName", "Surname": "sn", "EmailAddress": "mail"}


class DsDataService(Service):
    service_name = "ds-data"

    def __init__(self, store: Store, registry: dict[str, Service], data: DirectoryGateway):
        super().__init__(store, registry)
        self.data = data

    # -- plumbing -------------------------------------------------------------------------
    def _directory(self, ctx: RequestContext, params: dict[str, Any]) -> Doc:
        ds = self.sibling("ds", DsService)
        try:
            doc: Doc = ds.get_directory(ctx, params["DirectoryId"])
        except ServiceError as exc:
            raise ServiceError("ResourceNotFoundException", exc.message) from exc
        if doc["data_access"] != "Enabled":
            raise ServiceError(
                "AccessDeniedException",
                "You don't have permission to perform the request or access the directory. "
                "Directory data access is disabled: enable it with EnableDirectoryDataAccess.",
                Reason="DATA_DISABLED",
            )
        if doc["aws"]["Stage"] not in ("Active", "Impaired"):
            raise ServiceError(
                "DirectoryUnavailableException",
                f"The directory {params['DirectoryId']} is not available.",
                Reason="INVALID_DIRECTORY_STATE",
            )
        for key in ("Realm", "MemberRealm"):
            realm = params.get(key)
            if realm and realm.rstrip(".").lower() != doc["aws"]["Name"].lower():
                raise ServiceError(
                    "ValidationException",
                    f"The realm {realm} is not this directory's and has no trust with it.",
                    Reason="INVALID_REALM",
                )
        return doc

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except NotFound as exc:
            raise ServiceError("ResourceNotFoundException", f"{what} does not exist.") from exc
        except Exists as exc:
            raise ServiceError("ConflictException", f"{what}: {exc}") from exc
        except Refused as exc:
            raise ServiceError(
                "ValidationException", f"{what}: {exc}", Reason="INVALID_ATTRIBUTE_VALUE"
            ) from exc

    def _writable(self, doc: Doc, kind: str, name: str) -> Doc:
        """The object, if it lives in the customer OU; refused otherwise."""
        obj: Doc = self._call(f"The {kind} {name}", lambda: self.data.describe(doc, kind, name))
        if not obj["distinguishedName"].lower().endswith("," + self.data.home_ou(doc).lower()):
            raise ServiceError(
                "AccessDeniedException",
                f"The {kind} {name} is outside the organizational unit "
                f"{self.data.home_ou(doc)} and cannot be changed.",
                Reason="DIRECTORY_AUTH",
            )
        return obj

    # -- users ----------------------------------------------------------------------------
    def create_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        other = {k: _plain(v) for k, v in _attributes(params.get("OtherAttributes")).items()}
        user = self._call(
            f"The user {name}",
            lambda: self.data.create_user(
                doc,
                name,
                given_name=params.get("GivenName"),
                surname=params.get("Surname"),
                email=params.get("EmailAddress"),
                attributes=other,
            ),
        )
        return {
            "DirectoryId": params["DirectoryId"],
            "SAMAccountName": name,
            "SID": user["objectSid"],
        }

    def describe_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        wanted = params.get("OtherAttributes") or []
        user = self._call(f"The user {name}", lambda: self.data.describe(doc, "user", name, wanted))
        out = {"DirectoryId": params["DirectoryId"], "Realm": doc["aws"]["Name"]}
        out.update(_user(user, detailed=True))
        if user["other"]:
            out["OtherAttributes"] = user["other"]
        return out

    def update_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        self._writable(doc, "user", name)
        changes = _attributes(params.get("OtherAttributes"))
        for field, attr in _USER_FIELDS.items():
            if field in params:
                changes[attr] = {"S": params[field]}
        update = params.get("UpdateType") or "REPLACE"
        self._call(f"The user {name}", lambda: self.data.update(doc, "user", name, update, changes))
        return {}

    def delete_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._change(
            ctx, params, "user", lambda doc, name: self.data.delete(doc, "user", name)
        )

    def disable_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._change(
            ctx, params, "user", lambda doc, name: self.data.set_enabled(doc, name, False)
        )

    def _change(
        self,
        ctx: RequestContext,
        params: dict[str, Any],
        kind: str,
        action: Callable[[Doc, str], object],
    ) -> dict[str, Any]:
        """A write to one object of the customer's OU (refused elsewhere); answers {}."""
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        self._writable(doc, kind, name)
        self._call(f"The {kind} {name}", lambda: action(doc, name))
        return {}

    def list_users(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        users = self.data.find_all(doc, "user")
        return self._page(doc, params, "ListUsers", [_user(u, detailed=False) for u in users])

    def search_users(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        attrs = _search_attributes(params)
        users = self._call(
            "The search", lambda: self.data.find_all(doc, "user", params["SearchString"], attrs)
        )
        return self._page(doc, params, "SearchUsers", [_user(u, detailed=True) for u in users])

    # -- groups ---------------------------------------------------------------------------
    def create_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        group = self._call(
            f"The group {name}",
            lambda: self.data.create_group(
                doc,
                name,
                params.get("GroupScope"),
                params.get("GroupType"),
                _attributes(params.get("OtherAttributes")),
            ),
        )
        return {
            "DirectoryId": params["DirectoryId"],
            "SAMAccountName": name,
            "SID": group["objectSid"],
        }

    def describe_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        wanted = params.get("OtherAttributes") or []
        group = self._call(
            f"The group {name}", lambda: self.data.describe(doc, "group", name, wanted)
        )
        out = {"DirectoryId": params["DirectoryId"], "Realm": doc["aws"]["Name"]}
        out.update(_group(group))
        out["DistinguishedName"] = group["distinguishedName"]
        if group["other"]:
            out["OtherAttributes"] = group["other"]
        return out

    def update_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        self._writable(doc, "group", name)
        changes = _attributes(params.get("OtherAttributes"))
        update = params.get("UpdateType") or "REPLACE"
        self._call(
            f"The group {name}",
            lambda: self.data.update(
                doc,
                "group",
                name,
                update,
                changes,
                params.get("GroupScope"),
                params.get("GroupType"),
            ),
        )
        return {}

    def delete_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._change(
            ctx, params, "group", lambda doc, name: self.data.delete(doc, "group", name)
        )

    def list_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        groups = self.data.find_all(doc, "group")
        return self._page(doc, params, "ListGroups", [_group(g) for g in groups])

    def search_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        attrs = _search_attributes(params)
        groups = self._call(
            "The search", lambda: self.data.find_all(doc, "group", params["SearchString"], attrs)
        )
        return self._page(doc, params, "SearchGroups", [_group(g) for g in groups])

    # -- memberships ----------------------------------------------------------------------
    def add_group_member(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._membership(ctx, params, add=True)

    def remove_group_member(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._membership(ctx, params, add=False)

    def _membership(self, ctx: RequestContext, params: dict[str, Any], add: bool) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        group, member = params["GroupName"], params["MemberName"]
        self._writable(doc, "group", group)
        what = f"The member {member} of group {group}"
        changed = self._call(what, lambda: self.data.set_member(doc, group, member, add))
        if not changed and add:
            raise ServiceError("ConflictException", f"{member} is already a member of {group}.")
        if not changed:
            raise ServiceError("ResourceNotFoundException", f"{member} is not a member of {group}.")
        return {}

    def list_group_members(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        members = self._call(f"The group {name}", lambda: self.data.members(doc, name))
        page = self._page(doc, params, "ListGroupMembers", [_member(m) for m in members])
        page["MemberRealm"] = doc["aws"]["Name"]
        return page

    def list_groups_for_member(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        name = params["SAMAccountName"]
        groups = self._call(f"The member {name}", lambda: self.data.groups_for(doc, name))
        page = self._page(doc, params, "ListGroupsForMember", [_group(g) for g in groups])
        page["MemberRealm"] = doc["aws"]["Name"]
        return page

    def _page(
        self, doc: Doc, params: dict[str, Any], operation: str, items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        out = page("ds-data", operation, items, params)
        return {"DirectoryId": params["DirectoryId"], "Realm": doc["aws"]["Name"], **out}


def _user(user: Doc, detailed: bool) -> dict[str, Any]:
    out = {
        "SID": user.get("objectSid"),
        "SAMAccountName": user.get("sAMAccountName"),
        "GivenName": user.get("givenName"),
        "Surname": user.get("sn"),
        "Enabled": bool(user.get("enabled", True)),
    }
    if detailed:
        out.update(
            {
                "DistinguishedName": user.get("distinguishedName"),
                "UserPrincipalName": user.get("userPrincipalName"),
                "EmailAddress": user.get("mail"),
            }
        )
    return {k: v for k, v in out.items() if v is not None}


def _group(group: Doc) -> dict[str, Any]:
    return {
        "SID": group["objectSid"],
        "SAMAccountName": group["sAMAccountName"],
        "GroupScope": group.get("groupScope", "Global"),
        "GroupType": group.get("groupType", "Security"),
    }


def _member(member: Doc) -> dict[str, Any]:
    return {
        "SID": member["objectSid"],
        "SAMAccountName": member["sAMAccountName"],
        "MemberType": member["kind"].upper(),
    }


def _attributes(raw: dict[str, Any] | None) -> dict[str, Any]:
    """OtherAttributes as given, refusing a name given twice in different case."""
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for name, value in (raw or {}).items():
        if name.lower() in seen:
            raise ServiceError(
                "ValidationException", f"Duplicate attribute {name}.", Reason="DUPLICATE_ATTRIBUTE"
            )
        seen.add(name.lower())
        out[name] = value
    return out


def _plain(value: dict[str, Any]) -> list[str] | str:
    if "SS" in value:
        return [str(v) for v in value["SS"]]
    if "BOOL" in value:
        return "TRUE" if value["BOOL"] else "FALSE"
    if "N" in value:
        return str(value["N"])
    return str(value.get("S", ""))


# LDAP display names that may be searched, and the ds-data names that stand for them.
_SEARCHABLE = {"samaccountname", "givenname", "sn", "mail", "displayname", "description"}
_SEARCH_ALIASES = {"surname": "sn", "emailaddress": "mail"}


def _search_attributes(params: dict[str, Any]) -> list[str]:
    attrs = [_SEARCH_ALIASES.get(a.lower(), a) for a in params["SearchAttributes"]]
    bad = [a for a in attrs if a.lower() not in _SEARCHABLE]
    if bad:
        raise ServiceError(
            "ValidationException",
            f"The attribute {bad[0]} cannot be used to search.",
            Reason="INVALID_ATTRIBUTE_FOR_SEARCH",
        )
    return attrs
