"""EC2 DescribeNetworkInterfaces over the host addresses pgrealm hands out.

Each host (a directory's DC, a DB instance) holds one address record (model/addresses.py);
EC2 shows it as a requester-managed interface of the service that asked for it: its VPC
address as the private address and its host address, which this machine reaches it on,
as the interface's public address. Fields a record lacks are derived: the interface id
from the record's key, the description and requester from its purpose, in the words
RDS and Directory Service give their interfaces.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._base import Ec2Base
from pgrealm.services.ec2._common import (
    ADDRESS,
    Getter,
    check_dry_run,
    filtered,
    flag,
)
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page
from pgrealm.store import Doc

__all__ = ["InterfaceOps"]

log = logging.getLogger(__name__)


def _at(*path: str) -> Getter:
    def get(doc: Doc) -> list[str]:
        value: Any = doc
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return []
            value = value[key]
        return flag(value) if isinstance(value, bool) else [str(value)]

    return get


_FILTERS: dict[str, Getter] = {
    "network-interface-id": _at("NetworkInterfaceId"),
    "vpc-id": _at("VpcId"),
    "subnet-id": _at("SubnetId"),
    "description": _at("Description"),
    "private-ip-address": _at("PrivateIpAddress"),
    "addresses.private-ip-address": lambda d: [
        a["PrivateIpAddress"] for a in d["PrivateIpAddresses"]
    ],
    "addresses.primary": lambda d: [flag(a["Primary"])[0] for a in d["PrivateIpAddresses"]],
    "addresses.association.public-ip": lambda d: [
        a["Association"]["PublicIp"] for a in d["PrivateIpAddresses"] if "Association" in a
    ],
    "association.public-ip": _at("Association", "PublicIp"),
    "association.ip-owner-id": _at("Association", "IpOwnerId"),
    "group-id": lambda d: [g["GroupId"] for g in d["Groups"]],
    "group-name": lambda d: [g["GroupName"] for g in d["Groups"]],
    "availability-zone": _at("AvailabilityZone"),
    "availability-zone-id": _at("AvailabilityZoneId"),
    "owner-id": _at("OwnerId"),
    "status": _at("Status"),
    "interface-type": _at("InterfaceType"),
    "requester-id": _at("RequesterId"),
    "requester-managed": _at("RequesterManaged"),
    "source-dest-check": _at("SourceDestCheck"),
    "mac-address": _at("MacAddress"),
    "private-dns-name": _at("PrivateDnsName"),
    "attachment.attachment-id": _at("Attachment", "AttachmentId"),
    "attachment.status": _at("Attachment", "Status"),
    "attachment.instance-owner-id": _at("Attachment", "InstanceOwnerId"),
}


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _interface_id(key: str, record: Doc) -> str:
    # A record without one gets the id the allocator would give it: stable across calls.
    return str(record.get("InterfaceId") or "eni-" + _digest(key)[:17])


def _mac(interface_id: str) -> str:
    # Locally administered unicast (02:...), stable per interface, as EC2's look.
    octets = _digest(interface_id)[:10]
    return "02:" + ":".join(octets[i : i + 2] for i in range(0, 10, 2))


def _service(purpose: str) -> str:
    """Who asked for the address: 'rds/<id>' for a DB instance, 'd-.../dcN' for a DC."""
    if purpose.startswith("rds/"):
        return "rds"
    if purpose.startswith("d-"):
        return "ds"
    return ""


def _description(record: Doc) -> str:
    if record.get("Description"):
        return str(record["Description"])
    purpose = str(record.get("Purpose", ""))
    service = _service(purpose)
    if service == "rds":
        return "RDSNetworkInterface"
    if service == "ds":
        return f"AWS created network interface for directory {purpose.split('/')[0]}"
    return purpose


def _requester(record: Doc) -> str:
    if record.get("RequesterId"):
        return str(record["RequesterId"])
    service = _service(str(record.get("Purpose", "")))
    return f"amazon-{service}" if service else "amazon"


def _private_dns(address: str, region: str) -> str:
    """EC2's private name for an address: us-east-1 has its own domain."""
    if not address:
        return ""
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{address.replace('.', '-')}.{domain}"


