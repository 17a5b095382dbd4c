"""EC2 network ACLs: ACLs, their numbered entries, and which subnets they govern.

Every VPC has a default ACL from its creation on (rule 100 allows all traffic in and
out); every subnet is associated with exactly one ACL, its VPC's default until
ReplaceNetworkAclAssociation moves it. A new ACL denies everything (its only entries
are the final 32767 denies, which cannot be changed). Entries are evaluated in rule
number order, first match wins, separately in and out; the network reconciler reads
them through model/network.py ``network_acl_for_subnet``.
https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pgrealm.model.network import LAST_RULE
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._base import Ec2Base
from pgrealm.services.ec2._common import (
    ACL,
    Getter,
    association_not_found,
    check_dry_run,
    dependency_violation,
    filtered,
    flag,
    invalid,
    network_acl_not_found,
    parse_cidr,
    public,
    tag_specs,
)
from pgrealm.services.ec2.records import acl_association, new_network_acl
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page
from pgrealm.store import Doc

__all__ = ["NetworkAclOps"]

log = logging.getLogger(__name__)

# Protocol names EC2 takes for an entry; it stores and shows the numbers.
_PROTOCOL_NUMBERS = {"all": "-1", "tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58"}
_PROTOCOL_NAMES = {v: k for k, v in _PROTOCOL_NUMBERS.items()}
_PORTED = ("6", "17")


def _entries(key: str, inner: str | None = None) -> Getter:
    def get(doc: Doc) -> list[str]:
        values = []
        for entry in doc["Entries"]:
            value = entry.get(key) if inner is None else (entry.get(key) or {}).get(inner)
            if value is not None:
                values.append(flag(value)[0] if isinstance(value, bool) else str(value))
        return values

    return get


def _associations(key: str) -> Getter:
    return lambda d: [a[key] for a in d["Associations"]]


_FILTERS: dict[str, Getter] = {
    "network-acl-id": lambda d: [d["NetworkAclId"]],
    "vpc-id": lambda d: [d["VpcId"]],
    "owner-id": lambda d: [d["OwnerId"]],
    "default": lambda d: flag(d["IsDefault"]),
    "association.association-id": _associations("NetworkAclAssociationId"),
    "association.network-acl-id": _associations("NetworkAclId"),
    "association.subnet-id": _associations("SubnetId"),
    "entry.rule-number": _entries("RuleNumber"),
    "entry.rule-action": _entries("RuleAction"),
    "entry.egress": _entries("Egress"),
    "entry.cidr": _entries("CidrBlock"),
    "entry.ipv6-cidr": _entries("Ipv6CidrBlock"),
    "entry.protocol": lambda d: [
        name
        for e in d["Entries"]
        for name in (e["Protocol"], _PROTOCOL_NAMES.get(e["Protocol"]))
        if name is not None
    ],
    "entry.port-range.from": _entries("PortRange", "From"),
    "entry.port-range.to": _entries("PortRange", "To"),
    "entry.icmp.type": _entries("IcmpTypeCode", "Type"),
    "entry.icmp.code": _entries("IcmpTypeCode", "Code"),
}


def _acl_shape(doc: Doc) -> dict[str, Any]:
    out = public(doc)
    # As EC2 lists them: egress entries first, each direction in rule order.
    out["Entries"] = sorted(doc["Entries"], key=lambda e: (not e["Egress"], e["RuleNumber"]))
    return out


def _rule_number(value: int) -> int:
    if not 1 <= value <= LAST_RULE - 1:
        raise invalid(
            f"Invalid value '{value}' for ruleNumber: an entry's rule number is from 1 to "
            f"{LAST_RULE - 1} ({LAST_RULE} is the ACL's final deny, which cannot be changed)."
        )
    return value


def _protocol(value: str) -> str:
    raw = str(value).strip().lower()
    number = _PROTOCOL_NUMBERS.get(raw, raw)
    if number == "-1":
        return number
    if not number.isdigit() or not 0 <= int(number) <= 255:
        raise invalid(
            f"Invalid value '{value}' for protocol. Give -1 (all), a protocol number from 0 to "
            "255, or tcp, udp, icmp or icmpv6."
        )
    return str(int(number))


def _peer(params: dict[str, Any]) -> dict[str, str]:
    cidr, ipv6 = params.get("CidrBlock"), params.get("Ipv6CidrBlock")
    if cidr and ipv6:
        raise CommonError(
            "InvalidParameterCombination",
            "An entry takes a cidrBlock or an ipv6CidrBlock, not both.",
        )
    if cidr:
        return {"CidrBlock": str(parse_cidr(cidr, "cidrBlock"))}
    if ipv6:
        try:
            return {"Ipv6CidrBlock": str(ipaddress.IPv6Network(ipv6, strict=False))}
        except ValueError:
            raise invalid(
                f"Value ({ipv6}) for parameter ipv6CidrBlock is invalid. This is not a valid CIDR "
                "block."
            ) from None
    raise CommonError(
        "MissingParameter", "The request must contain the parameter cidrBlock or ipv6CidrBlock"
    )


def _ports(params: dict[str, Any]) -> dict[str, Any]:
    ports = params.get("PortRange") or {}
    low, high = ports.get("From"), ports.get("To")
    if low is None or high is None:
        raise CommonError("MissingParameter", "The request must contain the parameter portRange")
    if not 0 <= low <= high <= 65535:
        raise invalid(f"Invalid TCP/UDP port range: {low} to {high}.")
    return {"PortRange": {"From": low, "To": high}}


def _icmp(params: dict[str, Any]) -> dict[str, Any]:
    icmp = params.get("IcmpTypeCode") or {}
    kind, code = icmp.get("Type"), icmp.get("Code")
    if kind is None or code is None:
        raise CommonError("MissingParameter", "The request must contain the parameter icmpTypeCode")
    if not (-1 <= kind <= 255 and -1 <= code <= 255):
        raise invalid(f"Invalid ICMP type and code: {kind} and {code}.")
    return {"IcmpTypeCode": {"Type": kind, "Code": code}}


def _entry(params: dict[str, Any]) -> dict[str, Any]:
    """A NetworkAclEntry from a Create/ReplaceNetworkAclEntry request. Port ranges are kept
    for TCP and UDP only, ICMP type and code for ICMP (and ICMPv6 to an IPv6 block), as
    the API reference says each is required there and ignored elsewhere."""
    protocol = _protocol(params["Protocol"])
    entry: dict[str, Any] = {
        "RuleNumber": _rule_number(params["RuleNumber"]),
        "Protocol": protocol,
        "RuleAction": params["RuleAction"],
        "Egress": bool(params["Egress"]),
        **_peer(params),
    }
    if protocol in _PORTED:
        entry.update(_ports(params))
    if protocol == "1" or (protocol == "58" and "Ipv6CidrBlock" in entry):
        entry.update(_icmp(params))
    return entry


def _find(acl: Doc, rule: int, egress: bool) -> int | None:
    for index, entry in enumerate(acl["Entries"]):
        if entry["RuleNumber"] == rule and entry["Egress"] == egress:
            return index
    return None


def _entry_not_found(acl_id: str, rule: int, egress: bool) -> CommonError:
    direction = "egress" if egress else "ingress"
    return CommonError(
        "InvalidNetworkAclEntry.NotFound",
        f"The {direction} entry with rule number {rule} does not exist in network ACL {acl_id}.",
    )


class NetworkAclOps(Ec2Base):
    """Network ACL operations (mixed into Ec2Service)."""

    def _acl(self, ctx: RequestContext, acl_id: str) -> Doc:
        doc = self.store.get(ACL, ctx.account_id, ctx.region, acl_id)
        if doc is None:
            raise network_acl_not_found(acl_id)
        return doc

    def _acls(self, ctx: RequestContext) -> list[Doc]:
        return self.store.list(ACL, ctx.account_id, ctx.region)

    def _put_acl(self, ctx: RequestContext, acl: Doc) -> None:
        self.store.put(ACL, ctx.account_id, ctx.region, acl["NetworkAclId"], acl)

    # -- ACLs -----------------------------------------------------------------------
    def create_network_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        tags = tag_specs(params, "network-acl")
        acl = self._create_in_vpc(
            ctx,
            params,
            ACL,
            "NetworkAclId",
            lambda vpc: new_network_acl(ctx.account_id, vpc["VpcId"], False, tags),
        )
        out: dict[str, Any] = {"NetworkAcl": _acl_shape(acl)}
        if params.get("ClientToken"):
            out["ClientToken"] = params["ClientToken"]
        return out

    def delete_network_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        acl_id = params["NetworkAclId"]
        with self.store.transaction():
            acl = self._acl(ctx, acl_id)
            if acl["IsDefault"]:
                raise invalid(f"cannot delete default network ACL {acl_id}")
            if acl["Associations"]:
                raise dependency_violation("networkAcl", acl_id)
            self.store.delete(ACL, ctx.account_id, ctx.region, acl_id)
        self.kick()
        log.info("network ACL %s deleted", acl_id)
        return {}

    def describe_network_acls(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        ids = params.get("NetworkAclIds")
        acls = [self._acl(ctx, i) for i in dict.fromkeys(ids)] if ids else self._acls(ctx)
        shapes = filtered([_acl_shape(a) for a in acls], params.get("Filters"), _FILTERS)
        return page("ec2", "DescribeNetworkAcls", shapes, params)

    # -- entries --------------------------------------------------------------------
    def create_network_acl_entry(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        entry = _entry(params)
        with self.store.transaction():
            acl = self._acl(ctx, params["NetworkAclId"])
            if _find(acl, entry["RuleNumber"], entry["Egress"]) is not None:
                raise CommonError(
                    "NetworkAclEntryAlreadyExists",
                    f"The network acl entry identified by {entry['RuleNumber']} already exists.",
                )
            acl["Entries"].append(entry)
            self._put_acl(ctx, acl)
        self.kick()
        log.info("entry %s added to %s", entry, acl["NetworkAclId"])
        return {}

    def replace_network_acl_entry(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        entry = _entry(params)
        with self.store.transaction():
            acl = self._acl(ctx, params["NetworkAclId"])
            index = _find(acl, entry["RuleNumber"], entry["Egress"])
            if index is None:
                raise _entry_not_found(acl["NetworkAclId"], entry["RuleNumber"], entry["Egress"])
            acl["Entries"][index] = entry
            self._put_acl(ctx, acl)
        self.kick()
        log.info("entry %s replaced in %s", entry, acl["NetworkAclId"])
        return {}

    def delete_network_acl_entry(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        rule, egress = _rule_number(params["RuleNumber"]), bool(params["Egress"])
        with self.store.transaction():
            acl = self._acl(ctx, params["NetworkAclId"])
            index = _find(acl, rule, egress)
            if index is None:
                raise _entry_not_found(acl["NetworkAclId"], rule, egress)
            del acl["Entries"][index]
            self._put_acl(ctx, acl)
        self.kick()
        log.info(
            "entry %d (%s) deleted from %s", rule, "out" if egress else "in", acl["NetworkAclId"]
        )
        return {}

    # -- associations ---------------------------------------------------------------
    def replace_network_acl_association(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Move a subnet to another ACL of its VPC; the association gets a new id."""
        check_dry_run(params)
        self._touch(ctx)
        association_id, acl_id = params["AssociationId"], params["NetworkAclId"]
        with self.store.transaction():
            old, association = self._acl_association(ctx, association_id)
            new = self._acl(ctx, acl_id)
            if new["VpcId"] != old["VpcId"]:
                raise invalid(
                    f"Network ACL {acl_id} and subnet {association['SubnetId']} belong to "
                    "different networks"
                )
            if new["NetworkAclId"] == old["NetworkAclId"]:
                new = old
            old["Associations"].remove(association)
            replacement = acl_association(acl_id, association["SubnetId"])
            new["Associations"].append(replacement)
            self._put_acl(ctx, old)
            self._put_acl(ctx, new)
        self.kick()
        log.info("subnet %s now governed by %s", association["SubnetId"], acl_id)
        return {"NewAssociationId": replacement["NetworkAclAssociationId"]}

    def _acl_association(self, ctx: RequestContext, association_id: str) -> tuple[Doc, Any]:
        for acl in self._acls(ctx):
            for association in acl["Associations"]:
                if association["NetworkAclAssociationId"] == association_id:
                    return acl, association
        raise association_not_found(association_id)
