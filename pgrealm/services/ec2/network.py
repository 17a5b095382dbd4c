"""Where VPC addresses live on this machine: default networks and address allocation.

Every VPC is realised on its own /16 of the loopback block (``PGREALM_LOOPBACK_BLOCK``,
default 127.64.0.0/10), and a host keeps its offset inside the VPC CIDR there:
172.31.0.10 in a VPC realised on 127.65.0.0/16 is reachable as 127.65.0.10. A VPC
gets its /16 only when its first address is allocated, so the default VPCs of
untouched regions cost nothing. 127.0.0.0/16 is never used: Debian services listen
on 127.0.0.1, and systemd-resolved on 127.0.0.53.

Other services call this module directly (no HTTP). None of its methods may be called
inside an open store transaction: each takes its own (SQLite has no nesting).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from typing import Any

from pgrealm.services.ec2._common import (
    ADDRESS,
    DEFAULTS,
    REALISED,
    SG,
    SUBNET,
    VPC,
    group_not_found,
    public,
    subnet_not_found,
)
from pgrealm.services.ec2.records import new_sg, new_subnet, new_vpc
from pgrealm.services.ec2.zones import zones
from pgrealm.services.errors import CommonError
from pgrealm.store import Doc, Store

__all__ = ["DEFAULT_BLOCK", "DEFAULT_VPC_CIDR", "Network"]

log = logging.getLogger(__name__)

DEFAULT_BLOCK = "127.64.0.0/10"
DEFAULT_VPC_CIDR = "172.31.0.0/16"
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_RESERVED = ipaddress.IPv4Network("127.0.0.0/16")
# AWS reserves the first four addresses of every subnet and the last one.
_RESERVED_HEAD = 4


class Network:
    """Default VPCs, subnet lookups and loopback address allocation for EC2's callers."""

    def __init__(self, store: Store, block: ipaddress.IPv4Network) -> None:
        if not block.subnet_of(_LOOPBACK) or block.prefixlen > 16:
            raise ValueError(f"loopback block {block} must be a /16 or larger inside 127.0.0.0/8")
        self.store = store
        self.block = block

    @classmethod
    def from_env(cls, store: Store) -> Network:
        block = os.environ.get("PGREALM_LOOPBACK_BLOCK", DEFAULT_BLOCK)
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
            for subnet_cidr, zone in zip(base.subnets(new_prefix=20), zones(region), strict=False):
                subnet = new_subnet(account, region, vpc["VpcId"], str(subnet_cidr), zone, True, [])
                self.store.put(SUBNET, account, region, subnet["SubnetId"], subnet)
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

    # -- lookups --------------------------------------------------------------------
    def subnet_shape(self, account: str, region: str, doc: Doc) -> dict[str, Any]:
        """The Subnet shape, with AvailableIpAddressCount counted from allocations."""
        size = ipaddress.IPv4Network(doc["CidrBlock"]).num_addresses
        addresses = self.store.list(ADDRESS, account, region)
        used = sum(1 for a in addresses if a["SubnetId"] == doc["SubnetId"])
        return {**public(doc), "AvailableIpAddressCount": size - _RESERVED_HEAD - 1 - used}

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
        self, account: str, region: str, subnet_id: str, purpose: str
    ) -> tuple[str, str]:
        """Take the next free host address of a subnet: (VPC address, realised address)."""
        self.ensure_defaults(account, region)
        with self.store.transaction():
            subnet = self.store.get(SUBNET, account, region, subnet_id)
            if subnet is None:
                raise subnet_not_found(subnet_id)
            vpc = self.store.get(VPC, account, region, subnet["VpcId"])
            assert vpc is not None, "a subnet outlived its VPC"
            base = self._realised_base(account, region, vpc)
            vpc_ip = self._free_host(account, region, subnet)
            vpc_net = ipaddress.IPv4Network(vpc["CidrBlock"])
            realised = base + (int(vpc_ip) - int(vpc_net.network_address))
            self.store.put(
                ADDRESS,
                account,
                region,
                str(realised),
                {
                    "VpcIp": str(vpc_ip),
                    "RealisedIp": str(realised),
                    "SubnetId": subnet_id,
                    "VpcId": vpc["VpcId"],
                    "Purpose": purpose,
                },
            )
        log.info("address %s (%s in %s) allocated for %s", realised, vpc_ip, subnet_id, purpose)
        return str(vpc_ip), str(realised)

    def _free_host(self, account: str, region: str, subnet: Doc) -> ipaddress.IPv4Address:
        taken = {
            a["VpcIp"]
            for a in self.store.list(ADDRESS, account, region)
            if a["SubnetId"] == subnet["SubnetId"]
        }
        net = ipaddress.IPv4Network(subnet["CidrBlock"])
        for offset in range(_RESERVED_HEAD, net.num_addresses - 1):
            candidate = net.network_address + offset
            if str(candidate) not in taken:
                return candidate
        raise CommonError(
            "InsufficientFreeAddressesInSubnet",
            f"There are not enough free addresses in subnet '{subnet['SubnetId']}' to satisfy "
            "the requested number of instances.",
        )

    def _realised_base(self, account: str, region: str, vpc: Doc) -> ipaddress.IPv4Address:
        """The VPC's realised /16 base, assigned now if it has none (inside a transaction)."""
        if vpc.get("_realised"):
            return ipaddress.IPv4Network(vpc["_realised"]).network_address
        used = {d["Block"] for d in self.store.list(REALISED, "", "")}
        for candidate in self.block.subnets(new_prefix=16):
            if candidate.overlaps(_RESERVED) or str(candidate) in used:
                continue
            self.store.put(
                REALISED,
                "",
                "",
                str(candidate),
                {
                    "Block": str(candidate),
                    "Account": account,
                    "Region": region,
                    "VpcId": vpc["VpcId"],
                },
            )
            vpc["_realised"] = str(candidate)
            self.store.put(VPC, account, region, vpc["VpcId"], vpc)
            log.info("VPC %s realised on %s", vpc["VpcId"], candidate)
            return candidate.network_address
        raise CommonError(
            "VpcLimitExceeded",
            f"The loopback block {self.block} has no free /16 left to realise VPC "
            f"'{vpc['VpcId']}'. Delete unused VPCs or widen PGREALM_LOOPBACK_BLOCK.",
        )

    def release_address(self, account: str, region: str, realised_ip: str) -> None:
        """Give an allocated address back; releasing an unknown address is a no-op."""
        if self.store.delete(ADDRESS, account, region, realised_ip):
            log.info("address %s released", realised_ip)

    def release_vpc_block(self, vpc: Doc) -> None:
        """Free a deleted VPC's realised /16 (called inside the delete's transaction)."""
        if vpc.get("_realised"):
            self.store.delete(REALISED, "", "", vpc["_realised"])