def _attachment(interface_id: str, requester: str) -> dict[str, Any]:
    """The service's own attachment of its interface (EC2 shows RDS's so)."""
    return {
        "AttachmentId": "ela-attach-" + _digest(interface_id)[:17],
        "DeleteOnTermination": False,
        "DeviceIndex": 1,
        "NetworkCardIndex": 0,
        "InstanceOwnerId": requester,
        "Status": "attached",
    }


def _interface(
    ctx: RequestContext, key: str, record: Doc, subnet: Doc, names: dict[str, str]
) -> dict[str, Any]:
    """The NetworkInterface shape of one address record (``subnet``: its subnet, or {})."""
    eni = _interface_id(key, record)
    private_ip = str(record.get("VpcIp", ""))
    dns = _private_dns(private_ip, ctx.region)
    primary: dict[str, Any] = {
        "Primary": True,
        "PrivateIpAddress": private_ip,
        "PrivateDnsName": dns,
    }
    shape: dict[str, Any] = {
        "NetworkInterfaceId": eni,
        "Attachment": _attachment(eni, _requester(record)),
        "AvailabilityZone": subnet.get("AvailabilityZone", ""),
        "AvailabilityZoneId": subnet.get("AvailabilityZoneId", ""),
        "Description": _description(record),
        "Groups": [
            {"GroupId": g, "GroupName": names.get(g, "")}
            for g in record.get("SecurityGroupIds") or []
        ],
        "InterfaceType": "interface",
        "Ipv6Addresses": [],
        "MacAddress": _mac(eni),
        "OwnerId": ctx.account_id,
        "PrivateDnsName": dns,
        "PrivateIpAddress": private_ip,
        "PrivateIpAddresses": [primary],
        "RequesterId": _requester(record),
        "RequesterManaged": True,
        "SourceDestCheck": True,
        "Status": "in-use",
        "SubnetId": str(record.get("SubnetId", "")),
        "TagSet": [],
        "VpcId": str(record.get("VpcId") or subnet.get("VpcId", "")),
    }
    # The machine address is where this machine reaches the host, as a public address
    # reaches an ENI from outside its VPC.
    host_ip = record.get("HostIp")
    if host_ip:
        shape["Association"] = {
            "IpOwnerId": "amazon",
            "PublicDnsName": "",
            "PublicIp": str(host_ip),
        }
        primary["Association"] = dict(shape["Association"])
    return shape


class InterfaceOps(Ec2Base):
    """DescribeNetworkInterfaces (mixed into Ec2Service)."""

    def _interfaces(self, ctx: RequestContext) -> list[dict[str, Any]]:
        subnets = {s["SubnetId"]: s for s in self._subnets(ctx)}
        names = {g["GroupId"]: g["GroupName"] for g in self._groups(ctx)}
        return [
            _interface(ctx, key, record, subnets.get(str(record.get("SubnetId")), {}), names)
            for (account, region, key), record in self.store.items(ADDRESS)
            if (account, region) == (ctx.account_id, ctx.region)
        ]

    def describe_network_interfaces(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        shapes = self._interfaces(ctx)
        ids = params.get("NetworkInterfaceIds")
        if ids:
            by_id = {s["NetworkInterfaceId"]: s for s in shapes}
            for eni in ids:
                if eni not in by_id:
                    raise CommonError(
                        "InvalidNetworkInterfaceID.NotFound",
                        f"The networkInterface ID '{eni}' does not exist",
                    )
            shapes = [by_id[i] for i in dict.fromkeys(ids)]
        shapes = filtered(shapes, params.get("Filters"), _FILTERS)
        return page("ec2", "DescribeNetworkInterfaces", shapes, params)
