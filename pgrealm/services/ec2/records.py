"""Builders for the stored VPC, subnet, security group, route table, network ACL and VPC
peering documents, and SG rule views.

A security group stores its rules flat in ``_rules`` (one SecurityGroupRule each,
without the group's own id and owner); :func:`group_shape` regroups them into the
IpPermissions / IpPermissionsEgress lists DescribeSecurityGroups answers.
"""

from __future__ import annotations

import logging
from typing import Any

from pgrealm.model.network import default_acl_entries, deny_all_entries, local_route, vpc_cidrs
from pgrealm.services.base import new_id
from pgrealm.services.ec2._common import public
from pgrealm.services.ec2.zones import Zone
from pgrealm.store import Doc

__all__ = [
    "ALL_TRAFFIC_EGRESS",
    "acl_association",
    "group_shape",
    "new_network_acl",
    "new_peering",
    "new_route_table",
    "new_rule",
    "new_sg",
    "new_subnet",
    "new_vpc",
    "peering_side",
    "route_table_association",
    "rule_shape",
    "vpc_companions",
]

log = logging.getLogger(__name__)

# What AWS gives every new group: all traffic out to anywhere.
ALL_TRAFFIC_EGRESS: dict[str, Any] = {"IpProtocol": "-1", "CidrIpv4": "0.0.0.0/0"}


