"""EC2's network as the other services see it: default VPCs, subnet and group lookups, and
host addresses (allocated by pgrealm/model/addresses.py, refused in EC2's words here).

Other services call this module directly (no HTTP). None of its methods may be called
inside an open store transaction: each takes its own (SQLite has no nesting).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from typing import Any

from pgrealm.model.addresses import (
    DEFAULT_HOST_BLOCK,
    RESERVED_HEAD,
    AddressAllocator,
    BlockExhausted,
    NoSuchSubnet,
    SubnetFull,
)
from pgrealm.services.ec2._common import (
    ACL,
    DEFAULTS,
    RTB,
    SG,
    SUBNET,
    VPC,
    group_not_found,
    public,
    subnet_not_found,
)
from pgrealm.services.ec2.records import new_sg, new_subnet, new_vpc, vpc_companions
from pgrealm.services.ec2.zones import zones
from pgrealm.services.errors import CommonError
from pgrealm.store import Doc, Store

__all__ = ["DEFAULT_BLOCK", "DEFAULT_VPC_CIDR", "Network"]

log = logging.getLogger(__name__)

DEFAULT_BLOCK = DEFAULT_HOST_BLOCK
DEFAULT_VPC_CIDR = "172.31.0.0/16"


class Network:
    """Default VPCs, subnet lookups and host address allocation for EC2's callers."""

    def __init__(self, store: Store, block: ipaddress.IPv4Network) -> None:
        self.store = store
        self.block = block
        self.addresses = AddressAllocator(store, block)

    @classmethod
    def from_env(cls, store: Store) -> Network:
        block = os.environ.get("PGREALM_HOST_BLOCK", DEFAULT_BLOCK)
        return cls(store, ipaddress.IPv4Network(block))

    # -- defaults -------------------------------------------------------------------
    def ensure_defaults(self, account: str, region: str) -> None:
        """Make the default VPC, its subnets and default group once per account+region."""
        if self.store.get(DEFAULTS, account, region, "defaults") is not None:
            return
        with self.store.transaction():
            # Re-check under the write lock: a concurrent first request may have won.
            if self.store.get(DEFAULTS, account, region, "defaults") is not None:
                return
            vpc = new_vpc(account, region, DEFAULT_VPC_CIDR, True, [])
            self.store.put(VPC, account, region, vpc["VpcId"], vpc)
            self._put_group(
                new_sg(account, region, vpc["VpcId"], "default", "default VPC security group", []),
                account,
                region,
            )
            base = ipaddress.IPv4Network(DEFAULT_VPC_CIDR)
            subnet_ids: list[str] = []
            for subnet_cidr, zone in zip(base.subnets(new_prefix=20), zones(region), strict=False):
                subnet = new_subnet(account, region, vpc["VpcId"], str(subnet_cidr), zone, True, [])
                self.store.put(SUBNET, account, region, subnet["SubnetId"], subnet)
                subnet_ids.append(subnet["SubnetId"])
            # Its main route table and default network ACL, as every VPC has.
            table, acl = vpc_companions(account, vpc, subnet_ids)
            self.store.put(RTB, account, region, table["RouteTableId"], table)
            self.store.put(ACL, account, region, acl["NetworkAclId"], acl)
            # The marker outlives the default VPC: a deleted default VPC stays deleted.
            self.store.put(DEFAULTS, account, region, "defaults", {"VpcId": vpc["VpcId"]})
        log.info("default VPC %s made for account %s in %s", vpc["VpcId"], account, region)

    def _put_group(self, group: Doc, account: str, region: str) -> None:
        self.store.put(SG, account, region, group["GroupId"], group)

    def default_vpc_id(self, account: str, region: str) -> str | None:
        self.ensure_defaults(account, region)
        for vpc in self.store.list(VPC, account, region):
            if vpc["IsDefault"]:
                return str(vpc["VpcId"])
        return None

    def default_group_id(self, account: str, region: str, vpc_id: str) -> str:
        """The VPC's default security group (every VPC has one from its creation)."""
        for group in self.store.list(SG, account, region):
            if group["VpcId"] == vpc_id and group["GroupName"] == "default":
                return str(group["GroupId"])
        raise group_not_found("default")

    # -- lookups --------------------------------------------------------------------
    def subnet_shape(self, account: str, region: str, doc: Doc) -> dict[str, Any]:
        """The Subnet shape, with AvailableIpAddressCount counted from allocations."""
        size = ipaddress.IPv4Network(doc["CidrBlock"]).num_addresses
        used = self.addresses.used_in(account, region, doc["SubnetId"])
        return {**public(doc), "AvailableIpAddressCount": size - RESERVED_HEAD - 1 - used}

    def get_subnets(self, account: str, region: str, subnet_ids: list[str]) -> list[dict[str, Any]]:
        """The Subnet shapes of ``subnet_ids``, in order (InvalidSubnetID.NotFound if absent)."""
        self.ensure_defaults(account, region)
        found = []
        for subnet_id in subnet_ids:
            doc = self.store.get(SUBNET, account, region, subnet_id)
            if doc is None:
                raise subnet_not_found(subnet_id)
            found.append(self.subnet_shape(account, region, doc))
        return found

    def default_subnets(self, account: str, region: str) -> list[dict[str, Any]]:
        """The default VPC's default-for-AZ subnets by zone; [] if the default VPC was deleted."""
        vpc_id = self.default_vpc_id(account, region)
        subnets = [
            s
            for s in self.store.list(SUBNET, account, region)
            if s["VpcId"] == vpc_id and s["DefaultForAz"]
        ]
        subnets.sort(key=lambda s: s["AvailabilityZone"])
        return [self.subnet_shape(account, region, s) for s in subnets]

    def get_security_groups(self, account: str, region: str, group_ids: list[str]) -> list[Doc]:
        """The stored groups ``group_ids`` (GroupId, GroupName, VpcId ...); NotFound if missing."""
        self.ensure_defaults(account, region)
        found = []
        for group_id in group_ids:
            doc = self.store.get(SG, account, region, group_id)
            if doc is None:
                raise group_not_found(group_id)
            found.append(public(doc))
        return found

    # -- addresses ------------------------------------------------------------------
    def allocate_address(
        self,
        account: str,
        region: str,
        subnet_id: str,
        purpose: str,
        description: str = "",
        security_groups: list[str] | None = None,
    ) -> tuple[str, str]:
        """Take the next free address of a subnet for a new host's ENI: (VPC address,
        machine-side address), the allocator's refusals in EC2's words."""
        self.ensure_defaults(account, region)
        try:
            return self.addresses.allocate(
                account, region, subnet_id, purpose, description, security_groups
            )
        except NoSuchSubnet as exc:
            raise subnet_not_found(exc.subnet_id) from exc
        except SubnetFull as exc:
            raise CommonError(
                "InsufficientFreeAddressesInSubnet",
                f"There are not enough free addresses in subnet '{exc.subnet_id}' to satisfy "
                "the requested number of instances.",
            ) from exc
        except BlockExhausted as exc:
            raise CommonError(
                "InsufficientFreeAddressesInSubnet",
                f"Every address of this machine's host block {exc.block} is taken. Delete "
                "unused directories or DB instances, or widen PGREALM_HOST_BLOCK.",
            ) from exc

    def release_address(self, account: str, region: str, host_ip: str) -> None:
        self.addresses.release(account, region, host_ip)

    def set_security_groups(
        self, account: str, region: str, host_ip: str, group_ids: list[str]
    ) -> None:
        self.addresses.set_security_groups(account, region, host_ip, group_ids)
