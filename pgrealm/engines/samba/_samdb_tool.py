#!/usr/bin/python3
"""Standalone helper that edits one DC's sam.ldb directly: run by Debian's /usr/bin/python3.

Only the system interpreter has Samba's python bindings, so the engine (in the project
venv) runs this file as a subprocess. It reads ONE JSON request on stdin and writes ONE
JSON answer on stdout, so passwords and keys never touch argv or disk:

    request  {"op": "...", "smbconf": "/path/smb.conf", ...op arguments...}
    answer   {"ok": true, "result": ...}
             {"ok": false, "error": KIND, "message": "..."}
    KIND is one of password_policy, no_such_object, already_exists, invalid, internal.

It opens sam.ldb locally as the system session (what samba-tool does without -H), which
is safe while the DC runs: ldb/tdb locking serialises writers, and the KDC and LDAP
server see committed changes immediately. It imports nothing from pgrealm.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import select
import string
import sys
from typing import Any

import ldb  # type: ignore[import-not-found]
from samba import ntacls  # type: ignore[import-not-found]
from samba.auth import system_session  # type: ignore[import-not-found]
from samba.dcerpc import drsblobs, misc, security  # type: ignore[import-not-found]
from samba.ndr import ndr_unpack  # type: ignore[import-not-found]
from samba.param import LoadParm  # type: ignore[import-not-found]
from samba.samdb import SamDB  # type: ignore[import-not-found]

UF_ACCOUNTDISABLE = 0x0002
UF_NORMAL_ACCOUNT = 0x0200
UF_WORKSTATION_TRUST_ACCOUNT = 0x1000
UF_DONT_EXPIRE_PASSWD = 0x10000
AES_ONLY = 0x18  # msDS-SupportedEncryptionTypes: AES128 | AES256
AES_ENCTYPES = (17, 18)  # aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96

USER_ATTRS = [
    "sAMAccountName",
    "userPrincipalName",
    "distinguishedName",
    "objectSid",
    "objectGUID",
    "givenName",
    "sn",
    "mail",
    "displayName",
    "userAccountControl",
    "whenCreated",
    "memberOf",
    "description",
]
# Attributes a caller may set through "extra": plain string attributes of a user, not
# anything that changes identity, security or group membership.
EXTRA_ALLOWED = {
    "displayName",
    "description",
    "telephoneNumber",
    "title",
    "department",
    "company",
    "streetAddress",
    "l",
    "st",
    "postalCode",
    "c",
    "co",
    "mobile",
    "homePhone",
    "physicalDeliveryOfficeName",
    "wWWHomePage",
    "initials",
    "employeeID",
    "employeeNumber",
}


class Refused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def random_password(length: int = 64) -> str:
    """A password nobody will ever see; contains all four character classes AD counts."""
    alphabet = string.ascii_letters + string.digits + "!#%+,-./:=@^_~"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
            and any(not c.isalnum() for c in pw)
        ):
            return pw


_OPEN: dict[str, tuple[Any, tuple[int, int]]] = {}  # smbconf -> (SamDB, file id); --serve only
_SERVING = False


def _file_id(smbconf: str) -> tuple[int, int]:
    st = os.stat(os.path.join(os.path.dirname(smbconf), "private", "sam.ldb"))
    return (st.st_dev, st.st_ino)


def open_samdb(req: dict[str, Any]) -> Any:
    # Opening sam.ldb (schema load) costs ~100 ms; a serving helper opens it once. Reads
    # stay current: ldb re-reads what another process (the DC) changed, under tdb locks.
    # A home wiped and provisioned again has a new sam.ldb: never keep using the old one.
    smbconf = req["smbconf"]
    cached = _OPEN.get(smbconf)
    if cached is not None and cached[1] == _file_id(smbconf):
        return cached[0]
    lp = LoadParm()
    lp.load(smbconf)
    samdb = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    if _SERVING:
        _OPEN[smbconf] = (samdb, _file_id(smbconf))
    return samdb


def find_one(samdb: Any, sam: str, attrs: list[str] | None = None) -> Any:
    res = samdb.search(
        base=samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        expression="(sAMAccountName=%s)" % ldb.binary_encode(sam),
        attrs=attrs if attrs is not None else USER_ATTRS,
    )
    if len(res) == 0:
        raise Refused("no_such_object", f"no account named {sam}")
    return res[0]


def set_unicode_pwd(samdb: Any, dn: Any, password: str) -> None:
    # Writing unicodePwd as system still runs the password_hash module, so the domain's
    # password policy applies and refusals come back as LDB_ERR_CONSTRAINT_VIOLATION.
    # samdb.setpassword() is not used: it also clears ACCOUNTDISABLE as a side effect.
    m = ldb.Message(dn)
    m["unicodePwd"] = ldb.MessageElement(
        ('"%s"' % password).encode("utf-16-le"), ldb.FLAG_MOD_REPLACE, "unicodePwd"
    )
    try:
        samdb.modify(m)
    except ldb.LdbError as e:
        code, msg = e.args
        if code in (ldb.ERR_CONSTRAINT_VIOLATION, ldb.ERR_UNWILLING_TO_PERFORM):
            raise Refused("password_policy", policy_message(msg)) from None
        raise


def policy_message(msg: str) -> str:
    # Samba's text looks like "0000052D: Constraint violation - check_password_restrictions:
    # the password is too short. It should be equal or longer than 7 characters!"; keep the
    # human part only. It never contains the password.
    tail = msg.rsplit("check_password_restrictions:", 1)[-1]
    return tail.strip() or "password does not meet the domain password policy"


def user_dict(msg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in USER_ATTRS:
        if attr not in msg:
            continue
        el = msg[attr]
        if attr == "objectSid":
            out[attr] = str(ndr_unpack(security.dom_sid, el[0]))
        elif attr == "objectGUID":
            out[attr] = str(ndr_unpack(misc.GUID, el[0]))
        elif attr == "memberOf":
            out[attr] = [str(v) for v in el]
        elif attr == "userAccountControl":
            out[attr] = int(str(el[0]))
        else:
            out[attr] = str(el[0])
    out["distinguishedName"] = str(msg.dn)
    if "userAccountControl" in out:
        out["enabled"] = not out["userAccountControl"] & UF_ACCOUNTDISABLE
    return out


def ensure_ou(samdb: Any, dn: str) -> None:
    try:
        samdb.create_ou(dn)
    except ldb.LdbError as e:
        if e.args[0] != ldb.ERR_ENTRY_ALREADY_EXISTS:
            raise


# ---- operations ------------------------------------------------------------------------


def op_finish_provision(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    """AWS Managed AD layout: OU=<NETBIOS>{Users,Computers}, Admin, locked-away Administrator.
    Simple AD keeps AD's own layout; its administrator is Administrator."""
    if req.get("simple"):
        administrator = find_one(samdb, "Administrator", [])
        set_unicode_pwd(samdb, administrator.dn, req["admin_password"])
        set_uac_bits(samdb, administrator.dn, clear=UF_ACCOUNTDISABLE, set_=UF_DONT_EXPIRE_PASSWD)
        return {"admin_dn": str(administrator.dn)}
    base = samdb.domain_dn()
    home_ou = "OU=%s,%s" % (req["netbios"], base)
    for dn in (
        home_ou,
        "OU=Users," + home_ou,
        "OU=Computers," + home_ou,
        "OU=AWS Delegated Groups,%s" % base,
    ):
        ensure_ou(samdb, dn)
    try:
        find_one(samdb, "Admin", [])
    except Refused:
        add_user(
            samdb, {"sam_account_name": "Admin", "ou_dn": "OU=Users," + home_ou, "enabled": False}
        )
    admin = find_one(samdb, "Admin", [])
    set_unicode_pwd(samdb, admin.dn, req["admin_password"])
    set_uac_bits(samdb, admin.dn, clear=UF_ACCOUNTDISABLE, set_=UF_DONT_EXPIRE_PASSWD)
    delegate_admin(samdb, req["netbios"])
    # The built-in Administrator keeps existing (AD needs RID 500) with a password nobody
    # has ever seen: provisioning's random one was printed by samba-tool, so replace it.
    administrator = find_one(samdb, "Administrator", [])
    set_unicode_pwd(samdb, administrator.dn, random_password())
    return {"admin_dn": str(admin.dn)}


