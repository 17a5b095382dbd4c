"""What a VPC's traffic may do, as records say it: peering statuses, which route table and
network ACL govern a subnet, and the routes and entries AWS gives every VPC.

The EC2 service writes these records and the network reconciler reads them; both use
this module so that they agree on the rules.

A VPC peering connection moves through AWS's statuses
(https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html#vpc-peering-lifecycle):

    pending-acceptance -> active | rejected | deleted | expired (7 days unanswered)
    active -> deleted
    failed                      (overlapping CIDRs, or no such accepter VPC: final)

Peerings are stored under account "" and region "" (both owners see them); their
``Status.Code`` is what was written, :func:`peering_status` what holds now (a request
left unanswered past its ``ExpirationTime`` has expired without anyone writing it).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = [
    "LAST_RULE",
    "PeeringStatus",
    "active_peerings",
    "can_move",
    "cidrs_overlap",
    "default_acl_entries",
    "default_network_acl",
    "deny_all_entries",
    "local_route",
    "main_route_table",
    "network_acl_for_subnet",
    "peering_joins",
    "peering_status",
    "route_state",
    "route_table_for_subnet",
    "vpc_cidrs",
]

log = logging.getLogger(__name__)

# The rule number of the entry every ACL ends with; it cannot be changed or deleted.
LAST_RULE = 32767


class PeeringStatus(StrEnum):
    PENDING_ACCEPTANCE = "pending-acceptance"
    ACTIVE = "active"
    REJECTED = "rejected"
    DELETED = "deleted"
    EXPIRED = "expired"
    FAILED = "failed"


_P = PeeringStatus
_PEERING_MOVES: frozenset[tuple[PeeringStatus, PeeringStatus]] = frozenset(
    {
        (_P.PENDING_ACCEPTANCE, _P.ACTIVE),
        (_P.PENDING_ACCEPTANCE, _P.REJECTED),
        (_P.PENDING_ACCEPTANCE, _P.DELETED),
        (_P.PENDING_ACCEPTANCE, _P.EXPIRED),
        (_P.ACTIVE, _P.DELETED),
    }
)


def can_move(current: str, wanted: str) -> bool:
    """Whether a peering may go from ``current`` to ``wanted``."""
    return (PeeringStatus(current), PeeringStatus(wanted)) in _PEERING_MOVES


def peering_status(doc: Doc, now: datetime | None = None) -> str:
    """The peering's status now: a request unanswered past its expiration has expired."""
    code = str(doc["Status"]["Code"])
    expires = doc.get("ExpirationTime")
    if code == _P.PENDING_ACCEPTANCE and expires:
        if datetime.fromisoformat(expires) <= (now or datetime.now(UTC)):
            return _P.EXPIRED.value
    return code


def peering_joins(doc: Doc, account: str, region: str, vpc_id: str) -> bool:
    """Whether the peering has this VPC (of this account and region) on either side."""
    return any(
        (info["OwnerId"], info["Region"], info["VpcId"]) == (account, region, vpc_id)
        for info in (doc["RequesterVpcInfo"], doc["AccepterVpcInfo"])
    )


def active_peerings(store: Store) -> list[Doc]:
    """Every active peering of the stack, whatever its owners (the routes that carry traffic
    between two VPCs name one of these)."""
    return [d for d in store.list(Kind.VPC_PEERING, "", "") if peering_status(d) == _P.ACTIVE]


def route_state(route: dict[str, Any], active_ids: Collection[str]) -> str:
    """``active``, or ``blackhole`` for a route whose peering carries no traffic (pending,
    deleted, rejected ...): AWS keeps such routes and shows them so."""
    pcx = route.get("VpcPeeringConnectionId")
    if pcx and pcx not in active_ids:
        return "blackhole"
    return "active"


def vpc_cidrs(vpc: Doc) -> list[str]:
    """Every IPv4 CIDR block associated with a VPC, its primary one first."""
    blocks = [
        a["CidrBlock"]
        for a in vpc.get("CidrBlockAssociationSet") or []
        if a.get("CidrBlockState", {}).get("State", "associated") == "associated"
    ]
    return blocks or [vpc["CidrBlock"]]


