#!/usr/bin/python3
"""Users, groups and memberships for the ds-data API: ops of the ``_samdb_tool.py`` helper.

Loaded by ``_samdb_tool.main()`` (same process, Debian's python3); it reuses that
module's helpers (find_one, Refused, set_member, ...) through ``sys.modules``.

Attribute values cross the JSON boundary in the ds-data shape, one of
``{"S": str}``, ``{"N": int}``, ``{"BOOL": bool}``, ``{"SS": [str, ...]}``, chosen from
the attribute's schema syntax (2.5.5.8 boolean, 2.5.5.9/2.5.5.16 integers) and
whether it is single-valued.
"""

from __future__ import annotations

from typing import Any

import _samdb_tool as base  # type: ignore[import-not-found]
import ldb  # type: ignore[import-not-found]

# groupType bits (MS-ADTS 2.2.12)
SCOPE_BITS = {"BuiltinLocal": 0x1, "Global": 0x2, "DomainLocal": 0x4, "Universal": 0x8}
SECURITY_BIT = 0x80000000
KIND_FILTER = {
    "user": "(&(objectCategory=person)(objectClass=user))",
    "group": "(objectClass=group)",
    "any": "(|(objectClass=user)(objectClass=group)(objectClass=computer))",
}
# Attributes a caller may write on a group (users: base.EXTRA_ALLOWED and name fields).
GROUP_ALLOWED = {"description", "displayName", "info", "mail", "managedBy", "notes"}
USER_FIXED = {"givenname", "sn", "mail"}
BASE_ATTRS = [
    "sAMAccountName",
    "objectSid",
    "objectClass",
    "groupType",
    "userAccountControl",
    "givenName",
    "sn",
    "mail",
    "userPrincipalName",
]


def writable(kind: str) -> dict[str, str]:
    """Lower-case name -> canonical name of the attributes ``kind`` accepts."""
    names = base.EXTRA_ALLOWED | {"givenName", "sn", "mail"} if kind == "user" else GROUP_ALLOWED
    return {n.lower(): n for n in names}


def find(samdb: Any, kind: str, sam: str, attrs: list[str]) -> Any:
    res = samdb.search(
        base=samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        expression="(&%s(sAMAccountName=%s))" % (KIND_FILTER[kind], ldb.binary_encode(sam)),
        attrs=attrs,
    )
    if len(res) == 0:
        raise base.Refused("no_such_object", "no %s named %s" % (kind, sam))
    return res[0]


def _schema(samdb: Any, attr: str) -> tuple[str, bool, str]:
    """(syntax OID, single-valued, canonical lDAPDisplayName) of ``attr``."""
    res = samdb.search(
        base=samdb.get_schema_basedn(),
        scope=ldb.SCOPE_ONELEVEL,
        expression="(lDAPDisplayName=%s)" % ldb.binary_encode(attr),
        attrs=["attributeSyntax", "isSingleValued", "lDAPDisplayName"],
    )
    if len(res) == 0:
        raise base.Refused("invalid", "unknown attribute %s" % attr)
    msg = res[0]
    single = str(msg["isSingleValued"][0]) == "TRUE"
    return str(msg["attributeSyntax"][0]), single, str(msg["lDAPDisplayName"][0])


def typed(samdb: Any, attr: str, values: list[str]) -> dict[str, Any]:
    syntax, single, _ = _schema(samdb, attr)
    if not single:
        return {"SS": values}
    if syntax == "2.5.5.8":
        return {"BOOL": values[0].upper() == "TRUE"}
    if syntax in ("2.5.5.9", "2.5.5.16"):
        return {"N": int(values[0])}
    return {"S": values[0]}


def plain(value: dict[str, Any]) -> list[str]:
    if "SS" in value:
        return [str(v) for v in value["SS"]]
    if "BOOL" in value:
        return ["TRUE" if value["BOOL"] else "FALSE"]
    if "N" in value:
        return [str(value["N"])]
    return [str(value["S"])]


def describe(samdb: Any, msg: Any, other: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"distinguishedName": str(msg.dn), "other": {}}
    for attr in ("sAMAccountName", "givenName", "sn", "mail", "userPrincipalName"):
        if attr in msg:
            out[attr] = str(msg[attr][0])
    out["objectSid"] = str(base.ndr_unpack(base.security.dom_sid, msg["objectSid"][0]))
    classes = {str(c).lower() for c in msg["objectClass"]}
    out["kind"] = "group" if "group" in classes else "computer" if "computer" in classes else "user"
    if "userAccountControl" in msg:
        out["enabled"] = not int(str(msg["userAccountControl"][0])) & base.UF_ACCOUNTDISABLE
    if "groupType" in msg:
        bits = int(str(msg["groupType"][0])) & 0xFFFFFFFF
        out["groupScope"] = next(k for k, v in SCOPE_BITS.items() if bits & v)
        out["groupType"] = "Security" if bits & SECURITY_BIT else "Distribution"
    for attr in other:
        if attr in msg:
            name = _schema(samdb, attr)[2]
            out["other"][name] = typed(samdb, name, [str(v) for v in msg[attr]])
    return out


# ---- operations ------------------------------------------------------------------------


