"""A router's nft table: the host-address mapping, security groups and network ACLs.

The table is ``inet pgrealm`` inside the router's own namespace, and it is replaced in
one nft transaction, so a change applies to the next packet and the machine's own tables
are never touched. Security groups are stateful (conntrack passes the rest of an allowed
flow); ACLs are stateless and checked on every packet, replies included, as on AWS.

Packets a rule does not allow are dropped, never rejected: a client waits and times out,
as it does against a VPC.
"""

from __future__ import annotations

from collections.abc import Iterable

from pgrealm.engines.netns.spec import AclEntry, FirewallSpec, SgRule

__all__ = ["render"]

TABLE = "pgrealm"
_PROTOCOLS = {"tcp", "udp", "icmp"}


def render(fw: FirewallSpec) -> str:
    """The whole table as ``nft -f`` input, deleting the previous one in the same run."""
    chains = [_prerouting(fw), _forward(fw), _quiet()]
    chains += [_chain(f"egress_{p}", _sg_lines(r, "daddr")) for p, r in sorted(fw.egress.items())]
    chains += [_chain(f"ingress_{p}", _sg_lines(r, "saddr")) for p, r in sorted(fw.ingress.items())]
    chains += [
        _chain(f"acl_in_{_cidr_tag(c)}", _acl_lines(entries, "saddr"))
        for c, entries in sorted(fw.acl_in.items())
    ]
    chains += [
        _chain(f"acl_out_{_cidr_tag(c)}", _acl_lines(entries, "daddr"))
        for c, entries in sorted(fw.acl_out.items())
    ]
    body = "\n".join(chains)
    return f"table inet {TABLE}\ndelete table inet {TABLE}\ntable inet {TABLE} {{\n{body}\n}}\n"


def _chain(name: str, lines: Iterable[str], hook: str = "") -> str:
    inner = "".join(f"    {line}\n" for line in ([hook] if hook else []) + list(lines))
    return f"  chain {name} {{\n{inner}  }}"


def _prerouting(fw: FirewallSpec) -> str:
    lines = []
    if fw.dnat:
        pairs = ", ".join(f"{h} : {v}" for h, v in sorted(fw.dnat.items()))
        lines.append(f'iifname "uplink0" dnat ip to ip daddr map {{ {pairs} }}')
    return _chain("prerouting", lines, "type nat hook prerouting priority dstnat; policy accept;")


def _quiet() -> str:
    """The router never says "unreachable": a VPC drops what it cannot route, silently,
    and the client waits (the kernel answers a blackhole route with ICMP otherwise)."""
    return _chain(
        "output",
        ["icmp type destination-unreachable drop"],
        "type filter hook output priority filter; policy accept;",
    )


def _forward(fw: FirewallSpec) -> str:
    lines = [
        # The machine is a workstation on a VPN into every VPC: it reaches every host.
        'iifname "uplink0" accept',
        'oifname "uplink0" ct state established,related accept',
        'oifname "uplink0" drop',
        # Peering is not transitive.
        'iifname "p*" oifname "p*" drop',
    ]
    for cidr in sorted(fw.acl_out):
        lines.append(f"ip saddr {cidr} ip daddr != {cidr} jump acl_out_{_cidr_tag(cidr)}")
    for cidr in sorted(fw.acl_in):
        lines.append(f"ip daddr {cidr} ip saddr != {cidr} jump acl_in_{_cidr_tag(cidr)}")
    lines += ["ct state established,related accept", "ct state invalid drop"]
    if fw.egress:
        pairs = ", ".join(f'"{p}" : jump egress_{p}' for p in sorted(fw.egress))
        lines.append(f"iifname vmap {{ {pairs} }}")
    if fw.ingress:
        pairs = ", ".join(f'"{p}" : jump ingress_{p}' for p in sorted(fw.ingress))
        lines.append(f"oifname vmap {{ {pairs} }}")
    lines.append("accept")
    return _chain("forward", lines, "type filter hook forward priority filter; policy drop;")


def _match(direction: str, peers: Iterable[str], protocol: str, lo: int, hi: int) -> str:
    """``ip saddr {...} tcp dport 88-89`` and the like; "" if ``peers`` is empty."""
    peers = sorted(set(peers))
    if not peers:
        return ""
    parts = [f"ip {direction} {{ {', '.join(peers)} }}"]
    if protocol in ("tcp", "udp"):
        parts.append(f"meta l4proto {protocol}")
        if lo >= 0 and not (lo == 0 and hi == 65535):
            parts.append(f"th dport {lo}" if lo == hi else f"th dport {lo}-{hi}")
    elif protocol == "icmp":
        parts.append("meta l4proto icmp")
    elif protocol != "-1":
        parts.append(f"meta l4proto {int(protocol)}")
    return " ".join(parts)


def _sg_lines(rules: tuple[SgRule, ...], direction: str) -> list[str]:
    """Any rule that matches lets the packet on (``return``); none: dropped."""
    lines = []
    for rule in rules:
        match = _match(direction, rule.peers, rule.protocol, rule.from_port, rule.to_port)
        if match:
            lines.append(f"{match} return")
    return [*lines, "drop"]


def _acl_lines(entries: tuple[AclEntry, ...], direction: str) -> list[str]:
    lines = []
    for entry in sorted(entries, key=lambda e: e.number):
        match = _match(direction, [entry.cidr], entry.protocol, entry.from_port, entry.to_port)
        lines.append(f"{match} {'return' if entry.allow else 'drop'}")
    return [*lines, "drop"]  # the '*' rule


def _cidr_tag(cidr: str) -> str:
    return cidr.replace(".", "_").replace("/", "_")