def local_route(cidr: str) -> dict[str, Any]:
    """The route every route table has for each of its VPC's CIDR blocks."""
    return {
        "DestinationCidrBlock": cidr,
        "GatewayId": "local",
        "Origin": "CreateRouteTable",
        "State": "active",
    }


def _entry(rule: int, egress: bool, action: str) -> dict[str, Any]:
    return {
        "RuleNumber": rule,
        "Protocol": "-1",
        "RuleAction": action,
        "Egress": egress,
        "CidrBlock": "0.0.0.0/0",
    }


def deny_all_entries() -> list[dict[str, Any]]:
    """The entries of a new network ACL: the final deny, out and in."""
    return [_entry(LAST_RULE, True, "deny"), _entry(LAST_RULE, False, "deny")]


def default_acl_entries() -> list[dict[str, Any]]:
    """A VPC's default ACL, as AWS shows it: rule 100 allows everything, out and in."""
    return [
        _entry(100, True, "allow"),
        _entry(LAST_RULE, True, "deny"),
        _entry(100, False, "allow"),
        _entry(LAST_RULE, False, "deny"),
    ]


def main_route_table(store: Store, account: str, region: str, vpc_id: str) -> Doc | None:
    """The VPC's main route table (the one holding its Main association)."""
    for table in store.list(Kind.ROUTE_TABLE, account, region):
        if table["VpcId"] == vpc_id and any(a["Main"] for a in table["Associations"]):
            return table
    return None


def default_network_acl(store: Store, account: str, region: str, vpc_id: str) -> Doc | None:
    for acl in store.list(Kind.NETWORK_ACL, account, region):
        if acl["VpcId"] == vpc_id and acl["IsDefault"]:
            return acl
    return None


def _subnet_vpc(store: Store, account: str, region: str, subnet_id: str) -> Doc:
    subnet = store.get(Kind.SUBNET, account, region, subnet_id)
    if subnet is None:
        raise LookupError(f"no subnet {subnet_id} in {account}/{region}")
    vpc = store.get(Kind.VPC, account, region, subnet["VpcId"])
    if vpc is None:
        raise LookupError(f"subnet {subnet_id} outlived its VPC {subnet['VpcId']}")
    return vpc


def route_table_for_subnet(store: Store, account: str, region: str, subnet_id: str) -> Doc:
    """The route table a subnet's traffic follows: its explicit association, else its VPC's
    main table. LookupError if the subnet does not exist.

    A VPC made before pgrealm kept route tables has none until its owner's next EC2
    request makes them; until then it is governed as AWS's initial main table would
    govern it (local routes only), which this returns, without an id."""
    vpc = _subnet_vpc(store, account, region, subnet_id)
    tables = [
        t for t in store.list(Kind.ROUTE_TABLE, account, region) if t["VpcId"] == vpc["VpcId"]
    ]
    for table in tables:
        if any(a.get("SubnetId") == subnet_id for a in table["Associations"]):
            return table
    main = main_route_table(store, account, region, vpc["VpcId"])
    if main is not None:
        return main
    return {
        "RouteTableId": "",
        "VpcId": vpc["VpcId"],
        "OwnerId": account,
        "Routes": [local_route(c) for c in vpc_cidrs(vpc)],
        "Associations": [],
    }


def network_acl_for_subnet(store: Store, account: str, region: str, subnet_id: str) -> Doc:
    """The network ACL a subnet is associated with. LookupError if the subnet does not
    exist; a VPC that predates pgrealm's ACLs is governed by AWS's default (allow all)."""
    vpc = _subnet_vpc(store, account, region, subnet_id)
    for acl in store.list(Kind.NETWORK_ACL, account, region):
        if any(a["SubnetId"] == subnet_id for a in acl["Associations"]):
            return acl
    default = default_network_acl(store, account, region, vpc["VpcId"])
    if default is not None:
        return default
    return {
        "NetworkAclId": "",
        "VpcId": vpc["VpcId"],
        "OwnerId": account,
        "IsDefault": True,
        "Entries": default_acl_entries(),
        "Associations": [],
    }


def cidrs_overlap(first: Collection[str], second: Collection[str]) -> bool:
    """Whether any block of ``first`` overlaps any of ``second`` (peering refuses it)."""
    return any(
        ipaddress.IPv4Network(a).overlaps(ipaddress.IPv4Network(b)) for a in first for b in second
    )
