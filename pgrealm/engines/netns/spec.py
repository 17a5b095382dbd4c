"""What the kernel network of one stack is made of: frozen specs the reconciler derives
from the store and the engine makes real.

    machine (host namespace)                 one router namespace per VPC with hosts
    ------------------------                 ----------------------------------------
    blackhole <host block>                   uplink0 ---- the machine's ``uplink`` veth
    <host ip>/32 via router dev uplink       h<hex> ---- eth0 of each host's namespace
                                             p<hex> ---- p<hex> of a peered VPC's router
                                             blackhole default (silent: nft.py)

A host (DC, DB instance, ``vpc exec`` client) has a namespace of its own, with its VPC
address on eth0 and a default route to its VPC's router: one ENI. The router forwards
between its hosts, its peerings and the machine, and enforces security groups and
network ACLs in its nft table (nft.py). Nothing here knows about AWS's records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = [
    "HOST_GATEWAY",
    "AclEntry",
    "FirewallSpec",
    "HostPort",
    "PeerLink",
    "RouterSpec",
    "SgRule",
    "StackNet",
]

# The router's address on every host port: each host's default gateway. Link-local, so no
# VPC CIDR can hold it (AWS refuses 169.254.0.0/16 for VPCs).
HOST_GATEWAY = "169.254.1.1"


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class StackNet:
    """One stack's names and link addresses; ``tag`` keeps two stacks' names apart."""

    tag: str  # 6 hex digits, from the stack's host block
    block: str  # the host block, blackholed on the machine
    gateway: str  # the machine's end of every uplink
    router: str  # every router's end of its uplink

    @classmethod
    def for_block(cls, block: str, gateway: str, router: str) -> StackNet:
        return cls(_hex(block, 6), block, gateway, router)

    @property
    def prefix(self) -> str:
        """Every namespace of this stack starts with it."""
        return f"pgr{self.tag}-"

    def router_namespace(self, vpc_id: str) -> str:
        return f"{self.prefix}{vpc_id}"

    def host_namespace(self, host_ip: str) -> str:
        return f"{self.prefix}h-{host_ip}"

    def uplink(self, vpc_id: str) -> str:
        """The machine's end of a VPC's uplink: unique on the machine, <= 15 chars."""
        return "pu" + _hex(self.tag + vpc_id, 13)


def port_name(host_ip: str) -> str:
    """The router's end of a host's veth (unique inside its router)."""
    return "h" + "".join(f"{int(o):02x}" for o in host_ip.split("."))


def peer_link_name(pcx_id: str) -> str:
    return "p" + _hex(pcx_id, 12)


@dataclass(frozen=True)
class HostPort:
    namespace: str
    port: str  # the router's end
    vpc_ip: str
    host_ip: str


@dataclass(frozen=True)
class PeerLink:
    """A veth between two routers, without addresses: a route names the link, and each
    router answers ARP on it for its own hosts (proxy ARP), so a router with many
    peerings needs no address plan for them."""

    name: str
    remote_namespace: str


@dataclass(frozen=True)
class SgRule:
    """What one security group rule lets through, towards (egress) or from (ingress)
    ``peers``: CIDRs or the addresses of a referenced group's members."""

    peers: tuple[str, ...]
    protocol: str  # "-1" (all), "tcp", "udp", "icmp"
    from_port: int = -1
    to_port: int = -1


@dataclass(frozen=True)
class AclEntry:
    """One network ACL entry; ``cidr`` is the far side (the source coming in, the
    destination going out). Entries are evaluated in rule-number order, first match wins."""

    number: int
    allow: bool
    cidr: str
    protocol: str
    from_port: int = -1
    to_port: int = -1


@dataclass(frozen=True)
class FirewallSpec:
    """A router's table: each host's rules by port, each subnet's ACL by CIDR."""

    ingress: dict[str, tuple[SgRule, ...]] = field(default_factory=dict)
    egress: dict[str, tuple[SgRule, ...]] = field(default_factory=dict)
    acl_in: dict[str, tuple[AclEntry, ...]] = field(default_factory=dict)
    acl_out: dict[str, tuple[AclEntry, ...]] = field(default_factory=dict)
    dnat: dict[str, str] = field(default_factory=dict)  # host address -> VPC address


@dataclass(frozen=True)
class RouterSpec:
    namespace: str
    uplink: str
    hosts: tuple[HostPort, ...]
    peer_links: tuple[PeerLink, ...]
    # (subnet CIDR, kernel table) and (kernel table, destination, peer link) of routes to
    # peered VPCs; the VPC's own CIDR and the machine are in the main table.
    subnet_tables: tuple[tuple[str, int], ...]
    routes: tuple[tuple[int, str, str], ...]
    firewall: FirewallSpec
