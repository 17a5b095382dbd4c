"""Why one host cannot reach another, read from the records that the routers enforce:
the first missing peering, route, security group rule or network ACL entry, in the order
a packet meets them. The join's network check and the doctor say this to the user.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pgrealm.model.network import active_peerings, network_acl_for_subnet, route_table_for_subnet
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["blocked_because"]

_NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1"}
_EPHEMERAL = 49152  # a typical client port: the reply's destination


def blocked_because(store: Store, src: Doc, dst: Doc, protocol: str, port: int) -> str | None:
    """The first thing that stops ``protocol``/``port`` from host ``src`` to host ``dst``
    (ADDRESS records), or None if the records let it through both ways."""
    for check in (_peering_and_routes, _security_groups, _acls):
        reason = check(store, src, dst, protocol, port)
        if reason:
            return reason
    return None


def _vpc_key(host: Doc) -> tuple[str, str, str]:
    return (host["OwnerId"], host["Region"], host["VpcId"])


def _peering_and_routes(store: Store, src: Doc, dst: Doc, protocol: str, port: int) -> str | None:
    if _vpc_key(src) == _vpc_key(dst):
        return None
    pcx = _peering_between(store, src, dst)
    if pcx is None:
        return f"no active VPC peering between {src['VpcId']} and {dst['VpcId']}"
    for a, b in ((src, dst), (dst, src)):
        if not _routes_to(store, a, b["VpcIp"], pcx):
            table = route_table_for_subnet(store, a["OwnerId"], a["Region"], a["SubnetId"])
            name = table.get("RouteTableId") or "its main route table"
            return f"no route from {a['VpcId']} ({name}) to {_vpc_cidr(store, b)} through {pcx}"
    return None


def _peering_between(store: Store, a: Doc, b: Doc) -> str | None:
    ends = {_vpc_key(a), _vpc_key(b)}
    for pcx in active_peerings(store):
        sides = {
            (i.get("OwnerId", ""), i.get("Region", ""), i.get("VpcId", ""))
            for i in (pcx["RequesterVpcInfo"], pcx["AccepterVpcInfo"])
        }
        if sides == ends:
            return str(pcx["VpcPeeringConnectionId"])
    return None


def _routes_to(store: Store, host: Doc, address: str, pcx: str) -> bool:
    table = route_table_for_subnet(store, host["OwnerId"], host["Region"], host["SubnetId"])
    ip = ipaddress.ip_address(address)
    best: tuple[int, Any] | None = None
    for route in table.get("Routes") or []:
        dest = route.get("DestinationCidrBlock")
        if dest and ip in ipaddress.ip_network(dest):
            length = ipaddress.ip_network(dest).prefixlen
            if best is None or length > best[0]:
                best = (length, route)
    return best is not None and best[1].get("VpcPeeringConnectionId") == pcx


def _vpc_cidr(store: Store, host: Doc) -> str:
    vpc = store.get(Kind.VPC, host["OwnerId"], host["Region"], host["VpcId"])
    return str(vpc["CidrBlock"]) if vpc else host["VpcIp"]


def _security_groups(store: Store, src: Doc, dst: Doc, protocol: str, port: int) -> str | None:
    if not _sg_allows(store, src, dst["VpcIp"], protocol, port, egress=True):
        groups = ", ".join(src.get("SecurityGroupIds") or [])
        return f"security group {groups} allows no egress to {dst['VpcIp']} {port}/{protocol}"
    if not _sg_allows(store, dst, src["VpcIp"], protocol, port, egress=False):
        groups = ", ".join(dst.get("SecurityGroupIds") or [])
        return f"security group {groups} allows no ingress from {src['VpcIp']} to {port}/{protocol}"
    return None


def _sg_allows(store: Store, host: Doc, peer: str, protocol: str, port: int, egress: bool) -> bool:
    for group_id in host.get("SecurityGroupIds") or []:
        group = store.get(Kind.SECURITY_GROUP, host["OwnerId"], host["Region"], group_id) or {}
        for rule in group.get("_rules") or []:
            if bool(rule.get("IsEgress")) == egress and _rule_matches(
                store, rule, peer, protocol, port
            ):
                return True
    return False


def _rule_matches(store: Store, rule: Doc, peer: str, protocol: str, port: int) -> bool:
    wanted = str(rule.get("IpProtocol", "-1")).lower()
    if wanted not in ("-1", protocol, _NUMBERS.get(protocol)):
        return False
    if wanted != "-1" and protocol in ("tcp", "udp"):
        if not rule.get("FromPort", 0) <= port <= rule.get("ToPort", 65535):
            return False
    if rule.get("CidrIpv4"):
        return ipaddress.ip_address(peer) in ipaddress.ip_network(rule["CidrIpv4"])
    referenced = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
    return bool(referenced) and any(
        a["VpcIp"] == peer and referenced in (a.get("SecurityGroupIds") or [])
        for a in store.list(Kind.ADDRESS)
    )


def _acls(store: Store, src: Doc, dst: Doc, protocol: str, port: int) -> str | None:
    if src["SubnetId"] == dst["SubnetId"] and _vpc_key(src) == _vpc_key(dst):
        return None  # ACLs guard a subnet's edge
    steps = (
        (src, True, dst["VpcIp"], port, "outbound"),
        (dst, False, src["VpcIp"], port, "inbound"),
        (dst, True, src["VpcIp"], _EPHEMERAL, "outbound reply"),
        (src, False, dst["VpcIp"], _EPHEMERAL, "inbound reply"),
    )
    for host, egress, peer, dport, what in steps:
        acl = network_acl_for_subnet(store, host["OwnerId"], host["Region"], host["SubnetId"])
        entry = _first_match(acl, egress, peer, protocol, dport)
        if entry is None or entry["RuleAction"] != "allow":
            number = entry["RuleNumber"] if entry else "*"
            return (
                f"network ACL {acl.get('NetworkAclId') or 'default'} of {host['SubnetId']} "
                f"denies {what} {dport}/{protocol} ({'to' if egress else 'from'} {peer}, "
                f"rule {number})"
            )
    return None


def _first_match(acl: Doc, egress: bool, peer: str, protocol: str, port: int) -> Doc | None:
    entries = [e for e in acl.get("Entries") or [] if bool(e.get("Egress")) == egress]
    for entry in sorted(entries, key=lambda e: int(e["RuleNumber"])):
        wanted = str(entry.get("Protocol", "-1"))
        if wanted not in ("-1", _NUMBERS.get(protocol, protocol)):
            continue
        if not entry.get("CidrBlock") or ipaddress.ip_address(peer) not in ipaddress.ip_network(
            entry["CidrBlock"]
        ):
            continue
        ports = entry.get("PortRange")
        if ports and wanted != "-1" and not ports["From"] <= port <= ports["To"]:
            continue
        return dict(entry)
    return None
