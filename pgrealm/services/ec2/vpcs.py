"""EC2 VPC, subnet and Availability Zone operations.

Rules follow the VPC user guide: a VPC's IPv4 CIDR is a /16 to /28; a subnet's lies
inside its VPC's, is /16 to /28 and overlaps no other subnet of the VPC.
https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._base import Ec2Base
from pgrealm.services.ec2._common import (
    ADDRESS,
    SG,
    SUBNET,
    VPC,
    Getter,
    check_dry_run,
    filtered,
    flag,
    invalid,
    parse_cidr,
    public,
    tag_specs,
)
from pgrealm.services.ec2.records import new_sg, new_subnet, new_vpc
from pgrealm.services.ec2.zones import Zone, zones
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page

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


class VpcOps(Ec2Base):
    """VPC, subnet and zone operations (mixed into Ec2Service)."""

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
        with self.store.transaction():
            self.store.put(VPC, ctx.account_id, ctx.region, vpc["VpcId"], vpc)
            self.store.put(SG, ctx.account_id, ctx.region, group["GroupId"], group)
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
        with self.store.transaction():
            vpc = self._vpc(ctx, vpc_id)
            groups = [g for g in self._groups(ctx) if g["VpcId"] == vpc_id]
            has_subnets = any(s["VpcId"] == vpc_id for s in self._subnets(ctx))
            if has_subnets or any(g["GroupName"] != "default" for g in groups):
                raise CommonError(
                    "DependencyViolation",
                    f"The vpc '{vpc_id}' has dependencies and cannot be deleted.",
                )
            for group in groups:
                self.store.delete(SG, ctx.account_id, ctx.region, group["GroupId"])
            self.network.release_vpc_block(vpc)
            self.store.delete(VPC, ctx.account_id, ctx.region, vpc_id)
        log.info("VPC %s deleted", vpc_id)
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
        log.info("subnet %s deleted", subnet_id)
        return {}
