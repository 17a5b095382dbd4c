"""EC2 VPC, subnet and Availability Zone operations.

Rules follow the VPC user guide: a VPC's IPv4 CIDR is a /16 to /28; a subnet's lies
inside its VPC's, is /16 to /28 and overlaps no other subnet of the VPC.
https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html

A VPC comes with its main route table and default network ACL (records.py
``vpc_companions``) and goes with them; a subnet is associated with its VPC's default
ACL when made, and drops its ACL and route table associations when deleted. A VPC is
deleted only once its other route tables, ACLs and security groups are, as EC2 asks;
its peerings end with it (peering.py ``end_peerings``).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pgrealm.model.network import default_network_acl, main_route_table
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._base import Ec2Base
from pgrealm.services.ec2._common import (
    ACL,
    ADDRESS,
    DEFAULTS,
    RTB,
    SG,
    SUBNET,
    VPC,
    Getter,
    check_dry_run,
    dependency_violation,
    filtered,
    flag,
    invalid,
    parse_cidr,
    public,
    tag_specs,
)
from pgrealm.services.ec2.peering import end_peerings
from pgrealm.services.ec2.records import (
    acl_association,
    new_sg,
    new_subnet,
    new_vpc,
    vpc_companions,
)
from pgrealm.services.ec2.zones import Zone, zones
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page
from pgrealm.store import Doc

__all__ = ["VpcOps"]

log = logging.getLogger(__name__)

_VPC_FILTERS: dict[str, Getter] = {
    "vpc-id": lambda d: [d["VpcId"]],
    "is-default": lambda d: flag(d["IsDefault"]),
    "cidr": lambda d: [d["CidrBlock"]],
    "cidr-block-association.cidr-block": lambda d: [
        a["CidrBlock"] for a in d["CidrBlockAssociationSet"]
    ],
    "state": lambda d: [d["State"]],
    "owner-id": lambda d: [d["OwnerId"]],
    "dhcp-options-id": lambda d: [d["DhcpOptionsId"]],
}

_SUBNET_FILTERS: dict[str, Getter] = {
    "vpc-id": lambda d: [d["VpcId"]],
    "subnet-id": lambda d: [d["SubnetId"]],
    "availability-zone": lambda d: [d["AvailabilityZone"]],
    "availability-zone-id": lambda d: [d["AvailabilityZoneId"]],
    "default-for-az": lambda d: flag(d["DefaultForAz"]),
    "defaultForAz": lambda d: flag(d["DefaultForAz"]),
    "cidr-block": lambda d: [d["CidrBlock"]],
    "cidr": lambda d: [d["CidrBlock"]],
    "cidrBlock": lambda d: [d["CidrBlock"]],
    "state": lambda d: [d["State"]],
    "owner-id": lambda d: [d["OwnerId"]],
    "map-public-ip-on-launch": lambda d: flag(d["MapPublicIpOnLaunch"]),
}

_ZONE_FILTERS: dict[str, Getter] = {
    "zone-name": lambda d: [d["ZoneName"]],
    "zone-id": lambda d: [d["ZoneId"]],
    "region-name": lambda d: [d["RegionName"]],
    "state": lambda d: [d["State"]],
    "zone-type": lambda d: [d["ZoneType"]],
    "opt-in-status": lambda d: [d["OptInStatus"]],
    "group-name": lambda d: [d["GroupName"]],
}

# Marker (kind ec2.defaults): this account+region's VPCs all have their main route table
# and default network ACL, those made before pgrealm kept them included.
_COMPANIONS_MADE = "route-tables-and-acls"


def _zone_shape(zone: Zone) -> dict[str, Any]:
    return {
        "ZoneName": zone.name,
        "ZoneId": zone.zone_id,
        "RegionName": zone.region,
        "State": "available",
        "OptInStatus": "opt-in-not-required",
        "Messages": [],
        "GroupName": zone.region,
        "NetworkBorderGroup": zone.region,
        "ZoneType": "availability-zone",
    }


def _sized(text: str, error_code: str) -> ipaddress.IPv4Network:
    net = parse_cidr(text)
    if not 16 <= net.prefixlen <= 28:
        raise CommonError(error_code, f"The CIDR '{text}' is invalid.")
    return net


def _is_main(table: Doc) -> bool:
    return any(a["Main"] for a in table["Associations"])


class VpcOps(Ec2Base):
    """VPC, subnet and zone operations (mixed into Ec2Service)."""

    def _touch(self, ctx: RequestContext) -> None:
        super()._touch(ctx)
        if self.store.get(DEFAULTS, ctx.account_id, ctx.region, _COMPANIONS_MADE) is None:
            self._make_companions(ctx)

    def _make_companions(self, ctx: RequestContext) -> None:
        """Give each VPC that lacks them (one made before pgrealm kept route tables and
        ACLs) the main route table and default ACL EC2 gives every VPC, once."""
        account, region = ctx.account_id, ctx.region
        with self.store.transaction():
            if self.store.get(DEFAULTS, account, region, _COMPANIONS_MADE) is not None:
                return
            governed = {
                a["SubnetId"]
                for acl in self.store.list(ACL, account, region)
                for a in acl["Associations"]
            }
            for vpc in self._vpcs(ctx):
                vpc_id = vpc["VpcId"]
                subnets = [
                    s["SubnetId"]
                    for s in self._subnets(ctx)
                    if s["VpcId"] == vpc_id and s["SubnetId"] not in governed
                ]
                table, acl = vpc_companions(account, vpc, subnets)
                if main_route_table(self.store, account, region, vpc_id) is None:
                    self.store.put(RTB, account, region, table["RouteTableId"], table)
                    log.info("VPC %s given its main route table %s", vpc_id, table["RouteTableId"])
                if default_network_acl(self.store, account, region, vpc_id) is None:
                    self.store.put(ACL, account, region, acl["NetworkAclId"], acl)
                    log.info("VPC %s given its default network ACL %s", vpc_id, acl["NetworkAclId"])
            self.store.put(DEFAULTS, account, region, _COMPANIONS_MADE, {"Made": True})

    # -- zones ----------------------------------------------------------------------
    def describe_availability_zones(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        shapes = [_zone_shape(z) for z in zones(ctx.region)]
        for key, field in (("ZoneNames", "ZoneName"), ("ZoneIds", "ZoneId")):
            wanted = params.get(key)
            if wanted:
                unknown = set(wanted) - {s[field] for s in shapes}
                if unknown:
                    raise invalid(f"The zone '{sorted(unknown)[0]}' does not exist.")
                shapes = [s for s in shapes if s[field] in wanted]
        return {"AvailabilityZones": filtered(shapes, params.get("Filters"), _ZONE_FILTERS)}

    def _zone(self, ctx: RequestContext, params: dict[str, Any], vpc_id: str) -> Zone:
        region_zones = zones(ctx.region)
        name, zone_id = params.get("AvailabilityZone"), params.get("AvailabilityZoneId")
        if name or zone_id:
            for zone in region_zones:
                if zone.name == name or zone.zone_id == zone_id:
                    return zone
            names = ", ".join(z.name for z in region_zones)
            parameter = "availabilityZone" if name else "availabilityZoneId"
            raise invalid(
                f"Value ({name or zone_id}) for parameter {parameter} is invalid. Subnets can "
                f"currently only be created in the following availability zones: {names}."
            )
        # AWS picks a zone for you; the least used one keeps a VPC's subnets spread.
        in_vpc = [s["AvailabilityZone"] for s in self._subnets(ctx) if s["VpcId"] == vpc_id]
        return min(region_zones, key=lambda z: in_vpc.count(z.name))

    # -- VPCs -----------------------------------------------------------------------
    def create_vpc(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        if not params.get("CidrBlock"):
            raise CommonError(
                "MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided."
            )
        net = _sized(params["CidrBlock"], "InvalidVpc.Range")
        vpc = new_vpc(ctx.account_id, ctx.region, str(net), False, tag_specs(params, "vpc"))
        group = new_sg(
            ctx.account_id, ctx.region, vpc["VpcId"], "default", "default VPC security group", []
        )
        table, acl = vpc_companions(ctx.account_id, vpc, [])
        with self.store.transaction():
            self.store.put(VPC, ctx.account_id, ctx.region, vpc["VpcId"], vpc)
            self.store.put(SG, ctx.account_id, ctx.region, group["GroupId"], group)
            self.store.put(RTB, ctx.account_id, ctx.region, table["RouteTableId"], table)
            self.store.put(ACL, ctx.account_id, ctx.region, acl["NetworkAclId"], acl)
        self.kick()
        log.info("VPC %s (%s) created", vpc["VpcId"], net)
        return {"Vpc": public(vpc)}

    def describe_vpcs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        ids = params.get("VpcIds")
        docs = [self._vpc(ctx, i) for i in ids] if ids else self._vpcs(ctx)
        docs = filtered(docs, params.get("Filters"), _VPC_FILTERS)
        return page("ec2", "DescribeVpcs", [public(d) for d in docs], params)

    def delete_vpc(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        vpc_id = params["VpcId"]
        account, region = ctx.account_id, ctx.region
        with self.store.transaction():
            self._vpc(ctx, vpc_id)
            owned = {
                kind: [d for d in self.store.list(kind, account, region) if d["VpcId"] == vpc_id]
                for kind in (SG, RTB, ACL)
            }
            if (
                any(s["VpcId"] == vpc_id for s in self._subnets(ctx))
                or any(g["GroupName"] != "default" for g in owned[SG])
                or not all(_is_main(t) for t in owned[RTB])
                or not all(a["IsDefault"] for a in owned[ACL])
            ):
                raise dependency_violation("vpc", vpc_id)
            ended = end_peerings(self.store, account, region, vpc_id)
            for group in owned[SG]:
                self.store.delete(SG, account, region, group["GroupId"])
            for table in owned[RTB]:
                self.store.delete(RTB, account, region, table["RouteTableId"])
            for acl in owned[ACL]:
                self.store.delete(ACL, account, region, acl["NetworkAclId"])
            self.store.delete(VPC, account, region, vpc_id)
        self.kick()
        log.info("VPC %s deleted (peerings ended: %s)", vpc_id, ", ".join(ended) or "none")
        return {}

    # -- subnets --------------------------------------------------------------------
    def create_subnet(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        if not params.get("CidrBlock"):
            raise CommonError(
                "MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided."
            )
        cidr = params["CidrBlock"]
        net = _sized(cidr, "InvalidSubnet.Range")
        with self.store.transaction():
            vpc = self._vpc(ctx, params["VpcId"])
            vpc_id = vpc["VpcId"]
            if not net.subnet_of(ipaddress.IPv4Network(vpc["CidrBlock"])):
                raise CommonError("InvalidSubnet.Range", f"The CIDR '{cidr}' is invalid.")
            for other in self._subnets(ctx):
                if other["VpcId"] == vpc["VpcId"] and net.overlaps(
                    ipaddress.IPv4Network(other["CidrBlock"])
                ):
                    raise CommonError(
                        "InvalidSubnet.Conflict", f"The CIDR '{cidr}' conflicts with another subnet"
                    )
            zone = self._zone(ctx, params, vpc["VpcId"])
            subnet = new_subnet(
                ctx.account_id,
                ctx.region,
                vpc["VpcId"],
                str(net),
                zone,
                False,
                tag_specs(params, "subnet"),
            )
            self.store.put(SUBNET, ctx.account_id, ctx.region, subnet["SubnetId"], subnet)
            self._govern(ctx, vpc_id, subnet["SubnetId"])
        self.kick()
        log.info("subnet %s (%s, %s) created in %s", subnet["SubnetId"], net, zone.name, vpc_id)
        return {"Subnet": self.network.subnet_shape(ctx.account_id, ctx.region, subnet)}

    def describe_subnets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        ids = params.get("SubnetIds")
        docs = [self._subnet(ctx, i) for i in ids] if ids else self._subnets(ctx)
        docs = filtered(docs, params.get("Filters"), _SUBNET_FILTERS)
        shapes = [self.network.subnet_shape(ctx.account_id, ctx.region, d) for d in docs]
        return page("ec2", "DescribeSubnets", shapes, params)

    def delete_subnet(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        subnet_id = params["SubnetId"]
        with self.store.transaction():
            self._subnet(ctx, subnet_id)
            addresses = self.store.list(ADDRESS, ctx.account_id, ctx.region)
            if any(a["SubnetId"] == subnet_id for a in addresses):
                raise CommonError(
                    "DependencyViolation",
                    f"The subnet '{subnet_id}' has dependencies and cannot be deleted.",
                )
            self.store.delete(SUBNET, ctx.account_id, ctx.region, subnet_id)
            self._drop_associations(ctx, subnet_id)
        self.kick()
        log.info("subnet %s deleted", subnet_id)
        return {}

    def _govern(self, ctx: RequestContext, vpc_id: str, subnet_id: str) -> None:
        """Associate a new subnet with its VPC's default ACL (inside the transaction)."""
        acl = default_network_acl(self.store, ctx.account_id, ctx.region, vpc_id)
        if acl is not None:
            acl["Associations"].append(acl_association(acl["NetworkAclId"], subnet_id))
            self.store.put(ACL, ctx.account_id, ctx.region, acl["NetworkAclId"], acl)

    def _drop_associations(self, ctx: RequestContext, subnet_id: str) -> None:
        """A deleted subnet's ACL and route table associations go with it."""
        for kind, id_field in ((ACL, "NetworkAclId"), (RTB, "RouteTableId")):
            for doc in self.store.list(kind, ctx.account_id, ctx.region):
                kept = [a for a in doc["Associations"] if a.get("SubnetId") != subnet_id]
                if len(kept) != len(doc["Associations"]):
                    doc["Associations"] = kept
                    self.store.put(kind, ctx.account_id, ctx.region, doc[id_field], doc)
