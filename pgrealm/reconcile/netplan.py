"""From records to the kernel: the RouterSpec of each VPC that has hosts.

A VPC is realised (has a router namespace) while it has at least one host address.
Everything the router enforces comes from records the EC2 API writes: the hosts' security
groups (their ENIs' SecurityGroupIds), the subnets' network ACLs and route tables, and
the active peerings (model/network.py says which record governs what).

One thing more: a read replica's (or a Multi-AZ standby's) replication connection to its
source (5432) passes whatever the two servers' security groups say, as RDS's replication
runs on the service's own network and not under the customer's groups. Routes and network
ACLs still apply: a replica in another VPC needs the peering and its routes.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pgrealm.engines.netns import (
    AclEntry,
    FirewallSpec,
    HostPort,
    PeerLink,
    RouterSpec,
    SgRule,
    StackNet,
    peer_link_name,
    port_name,
)
from pgrealm.gateways.network import stack_net
from pgrealm.model.network import (
    active_peerings,
    network_acl_for_subnet,
    route_table_for_subnet,
)
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["Plan", "VpcKey", "plan", "stack_net"]

log = logging.getLogger(__name__)

VpcKey = tuple[str, str, str]  # (account, region, vpc id)

_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp"}
_FIRST_TABLE = 100


@dataclass
class Plan:
    """The routers the records call for, and every namespace they need."""

    routers: dict[VpcKey, RouterSpec]

    def namespaces(self) -> set[str]:
        names = set()
        for spec in self.routers.values():
            names.add(spec.namespace)
            names.update(h.namespace for h in spec.hosts)
        return names


def plan(store: Store, stack: StackNet) -> Plan:
    addresses = store.list(Kind.ADDRESS)
    by_vpc: dict[VpcKey, list[Doc]] = defaultdict(list)
    for record in addresses:
        by_vpc[(record["OwnerId"], record["Region"], record["VpcId"])].append(record)
    members = _group_members(addresses)
    peerings = active_peerings(store)
    replication = _replication_rules(store)
    routers = {
        key: _router(store, stack, key, hosts, members, peerings, set(by_vpc), replication)
        for key, hosts in by_vpc.items()
    }
    return Plan(routers)


def _group_members(addresses: list[Doc]) -> dict[str, list[str]]:
    """Security group id -> the VPC addresses of the hosts in it."""
    members: dict[str, list[str]] = defaultdict(list)
    for record in addresses:
        for group_id in record.get("SecurityGroupIds") or []:
            members[group_id].append(record["VpcIp"])
    return members


def _router(
    store: Store,
    stack: StackNet,
    key: VpcKey,
    hosts: list[Doc],
    members: dict[str, list[str]],
    peerings: list[Doc],
    realised: set[VpcKey],
    replication: dict[tuple[str, bool], tuple[SgRule, ...]],
) -> RouterSpec:
    account, region, vpc_id = key
    ports = tuple(
        HostPort(stack.host_namespace(h["HostIp"]), port_name(h["HostIp"]), h["VpcIp"], h["HostIp"])
        for h in sorted(hosts, key=lambda h: h["HostIp"])
    )
    links = _peer_links(stack, key, peerings, realised)
    subnets = [s for s in store.list(Kind.SUBNET, account, region) if s["VpcId"] == vpc_id]
    subnet_tables, routes = _routes(store, key, subnets, {p.name for p in links})
    firewall = FirewallSpec(
        ingress={
            port_name(h["HostIp"]): _sg_rules(store, key, h, members, False)
            + replication.get((h["HostIp"], False), ())
            for h in hosts
        },
        egress={
            port_name(h["HostIp"]): _sg_rules(store, key, h, members, True)
            + replication.get((h["HostIp"], True), ())
            for h in hosts
        },
        acl_in={s["CidrBlock"]: _acl(store, key, s, False) for s in subnets},
        acl_out={s["CidrBlock"]: _acl(store, key, s, True) for s in subnets},
        dnat={h["HostIp"]: h["VpcIp"] for h in hosts},
    )
    return RouterSpec(
        stack.router_namespace(vpc_id), stack.uplink(vpc_id), ports, links,
        subnet_tables, routes, firewall,
    )  # fmt: skip


def _replication_rules(store: Store) -> dict[tuple[str, bool], tuple[SgRule, ...]]:
    """(host address, egress) -> the rules that let each read replica stream from its
    source: in at the source from the replica, out at the replica to the source."""
    rules: dict[tuple[str, bool], list[SgRule]] = defaultdict(list)
    for replica in store.list(Kind.DB_INSTANCE):
        source = (
            store.get(Kind.DB_INSTANCE, *replica["replica_of"])
            if replica.get("replica_of")
            else None
        )
        standby = replica.get("standby")  # a Multi-AZ instance's streams as a replica's
        if standby and standby.get("vpc_ip") and replica.get("vpc_ip"):
            _let_stream(rules, replica, standby)
        if source is None or not replica.get("vpc_ip") or not source.get("vpc_ip"):
            continue
        _let_stream(rules, source, replica)
    return {key: tuple(found) for key, found in rules.items()}


def _let_stream(rules: dict[tuple[str, bool], list[SgRule]], source: Doc, copy: Doc) -> None:
    rules[(source["address"], False)].append(SgRule((copy["vpc_ip"],), "tcp", 5432, 5432))
    rules[(copy["address"], True)].append(SgRule((source["vpc_ip"],), "tcp", 5432, 5432))


def _side(info: dict[str, Any]) -> VpcKey:
    return (info.get("OwnerId", ""), info.get("Region", ""), info.get("VpcId", ""))


def _peer_links(
    stack: StackNet, key: VpcKey, peerings: list[Doc], realised: set[VpcKey]
) -> tuple[PeerLink, ...]:
    """A link for each active peering of this VPC whose other VPC has hosts too."""
    links = []
    for pcx in peerings:
        requester, accepter = _side(pcx["RequesterVpcInfo"]), _side(pcx["AccepterVpcInfo"])
        if key not in (requester, accepter):
            continue
        other = accepter if key == requester else requester
        if other not in realised:
            continue
        name = peer_link_name(pcx["VpcPeeringConnectionId"])
        links.append(PeerLink(name, stack.router_namespace(other[2])))
    return tuple(sorted(links, key=lambda link: link.name))


def _routes(
    store: Store, key: VpcKey, subnets: list[Doc], links: set[str]
) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[int, str, str], ...]]:
    """Each subnet's kernel table, and the peering routes in each table."""
    account, region, _ = key
    tables: dict[str, int] = {}
    subnet_tables, routes = [], []
    for subnet in sorted(subnets, key=lambda s: s["CidrBlock"]):
        try:
            table = route_table_for_subnet(store, account, region, subnet["SubnetId"])
        except LookupError:
            continue
        rtb_id = table.get("RouteTableId") or f"main-{subnet['VpcId']}"
        first_time = rtb_id not in tables
        number = tables.setdefault(rtb_id, _FIRST_TABLE + len(tables))
        subnet_tables.append((subnet["CidrBlock"], number))
        if not first_time:
            continue
        for route in table.get("Routes") or []:
            pcx = route.get("VpcPeeringConnectionId")
            dest = route.get("DestinationCidrBlock")
            if pcx and dest and peer_link_name(pcx) in links:
                routes.append((number, dest, peer_link_name(pcx)))
    return tuple(subnet_tables), tuple(routes)