# What samba-tool domain backup writes into @SAMBA_DSDB so that samba refuses to start on
# a backup ("Database is a backup. Please run samba-tool domain backup restore").
BACKUP_MARKERS = ("backupDate", "backupType", "backupRename", "sidForRestore")


def op_clear_backup_markers(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    """A DC's own backup put back in place (engines/samba/backup.py) may start again."""
    found = samdb.search(base="@SAMBA_DSDB", scope=ldb.SCOPE_BASE, attrs=list(BACKUP_MARKERS))
    m = ldb.Message(ldb.Dn(samdb, "@SAMBA_DSDB"))
    for marker in BACKUP_MARKERS:
        if found and marker in found[0]:
            m[marker] = ldb.MessageElement([], ldb.FLAG_MOD_DELETE, marker)
    if len(m):
        samdb.modify(m)
    return {"cleared": [name for name in BACKUP_MARKERS if found and name in found[0]]}


def op_restore_sysvol(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    """A backup's sysvol.tar.gz back into the DC's (empty) sysvol, each file and folder
    with the NT ACL recorded beside it, as ``samba-tool domain backup restore`` does."""
    ntacls.backup_restore(req["tarball"], req["sysvol"], samdb, req["smbconf"])
    return {}


# The delegated groups AWS Managed AD creates (a subset: those whose rights we model),
# each nested into the built-in group whose rights it carries. Admin is a member of
# "AWS Delegated Administrators", which is a member of the others, never of Domain Admins.
DELEGATED_GROUPS = {
    "AWS Delegated Administrators": None,
    "AWS Delegated Domain Name System Administrators": "DnsAdmins",
    "AWS Delegated Fine Grained Password Policy Administrators": None,
    "AWS Delegated Deleted Object Lifetime Administrators": None,
}
# Every right on an object ("full control"), as SDDL rights letters.
FULL_CONTROL = "CCDCLCSWRPWPDTLOCRSDRCWDWO"
REANIMATE_TOMBSTONES = "45ec5156-db7e-47bb-b53f-dbeb2d03c40f"  # extended right (MS-ADTS)


def op_delegate_admin(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    delegate_admin(samdb, req["netbios"])
    return {}


def delegate_admin(samdb: Any, netbios: str) -> None:
    """Admin's rights as AWS Managed AD grants them; idempotent, also fixes older domains.

    Full control (inherited) on OU=<NETBIOS>, DNS through DnsAdmins, restoring deleted
    objects (Reanimate-Tombstones on the domain, read on CN=Deleted Objects), nothing
    else: the domain root and the built-in containers stay the service's.
    """
    from samba.sd_utils import SDUtils  # type: ignore[import-not-found]

    base = str(samdb.domain_dn())
    groups_ou = "OU=AWS Delegated Groups,%s" % base
    ensure_ou(samdb, groups_ou)
    for name, parent in DELEGATED_GROUPS.items():
        if not samdb.search(
            base=base,
            scope=ldb.SCOPE_SUBTREE,
            expression="(sAMAccountName=%s)" % ldb.binary_encode(name),
            attrs=[],
        ):
            samdb.newgroup(name, groupou="OU=AWS Delegated Groups")
        if name != "AWS Delegated Administrators":
            ensure_member(samdb, name, "AWS Delegated Administrators")
        if parent is not None:
            ensure_member(samdb, parent, name)
    ensure_member(samdb, "AWS Delegated Administrators", "Admin")
    for group in ("Domain Admins", "Enterprise Admins", "Schema Admins", "Administrators"):
        set_member(samdb, find_one(samdb, group, []).dn, find_one(samdb, "Admin", []).dn, False)
    sid = str(find_sid(samdb, "AWS Delegated Administrators"))
    sd = SDUtils(samdb)
    sd.dacl_add_ace("OU=%s,%s" % (netbios, base), "(A;CI;%s;;;%s)" % (FULL_CONTROL, sid))
    sd.dacl_add_ace(base, "(OA;;CR;%s;;%s)" % (REANIMATE_TOMBSTONES, sid))
    sd.dacl_add_ace("CN=Deleted Objects,%s" % base, "(A;;RPLC;;;%s)" % sid)


def find_sid(samdb: Any, sam: str) -> Any:
    return ndr_unpack(security.dom_sid, find_one(samdb, sam, ["objectSid"])["objectSid"][0])


def ensure_member(samdb: Any, group: str, member: str) -> None:
    set_member(samdb, find_one(samdb, group, []).dn, find_one(samdb, member, []).dn, True)


def set_member(samdb: Any, group_dn: Any, member_dn: Any, add: bool) -> bool:
    """Add or remove one member; False if it already was (or was not) one."""
    m = ldb.Message(group_dn)
    flag = ldb.FLAG_MOD_ADD if add else ldb.FLAG_MOD_DELETE
    m["member"] = ldb.MessageElement(str(member_dn), flag, "member")
    try:
        samdb.modify(m)
    except ldb.LdbError as e:
        # samba answers a duplicate add with ENTRY_ALREADY_EXISTS (linked attributes) or
        # ATTRIBUTE_OR_VALUE_EXISTS, removing a non-member with NO_SUCH_ATTRIBUTE or
        # UNWILLING_TO_PERFORM.
        if e.args[0] in (
            ldb.ERR_ENTRY_ALREADY_EXISTS,
            ldb.ERR_ATTRIBUTE_OR_VALUE_EXISTS,
            ldb.ERR_NO_SUCH_ATTRIBUTE,
            ldb.ERR_UNWILLING_TO_PERFORM,
        ):
            return False
        raise
    return True


def add_user(samdb: Any, req: dict[str, Any]) -> Any:
    sam = req["sam_account_name"]
    ou_dn = req.get("ou_dn") or "CN=Users,%s" % samdb.domain_dn()
    dn = ldb.Dn(samdb, "CN=%s,%s" % (ldb.binary_encode(sam).replace(",", "\\,"), ou_dn))
    realm = samdb.domain_dns_name()
    uac = UF_NORMAL_ACCOUNT | (0 if req.get("enabled", True) else UF_ACCOUNTDISABLE)
    m: dict[str, Any] = {
        "dn": dn,
        "objectClass": "user",
        "sAMAccountName": sam,
        "userPrincipalName": "%s@%s" % (sam, realm.upper()),
        "userAccountControl": str(uac),
    }
    for key, attr in (("given_name", "givenName"), ("surname", "sn"), ("email", "mail")):
        if req.get(key):
            m[attr] = req[key]
    names = [n for n in (req.get("given_name"), req.get("surname")) if n]
    if names:
        m["displayName"] = " ".join(names)
    for attr, value in (req.get("extra") or {}).items():
        if attr not in EXTRA_ALLOWED:
            raise Refused("invalid", f"attribute {attr} cannot be set")
        m[attr] = [str(v) for v in value] if isinstance(value, list) else str(value)
    if samdb.search(
        base=samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        attrs=[],
        expression="(sAMAccountName=%s)" % ldb.binary_encode(sam),
    ):
        raise Refused("already_exists", f"an account named {sam} already exists")
    samdb.add(m)
    return dn


def set_uac_bits(samdb: Any, dn: Any, clear: int = 0, set_: int = 0) -> None:
    res = samdb.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["userAccountControl"])
    old = int(str(res[0]["userAccountControl"][0]))
    new = (old & ~clear) | set_
    if new != old:
        m = ldb.Message(dn)
        m["userAccountControl"] = ldb.MessageElement(
            str(new), ldb.FLAG_MOD_REPLACE, "userAccountControl"
        )
        samdb.modify(m)


def op_create_user(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    # An account created enabled without a password is refused by AD ("password does not
    # meet requirements"), so create disabled, set the password, then enable.
    want_enabled = req.get("enabled", True)
    samdb.transaction_start()
    try:
        dn = add_user(samdb, {**req, "enabled": False})
        if req.get("password") is not None:
            set_unicode_pwd(samdb, dn, req["password"])
        if want_enabled:
            set_uac_bits(samdb, dn, clear=UF_ACCOUNTDISABLE)
    except BaseException:
        samdb.transaction_cancel()
        raise
    samdb.transaction_commit()
    return user_dict(find_one(samdb, req["sam_account_name"]))


def op_set_password(samdb: Any, req: dict[str, Any]) -> None:
    set_unicode_pwd(samdb, find_one(samdb, req["sam_account_name"], []).dn, req["password"])


def op_get_user(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    return user_dict(find_one(samdb, req["sam_account_name"]))


def op_list_users(samdb: Any, req: dict[str, Any]) -> list[dict[str, Any]]:
    # objectCategory=person leaves out computer accounts (our service accounts).
    res = samdb.search(
        base=req.get("base_dn") or samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        expression="(&(objectCategory=person)(objectClass=user))",
        attrs=USER_ATTRS,
    )
    return sorted((user_dict(m) for m in res), key=lambda u: u["sAMAccountName"].lower())


def op_delete_user(samdb: Any, req: dict[str, Any]) -> None:
    samdb.delete(find_one(samdb, req["sam_account_name"], []).dn)


def op_set_enabled(samdb: Any, req: dict[str, Any]) -> None:
    dn = find_one(samdb, req["sam_account_name"], []).dn
    if req["enabled"]:
        set_uac_bits(samdb, dn, clear=UF_ACCOUNTDISABLE)
    else:
        set_uac_bits(samdb, dn, set_=UF_ACCOUNTDISABLE)


def op_update_user(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    dn = find_one(samdb, req["sam_account_name"], []).dn
    m = ldb.Message(dn)
    for attr, value in req["attributes"].items():
        if attr not in EXTRA_ALLOWED | {"givenName", "sn", "mail"}:
            raise Refused("invalid", f"attribute {attr} cannot be set")
        if value is None:
            m[attr] = ldb.MessageElement([], ldb.FLAG_MOD_DELETE, attr)
        else:
            m[attr] = ldb.MessageElement(str(value), ldb.FLAG_MOD_REPLACE, attr)
    try:
        samdb.modify(m)
    except ldb.LdbError as e:
        if e.args[0] != ldb.ERR_NO_SUCH_ATTRIBUTE:  # deleting an absent attribute
            raise
    return user_dict(find_one(samdb, req["sam_account_name"]))


def op_ensure_service_account(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    """A computer account carrying the SPN, AES only, with a random password nobody sees.

    A computer object (not a user) so it stays out of user listings and is exempt from
    password expiry. An existing account keeps its password (its keytab stays valid).
    """
    sam = req["account"].upper().rstrip("$") + "$"
    spn = req["spn"]
    clash = samdb.search(
        base=samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        attrs=["sAMAccountName"],
        expression="(servicePrincipalName=%s)" % ldb.binary_encode(spn),
    )
    if clash and str(clash[0]["sAMAccountName"][0]).lower() != sam.lower():
        raise Refused("already_exists", f"SPN {spn} belongs to another account")
    try:
        dn = find_one(samdb, sam, []).dn
        created = False
    except Refused:
        dn = ldb.Dn(samdb, "CN=%s,%s" % (sam[:-1], req["ou_dn"]))
        samdb.add(
            {
                "dn": dn,
                "objectClass": "computer",
                "sAMAccountName": sam,
                "userAccountControl": str(UF_WORKSTATION_TRUST_ACCOUNT | UF_ACCOUNTDISABLE),
            }
        )
        created = True
    m = ldb.Message(dn)
    m["msDS-SupportedEncryptionTypes"] = ldb.MessageElement(
        str(AES_ONLY), ldb.FLAG_MOD_REPLACE, "msDS-SupportedEncryptionTypes"
    )
    if not clash:
        m["servicePrincipalName"] = ldb.MessageElement(
            spn, ldb.FLAG_MOD_ADD, "servicePrincipalName"
        )
    samdb.modify(m)
    if created:
        # Keys are derived when the password is set, so the enctype limit is in place first.
        set_unicode_pwd(samdb, dn, random_password(120))
        set_uac_bits(samdb, dn, clear=UF_ACCOUNTDISABLE)
    return {"distinguishedName": str(dn), "sAMAccountName": sam, "created": created}


def op_keytab_keys(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    """Current AES keys and kvno of the account owning ``principal`` (an SPN or a name)."""
    name = req["principal"].split("@", 1)[0]
    expr = "(|(servicePrincipalName=%s)(sAMAccountName=%s))" % (
        ldb.binary_encode(name),
        ldb.binary_encode(name),
    )
    res = samdb.search(
        base=samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        expression=expr,
        attrs=["supplementalCredentials", "msDS-KeyVersionNumber", "sAMAccountName"],
    )
    if len(res) != 1:
        raise Refused("no_such_object", f"no single account owns principal {name}")
    msg = res[0]
    if "supplementalCredentials" not in msg:
        raise Refused("no_such_object", f"account for {name} has no Kerberos keys")
    blob = ndr_unpack(drsblobs.supplementalCredentialsBlob, msg["supplementalCredentials"][0])
    keys = []
    for pkg in blob.sub.packages:
        if pkg.name != "Primary:Kerberos-Newer-Keys":
            continue
        krb = ndr_unpack(drsblobs.package_PrimaryKerberosBlob, binascii.a2b_hex(pkg.data))
        for k in krb.ctr.keys:
            if k.keytype in AES_ENCTYPES:
                keys.append(
                    {"enctype": k.keytype, "key": base64.b64encode(bytes(k.value)).decode()}
                )
    if not keys:
        raise Refused("no_such_object", f"account for {name} has no AES keys")
    return {
        "kvno": int(str(msg["msDS-KeyVersionNumber"][0])),
        "keys": keys,
        "realm": samdb.domain_dns_name().upper(),
    }


def op_domain_info(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    return {
        "domain_dn": str(samdb.domain_dn()),
        "domain_sid": str(samdb.get_domain_sid()),
        "dns_name": samdb.domain_dns_name(),
        "netbios": samdb.domain_netbios_name(),
    }


OPS = {
    "finish_provision": op_finish_provision,
    "clear_backup_markers": op_clear_backup_markers,
    "restore_sysvol": op_restore_sysvol,
    "delegate_admin": op_delegate_admin,
    "create_user": op_create_user,
    "set_password": op_set_password,
    "get_user": op_get_user,
    "list_users": op_list_users,
    "delete_user": op_delete_user,
    "set_enabled": op_set_enabled,
    "update_user": op_update_user,
    "ensure_service_account": op_ensure_service_account,
    "keytab_keys": op_keytab_keys,
    "domain_info": op_domain_info,
}

LDB_KINDS = {
    ldb.ERR_NO_SUCH_OBJECT: "no_such_object",
    ldb.ERR_ENTRY_ALREADY_EXISTS: "already_exists",
    ldb.ERR_ATTRIBUTE_OR_VALUE_EXISTS: "already_exists",
    ldb.ERR_CONSTRAINT_VIOLATION: "invalid",
    ldb.ERR_INVALID_DN_SYNTAX: "invalid",
    ldb.ERR_OBJECT_CLASS_VIOLATION: "invalid",
}


def answer(req: dict[str, Any]) -> dict[str, Any]:
    op = OPS.get(req.get("op", ""))
    if op is None:
        return {"ok": False, "error": "invalid", "message": "unknown op %r" % req.get("op")}
    try:
        return {"ok": True, "result": op(open_samdb(req), req)}
    except Refused as e:
        return {"ok": False, "error": e.kind, "message": str(e)}
    except ldb.LdbError as e:
        code, msg = e.args
        return {"ok": False, "error": LDB_KINDS.get(code, "internal"), "message": msg}


def load_data_ops() -> None:
    # python3 -I leaves the script's directory off sys.path; the sibling module imports
    # this one by name, so it must find this very module (not a second copy) there.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.modules["_samdb_tool"] = sys.modules[__name__]
    import _samdb_data  # type: ignore[import-not-found]

    OPS.update(_samdb_data.OPS)


def serve(idle_seconds: float) -> int:
    """One JSON request per line in, one JSON answer per line out, until stdin closes
    or nothing comes for ``idle_seconds`` (the caller starts a new helper when needed)."""
    global _SERVING
    _SERVING = True
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], idle_seconds)
        if not ready:
            return 0
        line = sys.stdin.readline()
        if not line:
            return 0
        try:
            req = json.loads(line)
        except ValueError:
            resp = {"ok": False, "error": "invalid", "message": "request is not JSON"}
        else:
            resp = answer(req)
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


def main() -> int:
    load_data_ops()
    if sys.argv[1:2] == ["--serve"]:
        return serve(float(sys.argv[2]) if len(sys.argv) > 2 else 30.0)
    req = json.load(sys.stdin)
    json.dump(answer(req), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
