"""Host addresses of VPCs on this machine: which are taken, and where each VPC is realised.

Every VPC that has hosts is realised on its own /16 of the stack's block
(``PGREALM_LOOPBACK_BLOCK``), and a host keeps its offset inside the VPC's CIDR there:
172.31.0.10 in a VPC realised on 127.65.0.0/16 is reachable as 127.65.0.10. A VPC takes
its /16 with its first address and gives it back with its last, so the block bounds the
VPCs that have hosts at one time, never how many have had one. 127.0.0.0/16 is never
used: Debian's services listen on 127.0.0.1, systemd-resolved on 127.0.0.53.

Both the services (a new directory or instance takes addresses) and the reconcilers
(a deleted one gives them back) use this. None of its methods may be called inside an
open store transaction: each takes its own (SQLite has no nesting).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = ["AddressAllocator", "BlockExhausted", "NoSuchSubnet", "SubnetFull"]

log = logging.getLogger(__name__)

_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_RESERVED = ipaddress.IPv4Network("127.0.0.0/16")
# AWS reserves the first four addresses of every subnet and the last one.
RESERVED_HEAD = 4


class NoSuchSubnet(LookupError):
    def __init__(self, subnet_id: str) -> None:
        super().__init__(subnet_id)
        self.subnet_id = subnet_id


class SubnetFull(Exception):
    def __init__(self, subnet_id: str) -> None:
        super().__init__(subnet_id)
        self.subnet_id = subnet_id


class BlockExhausted(Exception):
    """No /16 of the stack's block is free for another VPC."""

    def __init__(self, vpc_id: str, block: ipaddress.IPv4Network) -> None:
        super().__init__(vpc_id)
        self.vpc_id = vpc_id
        self.block = block


class AddressAllocator:
    def __init__(self, store: Store, block: ipaddress.IPv4Network) -> None:
        if not block.subnet_of(_LOOPBACK) or block.prefixlen > 16:
            raise ValueError(f"loopback block {block} must be a /16 or larger inside 127.0.0.0/8")
        self.store = store
        self.block = block

    def allocate(self, account: str, region: str, subnet_id: str, purpose: str) -> tuple[str, str]:
        """Take the next free host address of a subnet: (VPC address, realised address)."""
        with self.store.transaction():
            subnet = self.store.get(Kind.SUBNET, account, region, subnet_id)
            if subnet is None:
                raise NoSuchSubnet(subnet_id)
            vpc = self.store.get(Kind.VPC, account, region, subnet["VpcId"])
            assert vpc is not None, "a subnet outlived its VPC"
            base = self._realised_base(account, region, vpc)
            vpc_ip = self._free_host(account, region, subnet)
            vpc_net = ipaddress.IPv4Network(vpc["CidrBlock"])
            realised = base + (int(vpc_ip) - int(vpc_net.network_address))
            record = {
                "VpcIp": str(vpc_ip),
                "RealisedIp": str(realised),
                "SubnetId": subnet_id,
                "VpcId": vpc["VpcId"],
                "Purpose": purpose,
            }
            self.store.put(Kind.ADDRESS, account, region, str(realised), record)
        log.info("address %s (%s in %s) allocated for %s", realised, vpc_ip, subnet_id, purpose)
        return str(vpc_ip), str(realised)

    def release(self, account: str, region: str, realised_ip: str) -> None:
        """Give an address back, and its VPC's /16 with the VPC's last one; releasing an
        unknown address is a no-op."""
        with self.store.transaction():
            record = self.store.get(Kind.ADDRESS, account, region, realised_ip)
            if record is None:
                return
            self.store.delete(Kind.ADDRESS, account, region, realised_ip)
            vpc_id = record["VpcId"]
            others = [
                a for a in self.store.list(Kind.ADDRESS, account, region) if a["VpcId"] == vpc_id
            ]
            vpc = self.store.get(Kind.VPC, account, region, vpc_id)
            if not others and vpc is not None:
                self.release_vpc_block(vpc)
                vpc.pop("_realised", None)
                self.store.put(Kind.VPC, account, region, vpc_id, vpc)
        log.info("address %s released", realised_ip)

    def release_vpc_block(self, vpc: dict[str, Any]) -> None:
        """Free a VPC's realised /16 (inside the caller's transaction)."""
        if vpc.get("_realised"):
            self.store.delete(Kind.REALISED, "", "", vpc["_realised"])
            log.info("VPC %s no longer realised on %s", vpc["VpcId"], vpc["_realised"])

    def used_in(self, account: str, region: str, subnet_id: str) -> int:
        return sum(
            1 for a in self.store.list(Kind.ADDRESS, account, region) if a["SubnetId"] == subnet_id
        )

    def _free_host(
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

    def _realised_base(
        self, account: str, region: str, vpc: dict[str, Any]
    ) -> ipaddress.IPv4Address:
        """The VPC's realised /16 base, assigned now if it has none (inside a transaction)."""
        if vpc.get("_realised"):
            return ipaddress.IPv4Network(vpc["_realised"]).network_address
        used = {d["Block"] for d in self.store.list(Kind.REALISED, "", "")}
        for candidate in self.block.subnets(new_prefix=16):
            if candidate.overlaps(_RESERVED) or str(candidate) in used:
                continue
            record = {
                "Block": str(candidate),
                "Account": account,
                "Region": region,
                "VpcId": vpc["VpcId"],
            }
            self.store.put(Kind.REALISED, "", "", str(candidate), record)
            vpc["_realised"] = str(candidate)
            self.store.put(Kind.VPC, account, region, vpc["VpcId"], vpc)
            log.info("VPC %s realised on %s", vpc["VpcId"], candidate)
            return candidate.network_address
        raise BlockExhausted(vpc["VpcId"], self.block)