def _protocol(raw: Any) -> str:
    text = str(raw).lower()
    return _PROTOCOL_NAMES.get(text, text)


def _sg_rules(
    store: Store, key: VpcKey, host: Doc, members: dict[str, list[str]], egress: bool
) -> tuple[SgRule, ...]:
    account, region, _ = key
    rules = []
    for group_id in _groups_of(store, key, host):
        group = store.get(Kind.SECURITY_GROUP, account, region, group_id)
        for rule in (group or {}).get("_rules") or []:
            if bool(rule.get("IsEgress")) != egress:
                continue
            if rule.get("CidrIpv4"):
                peers: tuple[str, ...] = (rule["CidrIpv4"],)
            elif rule.get("ReferencedGroupInfo"):
                peers = tuple(members.get(rule["ReferencedGroupInfo"]["GroupId"], ()))
            else:
                continue  # IPv6 and prefix lists: nothing IPv4 to match
            protocol = _protocol(rule.get("IpProtocol", "-1"))
            rules.append(SgRule(peers, protocol, rule.get("FromPort", -1), rule.get("ToPort", -1)))
    return tuple(rules)


def _groups_of(store: Store, key: VpcKey, host: Doc) -> list[str]:
    """The host's groups; the VPC's default group for a host recorded without any."""
    if host.get("SecurityGroupIds"):
        return list(host["SecurityGroupIds"])
    account, region, vpc_id = key
    for group in store.list(Kind.SECURITY_GROUP, account, region):
        if group["VpcId"] == vpc_id and group["GroupName"] == "default":
            return [group["GroupId"]]
    return []


def _acl(store: Store, key: VpcKey, subnet: Doc, egress: bool) -> tuple[AclEntry, ...]:
    account, region, _ = key
    try:
        acl = network_acl_for_subnet(store, account, region, subnet["SubnetId"])
    except LookupError:
        return (AclEntry(100, True, "0.0.0.0/0", "-1"),)
    entries = []
    for entry in acl.get("Entries") or []:
        if bool(entry.get("Egress")) != egress or not entry.get("CidrBlock"):
            continue
        ports = entry.get("PortRange") or {}
        entries.append(
            AclEntry(
                int(entry["RuleNumber"]),
                entry["RuleAction"] == "allow",
                str(ipaddress.IPv4Network(entry["CidrBlock"], strict=False)),
                _protocol(entry.get("Protocol", "-1")),
                int(ports.get("From", -1)),
                int(ports.get("To", -1)),
            )
        )
    return tuple(entries)
