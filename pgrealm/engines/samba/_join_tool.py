#!/usr/bin/python3
"""Standalone helper for adding a DC to a domain: run by Debian's /usr/bin/python3.

Same contract as ``_samdb_tool.py`` (one JSON request on stdin, one JSON answer on
stdout, the DC's sam.ldb opened locally as the system session), for the operations only
a join needs:

    ensure_join_account  a short-lived Domain Admin the join authenticates as
    delete_account       ...removed again right after the join
    dc_info              this DC's ntdsDSA GUID and DNS host name
    add_dc_dns           copy one DC's A/SRV/NS records (and GUID CNAME) for another DC

``add_dc_dns`` mirrors whatever provisioning registered for the first DC instead of
hard-coding the list of AD's SRV names: every A record holding the first DC's address and
every SRV/NS naming it gets a twin for the new DC (the PDC SRV stays with the PDC).
It imports nothing from pgrealm.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import ldb  # type: ignore[import-not-found]
from samba.auth import system_session  # type: ignore[import-not-found]
from samba.dcerpc import dnsp  # type: ignore[import-not-found]
from samba.ndr import ndr_pack, ndr_unpack  # type: ignore[import-not-found]
from samba.param import LoadParm  # type: ignore[import-not-found]
from samba.samdb import SamDB  # type: ignore[import-not-found]

UF_NORMAL_ACCOUNT = 0x0200
UF_DONT_EXPIRE_PASSWD = 0x10000


class Refused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def open_samdb(req: dict[str, Any]) -> Any:
    lp = LoadParm()
    lp.load(req["smbconf"])
    return SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)


def find_dn(samdb: Any, sam: str) -> Any:
    res = samdb.search(
        base=samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        expression="(sAMAccountName=%s)" % ldb.binary_encode(sam),
        attrs=[],
    )
    return res[0].dn if len(res) else None


def op_ensure_join_account(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    sam, password = req["sam_account_name"], req["password"]
    dn = find_dn(samdb, sam)
    if dn is None:
        samdb.newuser(sam, password, userou="CN=Users", setpassword=True)
    else:
        samdb.setpassword(
            "(sAMAccountName=%s)" % ldb.binary_encode(sam),
            password,
            force_change_at_next_login=False,
        )
    dn = find_dn(samdb, sam)
    m = ldb.Message(dn)
    m["userAccountControl"] = ldb.MessageElement(
        str(UF_NORMAL_ACCOUNT | UF_DONT_EXPIRE_PASSWD), ldb.FLAG_MOD_REPLACE, "userAccountControl"
    )
    samdb.modify(m)
    try:
        samdb.add_remove_group_members("Domain Admins", [sam], add_members_operation=True)
    except ldb.LdbError as e:
        if e.args[0] not in (ldb.ERR_ENTRY_ALREADY_EXISTS, ldb.ERR_ATTRIBUTE_OR_VALUE_EXISTS):
            raise
    return {"dn": str(dn)}


def op_delete_account(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    dn = find_dn(samdb, req["sam_account_name"])
    if dn is not None:
        samdb.delete(dn)
    return {"deleted": dn is not None}


def op_dc_info(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    return {"ntds_guid": str(samdb.get_ntds_GUID()), "dns_host_name": samdb.host_dns_name()}


def _dns_nodes(samdb: Any) -> list[Any]:
    base = str(samdb.domain_dn())
    out = []
    for part in ("DC=DomainDnsZones,", "DC=ForestDnsZones,"):
        out.extend(
            samdb.search(
                base=part + base,
                scope=ldb.SCOPE_SUBTREE,
                expression="(&(objectClass=dnsNode)(!(dNSTombstoned=TRUE)))",
                attrs=["dnsRecord"],
            )
        )
    return out


def _twin(rec: Any, req: dict[str, Any]) -> Any:
    """The new DC's version of one of the old DC's records, or None if it is not one."""
    peer_fqdn = req["peer_fqdn"].lower()
    copy = ndr_unpack(dnsp.DnssrvRpcRecord, ndr_pack(rec))
    if rec.wType == dnsp.DNS_TYPE_A and rec.data == req["peer_address"]:
        copy.data = req["address"]
    elif rec.wType == dnsp.DNS_TYPE_NS and str(rec.data).lower() == peer_fqdn:
        copy.data = req["fqdn"]
    elif rec.wType == dnsp.DNS_TYPE_SRV and str(rec.data.nameTarget).lower() == peer_fqdn:
        copy.data.nameTarget = req["fqdn"]
    else:
        return None
    return copy


def _same(a: Any, b: Any) -> bool:
    return bool(ndr_pack(a) == ndr_pack(b))


def put_node(samdb: Any, sibling: Any, name: str, records: list[Any]) -> None:
    """Set the records of dnsNode ``name`` next to ``sibling`` (dns_replace cannot create)."""
    dn = sibling.parent()
    dn.add_child("DC=%s" % ldb.binary_encode(name))
    if _exists(samdb, dn):
        samdb.dns_replace_by_dn(dn, records)
        return
    samdb.add({"dn": dn, "objectClass": "dnsNode", "dnsRecord": [ndr_pack(r) for r in records]})


def _exists(samdb: Any, dn: Any) -> bool:
    try:
        return len(samdb.search(base=dn, scope=ldb.SCOPE_BASE, attrs=[])) > 0
    except ldb.LdbError as e:
        if e.args[0] == ldb.ERR_NO_SUCH_OBJECT:
            return False
        raise


def op_add_dc_dns(samdb: Any, req: dict[str, Any]) -> dict[str, Any]:
    """Records for the DC ``fqdn``/``address`` modelled on the DC ``peer_fqdn``/``peer_address``.

    Idempotent. The peer's own host record is not copied (the new DC gets its own
    node), nor its GUID CNAME (``ntds_guid`` and ``peer_ntds_guid`` add and replace it).
    """
    domain = samdb.domain_dns_name()
    added = 0
    peer_host = req["peer_fqdn"].split(".")[0].lower()
    for msg in _dns_nodes(samdb):
        name = str(msg.dn.get_rdn_value()).lower()
        if name in (peer_host, "_ldap._tcp.pdc") or name == req.get("peer_ntds_guid"):
            continue
        records = [ndr_unpack(dnsp.DnssrvRpcRecord, v) for v in msg.get("dnsRecord", [])]
        twins = [t for t in (_twin(r, req) for r in records) if t is not None]
        new = [t for t in twins if not any(_same(t, r) for r in records)]
        if new:
            samdb.dns_replace_by_dn(msg.dn, records + new)
            added += len(new)
    peer_dn, host_records = samdb.dns_lookup(req["peer_fqdn"])
    own = [_twin(r, req) for r in host_records if r.wType == dnsp.DNS_TYPE_A]
    put_node(samdb, peer_dn, req["fqdn"].split(".")[0], [r for r in own if r is not None])
    if req.get("ntds_guid"):
        peer_cname = "%s._msdcs.%s" % (req["peer_ntds_guid"], domain)
        cname_dn, cnames = samdb.dns_lookup(peer_cname)
        mine = ndr_unpack(dnsp.DnssrvRpcRecord, ndr_pack(cnames[0]))
        mine.data = req["fqdn"]
        put_node(samdb, cname_dn, req["ntds_guid"], [mine])
    return {"added": added}


OPS = {
    "ensure_join_account": op_ensure_join_account,
    "delete_account": op_delete_account,
    "dc_info": op_dc_info,
    "add_dc_dns": op_add_dc_dns,
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
        return {"ok": False, "error": "internal", "message": str(e.args[-1])}


def main() -> int:
    json.dump(answer(json.load(sys.stdin)), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