def op_describe(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    other = list(req.get("attributes") or [])
    return describe(
        samdb, find(samdb, req["kind"], req["sam_account_name"], BASE_ATTRS + other), other
    )


def op_list(samdb: Any, req: dict[str, Any]) -> list[dict[str, Any]]:
    """All objects of ``kind``; with ``search_string``, those where any of ``search_attributes``
    contains it (the string is escaped: no wildcards, as the service says)."""
    expr = KIND_FILTER[req["kind"]]
    if req.get("search_string"):
        value = ldb.binary_encode(req["search_string"])
        terms = "".join("(%s=*%s*)" % (a, value) for a in req["search_attributes"])
        expr = "(&%s(|%s))" % (expr, terms)
    res = samdb.search(
        base=samdb.domain_dn(), scope=ldb.SCOPE_SUBTREE, expression=expr, attrs=BASE_ATTRS
    )
    out = [describe(samdb, m, []) for m in res]
    return sorted(out, key=lambda o: o["sAMAccountName"].lower())


def op_create_group(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    sam = req["sam_account_name"]
    if samdb.search(
        base=samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        attrs=[],
        expression="(sAMAccountName=%s)" % ldb.binary_encode(sam),
    ):
        raise base.Refused("already_exists", "an account named %s already exists" % sam)
    bits = SCOPE_BITS[req.get("scope") or "Global"]
    if (req.get("type") or "Security") == "Security":
        bits |= SECURITY_BIT
    # groupType is a signed 32-bit integer in AD.
    signed = bits - (1 << 32) if bits & SECURITY_BIT else bits
    msg: dict[str, Any] = {
        "dn": ldb.Dn(samdb, "CN=%s,%s" % (sam.replace(",", "\\,"), req["ou_dn"])),
        "objectClass": "group",
        "sAMAccountName": sam,
        "groupType": str(signed),
    }
    allowed = writable("group")
    for attr, value in (req.get("attributes") or {}).items():
        if attr.lower() not in allowed:
            raise base.Refused("invalid", "attribute %s cannot be set on a group" % attr)
        msg[allowed[attr.lower()]] = plain(value)
    samdb.add(msg)
    return describe(samdb, find(samdb, "group", sam, BASE_ATTRS), [])


def op_update(samdb: Any, req: dict[str, Any]) -> None:
    """ADD, REPLACE or REMOVE attributes of a user or group (ds-data's UpdateType)."""
    msg = find(samdb, req["kind"], req["sam_account_name"], [])
    m = ldb.Message(msg.dn)
    flag = {
        "ADD": ldb.FLAG_MOD_ADD,
        "REPLACE": ldb.FLAG_MOD_REPLACE,
        "REMOVE": ldb.FLAG_MOD_DELETE,
    }[req.get("update_type") or "REPLACE"]
    allowed = writable(req["kind"])
    for attr, value in (req.get("attributes") or {}).items():
        if attr.lower() not in allowed:
            raise base.Refused("invalid", "attribute %s cannot be modified" % attr)
        name = allowed[attr.lower()]
        values = [] if flag == ldb.FLAG_MOD_DELETE and value is None else plain(value)
        m[name] = ldb.MessageElement(values, flag, name)
    if "group_scope" in req or "group_type" in req:
        current = describe(samdb, find(samdb, "group", req["sam_account_name"], BASE_ATTRS), [])
        bits = SCOPE_BITS[req.get("group_scope") or current["groupScope"]]
        if (req.get("group_type") or current["groupType"]) == "Security":
            bits |= SECURITY_BIT
        signed = bits - (1 << 32) if bits & SECURITY_BIT else bits
        m["groupType"] = ldb.MessageElement(str(signed), ldb.FLAG_MOD_REPLACE, "groupType")
    try:
        samdb.modify(m)
    except ldb.LdbError as e:
        if e.args[0] == ldb.ERR_ATTRIBUTE_OR_VALUE_EXISTS:
            raise base.Refused("already_exists", "the attribute already has a value") from None
        if e.args[0] == ldb.ERR_NO_SUCH_ATTRIBUTE:
            raise base.Refused("invalid", "the attribute has no such value") from None
        raise


def op_delete(samdb: Any, req: dict[str, Any]) -> None:
    samdb.delete(find(samdb, req["kind"], req["sam_account_name"], []).dn)


def op_set_member(samdb: Any, req: dict[str, Any]) -> bool:
    group = find(samdb, "group", req["group"], [])
    member = find(samdb, "any", req["member"], [])
    return bool(base.set_member(samdb, group.dn, member.dn, req["add"]))


def op_list_members(samdb: Any, req: dict[str, Any]) -> list[dict[str, Any]]:
    group = find(samdb, "group", req["group"], ["member"])
    out = []
    for dn in group.get("member", []):
        res = samdb.search(base=str(dn), scope=ldb.SCOPE_BASE, attrs=BASE_ATTRS)
        out.append(describe(samdb, res[0], []))
    return sorted(out, key=lambda o: o["sAMAccountName"].lower())


def op_list_groups_for(samdb: Any, req: dict[str, Any]) -> list[dict[str, Any]]:
    member = find(samdb, "any", req["member"], ["memberOf"])
    out = []
    for dn in member.get("memberOf", []):
        res = samdb.search(base=str(dn), scope=ldb.SCOPE_BASE, attrs=BASE_ATTRS)
        out.append(describe(samdb, res[0], []))
    return sorted(out, key=lambda o: o["sAMAccountName"].lower())


OPS = {
    "data_describe": op_describe,
    "data_list": op_list,
    "data_create_group": op_create_group,
    "data_update": op_update,
    "data_delete": op_delete,
    "data_set_member": op_set_member,
    "data_list_members": op_list_members,
    "data_list_groups_for": op_list_groups_for,
}
