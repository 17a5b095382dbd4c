"""Host addresses: each host (a DC, a DB instance, a `vpc exec` client) has two.

- Its **VPC address**, in its subnet's CIDR, as AWS shows it (DnsIpAddrs, the ENI's
  PrivateIpAddress). CIDRs overlap between VPCs, as on AWS (every default VPC is
  172.31.0.0/16), so a VPC address means something only inside its VPC's namespace.
- Its **host address**, unique on this machine, from the stack's host block
  (``PGREALM_HOST_BLOCK``). The machine reaches the host there, like a workstation on a
  VPN into every VPC; the VPC's router namespace maps it to the VPC address (see
  engines/netns). It plays the part of the ENI's public address.

The block's first addresses are the links' (:class:`HostBlock`); hosts take the rest, one
address each, so the block bounds the hosts of a stack, never the number of VPCs: a /16
holds 65,000 hosts in as many VPCs as they like.

Both the services (a new directory or instance takes addresses) and the reconcilers
(a deleted one gives them back) use this. None of its methods may be called inside an
open store transaction: each takes its own (SQLite has no nesting).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from pgrealm.config import DEFAULT_HOST_BLOCK
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = [
    "DEFAULT_HOST_BLOCK",
    "AddressAllocator",
    "BlockExhausted",
    "HostBlock",
    "NoSuchSubnet",
    "SubnetFull",
]

log = logging.getLogger(__name__)

# AWS reserves the first four addresses of every subnet and the last one.
RESERVED_HEAD = 4
# The host block's own first addresses: the links between the machine and its VPCs.
_LINK_ADDRESSES = 16


@dataclass(frozen=True)
class HostBlock:
    """The stack's host block and the two link addresses every VPC's uplink uses."""

    network: ipaddress.IPv4Network

    def __post_init__(self) -> None:
        if self.network.prefixlen > 24 or self.network.is_loopback:
            raise ValueError(f"host block {self.network} must be a /24 or larger, not loopback")

    @property
    def gateway(self) -> str:
        """The machine's end of every uplink (the source of its traffic into VPCs)."""
        return str(self.network.network_address + 1)

    @property
    def router(self) -> str:
        """Every VPC router's end of its uplink."""
        return str(self.network.network_address + 2)

    def hosts(self) -> range:
        """Offsets of the addresses hosts may take."""
        return range(_LINK_ADDRESSES, self.network.num_addresses - 1)


class NoSuchSubnet(LookupError):
    def __init__(self, subnet_id: str) -> None:
        super().__init__(subnet_id)
        self.subnet_id = subnet_id


class SubnetFull(Exception):
    def __init__(self, subnet_id: str) -> None:
        super().__init__(subnet_id)
        self.subnet_id = subnet_id


class BlockExhausted(Exception):
    """Every host address of the stack's block is taken."""

    def __init__(self, block: ipaddress.IPv4Network) -> None:
        super().__init__(str(block))
        self.block = block


def loopback_hosts(store: Store) -> int:
    """Hosts recorded by a pgrealm from before VPC namespaces (a loopback address each):
    their DCs were provisioned with that address in their DNS, so they cannot move."""
    return sum(1 for a in store.list(Kind.ADDRESS) if "HostIp" not in a)


def interface_id(host_ip: str) -> str:
    """A stable eni id for a host address (the stack's addresses are unique)."""
    return "eni-" + hashlib.sha256(host_ip.encode()).hexdigest()[:17]


class AddressAllocator:
    def __init__(self, store: Store, block: ipaddress.IPv4Network) -> None:
        self.store = store
        self.block = HostBlock(block)

    def allocate(
        self,
        account: str,
        region: str,
        subnet_id: str,
        purpose: str,
        description: str = "",
        security_groups: list[str] | None = None,
    ) -> tuple[str, str]:
        """Take the next free address of a subnet and of the host block: (VPC, host)."""
        with self.store.transaction():
            subnet = self.store.get(Kind.SUBNET, account, region, subnet_id)
            if subnet is None:
                raise NoSuchSubnet(subnet_id)
            vpc_ip = self._free_in_subnet(account, region, subnet)
            host_ip = self._free_host_ip()
            record = {
                "VpcIp": str(vpc_ip),
                "HostIp": host_ip,
                "SubnetId": subnet_id,
                "VpcId": subnet["VpcId"],
                "Purpose": purpose,
                "OwnerId": account,
                "Region": region,
                "InterfaceId": interface_id(host_ip),
                "Description": description,
                "SecurityGroupIds": list(security_groups or []),
            }
            self.store.put(Kind.ADDRESS, account, region, host_ip, record)
        log.info("address %s (%s in %s) allocated for %s", host_ip, vpc_ip, subnet_id, purpose)
        return str(vpc_ip), host_ip

    def set_security_groups(
        self, account: str, region: str, host_ip: str, group_ids: list[str]
    ) -> None:
        """The host's security groups changed (ModifyDBInstance --vpc-security-group-ids)."""
        with self.store.transaction():
            record = self.store.get(Kind.ADDRESS, account, region, host_ip)
            if record is not None:
                record["SecurityGroupIds"] = list(group_ids)
                self.store.put(Kind.ADDRESS, account, region, host_ip, record)

    def release(self, account: str, region: str, host_ip: str) -> None:
        """Give an address back; releasing an unknown address is a no-op."""
        with self.store.transaction():
            if self.store.get(Kind.ADDRESS, account, region, host_ip) is None:
                return
            self.store.delete(Kind.ADDRESS, account, region, host_ip)
        log.info("address %s released", host_ip)

    def used_in(self, account: str, region: str, subnet_id: str) -> int:
        return sum(
            1 for a in self.store.list(Kind.ADDRESS, account, region) if a["SubnetId"] == subnet_id
        )

    def _free_in_subnet(
        self, account: str, region: str, subnet: dict[str, Any]
    ) -> ipaddress.IPv4Address:
        taken = {
            a["VpcIp"]
            for a in self.store.list(Kind.ADDRESS, account, region)
            if a["SubnetId"] == subnet["SubnetId"]
        }
        net = ipaddress.IPv4Network(subnet["CidrBlock"])
        for offset in range(RESERVED_HEAD, net.num_addresses - 1):
            candidate = net.network_address + offset
            if str(candidate) not in taken:
                return candidate
        raise SubnetFull(subnet["SubnetId"])

    def _free_host_ip(self) -> str:
        """The lowest free address of the block, across every account and region."""
        taken = {a["HostIp"] for a in self.store.list(Kind.ADDRESS)}
        base = self.block.network.network_address
        for offset in self.block.hosts():
            candidate = str(base + offset)
            if candidate not in taken:
                return candidate
        raise BlockExhausted(self.block.network)