def new_vpc(account: str, region: str, cidr: str, is_default: bool, tags: list[Any]) -> Doc:
    vpc_id = new_id("vpc-")
    return {
        "VpcId": vpc_id,
        "OwnerId": account,
        "State": "available",
        "CidrBlock": cidr,
        "CidrBlockAssociationSet": [
            {
                "AssociationId": new_id("vpc-cidr-assoc-"),
                "CidrBlock": cidr,
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "Ipv6CidrBlockAssociationSet": [],
        "DhcpOptionsId": new_id("dopt-"),
        "InstanceTenancy": "default",
        "IsDefault": is_default,
        "Tags": tags,
    }


def new_subnet(
    account: str,
    region: str,
    vpc_id: str,
    cidr: str,
    zone: Zone,
    default_for_az: bool,
    tags: list[Any],
) -> Doc:
    subnet_id = new_id("subnet-")
    return {
        "SubnetId": subnet_id,
        "SubnetArn": f"arn:aws:ec2:{region}:{account}:subnet/{subnet_id}",
        "VpcId": vpc_id,
        "OwnerId": account,
        "State": "available",
        "CidrBlock": cidr,
        "AvailabilityZone": zone.name,
        "AvailabilityZoneId": zone.zone_id,
        "DefaultForAz": default_for_az,
        "MapPublicIpOnLaunch": default_for_az,
        "MapCustomerOwnedIpOnLaunch": False,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "Ipv6Native": False,
        "EnableDns64": False,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
        "Tags": tags,
    }


def new_rule(fields: dict[str, Any], egress: bool) -> dict[str, Any]:
    return {"SecurityGroupRuleId": new_id("sgr-"), "IsEgress": egress, **fields}


def new_sg(
    account: str,
    region: str,
    vpc_id: str,
    name: str,
    description: str,
    tags: list[Any],
) -> Doc:
    group_id = new_id("sg-")
    rules = [new_rule(ALL_TRAFFIC_EGRESS, egress=True)]
    if name == "default":
        # The default group lets its own members talk to each other.
        rules.insert(
            0,
            new_rule(
                {
                    "IpProtocol": "-1",
                    "ReferencedGroupInfo": {"GroupId": group_id, "UserId": account},
                },
                egress=False,
            ),
        )
    return {
        "GroupId": group_id,
        "GroupName": name,
        "Description": description,
        "VpcId": vpc_id,
        "OwnerId": account,
        "SecurityGroupArn": f"arn:aws:ec2:{region}:{account}:security-group/{group_id}",
        "Tags": tags,
        "_rules": rules,
    }


def rule_shape(group: Doc, rule: dict[str, Any]) -> dict[str, Any]:
    """The SecurityGroupRule shape, as Authorize*/DescribeSecurityGroupRules answer it."""
    arn = group["SecurityGroupArn"].replace(
        f"security-group/{group['GroupId']}", f"security-group-rule/{rule['SecurityGroupRuleId']}"
    )
    out: dict[str, Any] = {
        "SecurityGroupRuleId": rule["SecurityGroupRuleId"],
        "GroupId": group["GroupId"],
        "GroupOwnerId": group["OwnerId"],
        "IsEgress": rule["IsEgress"],
        "IpProtocol": rule["IpProtocol"],
        "FromPort": rule.get("FromPort", -1),
        "ToPort": rule.get("ToPort", -1),
        "Tags": [],
        "SecurityGroupRuleArn": arn,
    }
    for key in ("CidrIpv4", "CidrIpv6", "PrefixListId", "ReferencedGroupInfo", "Description"):
        if key in rule:
            out[key] = rule[key]
    return out


def _peer(rule: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    extra = {"Description": rule["Description"]} if "Description" in rule else {}
    if "CidrIpv4" in rule:
        return "IpRanges", {"CidrIp": rule["CidrIpv4"], **extra}
    if "CidrIpv6" in rule:
        return "Ipv6Ranges", {"CidrIpv6": rule["CidrIpv6"], **extra}
    if "PrefixListId" in rule:
        return "PrefixListIds", {"PrefixListId": rule["PrefixListId"], **extra}
    return "UserIdGroupPairs", {**rule["ReferencedGroupInfo"], **extra}


def _permissions(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rule in rules:
        key = (rule["IpProtocol"], rule.get("FromPort"), rule.get("ToPort"))
        perm = grouped.get(key)
        if perm is None:
            perm = {
                "IpProtocol": rule["IpProtocol"],
                "IpRanges": [],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
                "UserIdGroupPairs": [],
            }
            if "FromPort" in rule:
                perm["FromPort"], perm["ToPort"] = rule["FromPort"], rule["ToPort"]
            grouped[key] = perm
        where, peer = _peer(rule)
        perm[where].append(peer)
    return list(grouped.values())


def group_shape(doc: Doc) -> dict[str, Any]:
    out = public(doc)
    out["IpPermissions"] = _permissions([r for r in doc["_rules"] if not r["IsEgress"]])
    out["IpPermissionsEgress"] = _permissions([r for r in doc["_rules"] if r["IsEgress"]])
    return out


# -- route tables, network ACLs, peerings ---------------------------------------------


def new_route_table(account: str, vpc: Doc, tags: list[Any]) -> Doc:
    """A route table with the local route for each of the VPC's CIDR blocks."""
    return {
        "RouteTableId": new_id("rtb-"),
        "VpcId": vpc["VpcId"],
        "OwnerId": account,
        "Routes": [local_route(c) for c in vpc_cidrs(vpc)],
        "Associations": [],
        "PropagatingVgws": [],
        "Tags": tags,
    }


def route_table_association(route_table_id: str, subnet_id: str | None) -> dict[str, Any]:
    """A subnet's explicit association, or (``subnet_id`` None) the VPC's Main one."""
    association: dict[str, Any] = {
        "Main": subnet_id is None,
        "RouteTableAssociationId": new_id("rtbassoc-"),
        "RouteTableId": route_table_id,
        "AssociationState": {"State": "associated"},
    }
    if subnet_id is not None:
        association["SubnetId"] = subnet_id
    return association


def new_network_acl(account: str, vpc_id: str, is_default: bool, tags: list[Any]) -> Doc:
    """A VPC's default ACL (allows all) or a new one (denies all until given entries)."""
    return {
        "NetworkAclId": new_id("acl-"),
        "VpcId": vpc_id,
        "OwnerId": account,
        "IsDefault": is_default,
        "Entries": default_acl_entries() if is_default else deny_all_entries(),
        "Associations": [],
        "Tags": tags,
    }


def acl_association(acl_id: str, subnet_id: str) -> dict[str, Any]:
    return {
        "NetworkAclAssociationId": new_id("aclassoc-"),
        "NetworkAclId": acl_id,
        "SubnetId": subnet_id,
    }


def vpc_companions(account: str, vpc: Doc, subnet_ids: list[str]) -> tuple[Doc, Doc]:
    """What AWS makes with every VPC: its main route table and its default network ACL,
    the given subnets associated with the ACL."""
    table = new_route_table(account, vpc, [])
    table["Associations"].append(route_table_association(table["RouteTableId"], None))
    acl = new_network_acl(account, vpc["VpcId"], True, [])
    acl["Associations"] = [acl_association(acl["NetworkAclId"], s) for s in subnet_ids]
    return table, acl


def peering_side(owner: str, region: str, vpc_id: str, vpc: Doc | None) -> dict[str, Any]:
    """A VpcPeeringConnectionVpcInfo; without CIDRs when the VPC does not exist."""
    side: dict[str, Any] = {"OwnerId": owner, "VpcId": vpc_id, "Region": region}
    if vpc is not None:
        blocks = vpc_cidrs(vpc)
        side["CidrBlock"] = blocks[0]
        side["CidrBlockSet"] = [{"CidrBlock": b} for b in blocks]
        side["Ipv6CidrBlockSet"] = []
    return side


def new_peering(
    requester: dict[str, Any],
    accepter: dict[str, Any],
    status: dict[str, str],
    tags: list[Any],
    expires: str | None,
) -> Doc:
    doc: Doc = {
        "VpcPeeringConnectionId": new_id("pcx-"),
        "RequesterVpcInfo": requester,
        "AccepterVpcInfo": accepter,
        "Status": status,
        "Tags": tags,
    }
    if expires:
        doc["ExpirationTime"] = expires
    return doc
