"""Namespaces, veths, addresses and routes, made with iproute2 and idempotent: each
function looks at what is there and adds only what is missing, so a reconciler resumed
after a crash (or after a reboot emptied /run/netns) just calls it again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pgrealm.engines._exec import run
from pgrealm.engines.netns.spec import HOST_GATEWAY, HostPort, PeerLink, RouterSpec, StackNet

__all__ = [
    "ensure_blackhole",
    "ensure_host",
    "ensure_peer_link",
    "ensure_router",
    "namespaces",
    "remove_blackhole",
    "remove_namespace",
    "set_policy_routes",
]

log = logging.getLogger(__name__)

IP = "/bin/ip"
NFT = "/usr/sbin/nft"
SYSCTL = "/sbin/sysctl"
NSENTER = "/usr/bin/nsenter"
NETNS_DIR = Path("/run/netns")
# Policy routing inside a router: the main table minus its default route first (the VPC's
# own hosts, the machine), then each subnet's route table, then the blackhole default.
_MAIN_PREF = 100
_SUBNET_PREF = 1000
_DROP_PREF, _DROP_TABLE = 32000, "99"


def _ip(*args: str, ns: str | None = None, check: bool = True) -> str:
    argv = [IP, *(["-n", ns] if ns else []), *args]
    return run(argv, timeout=30, check=check).stdout


def _json(*args: str, ns: str | None = None) -> list[dict[str, Any]]:
    out = _ip("-j", *args, ns=ns)
    return list(json.loads(out)) if out.strip() else []


def namespaces(prefix: str) -> set[str]:
    """The named namespaces starting with ``prefix`` (read from /run/netns)."""
    if not NETNS_DIR.is_dir():
        return set()
    return {p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix)}


def _ensure_namespace(ns: str, sysctls: dict[str, str]) -> bool:
    """Make ``ns`` with lo up and ``sysctls`` set; False if it was already there."""
    if (NETNS_DIR / ns).exists():
        return False
    _ip("netns", "add", ns)
    _ip("link", "set", "lo", "up", ns=ns)
    # No IPv6 at all: pgrealm routes IPv4 only, and nothing may slip past that.
    settings = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
    settings.update(sysctls)
    run([IP, "netns", "exec", ns, SYSCTL, "-q", "-w", *(f"{k}={v}" for k, v in settings.items())])
    return True


def remove_namespace(ns: str) -> None:
    """Delete ``ns`` and every veth with an end in it; gone already is fine."""
    if (NETNS_DIR / ns).exists():
        _ip("netns", "delete", ns, check=False)
        log.info("netns %s removed", ns)


def _links(ns: str | None) -> set[str]:
    return {link["ifname"] for link in _json("link", "show", ns=ns)}


def _ensure_address(ns: str | None, dev: str, address: str) -> None:
    present = {
        a["local"] for link in _json("addr", "show", "dev", dev, ns=ns) for a in link["addr_info"]
    }
    if address not in present:
        _ip("addr", "add", f"{address}/32", "dev", dev, ns=ns)


def _remake_pair(ns: str | None, name: str, peer_ns: str, peer: str) -> None:
    """A veth ``name`` in ``ns`` whose other end is ``peer`` in ``peer_ns``, made afresh:
    either end left alone by a crash or a killed server (a namespace of the same name
    outlives it) is removed first."""
    _ip("link", "delete", name, ns=ns, check=False)
    _ip("link", "delete", peer, ns=peer_ns, check=False)
    _ip("link", "add", name, "type", "veth", "peer", "name", peer, "netns", peer_ns, ns=ns)


def ensure_blackhole(block: str) -> None:
    """Before any VPC: a packet for the stack's block that no VPC claims dies here."""
    _ip("route", "replace", "blackhole", block)


def remove_blackhole(block: str) -> None:
    _ip("route", "delete", "blackhole", block, check=False)


def ensure_router(stack: StackNet, spec: RouterSpec) -> None:
    made = _ensure_namespace(
        spec.namespace,
        {
            "net.ipv4.ip_forward": "1",
            "net.ipv4.conf.all.rp_filter": "0",
            "net.ipv4.conf.default.rp_filter": "0",
        },
    )
    if made or "uplink0" not in _links(spec.namespace) or spec.uplink not in _links(None):
        _remake_pair(None, spec.uplink, spec.namespace, "uplink0")
    _ensure_address(None, spec.uplink, stack.gateway)
    _ip("link", "set", spec.uplink, "up")
    _ensure_address(spec.namespace, "uplink0", stack.router)
    _ip("link", "set", "uplink0", "up", ns=spec.namespace)
    _ip("route", "replace", f"{stack.gateway}/32", "dev", "uplink0", ns=spec.namespace)
    # What no route covers is dropped (and the router's "unreachable" answer too, in its
    # nft table: a client times out, as in a VPC). In a table of its own, looked up last:
    # a blackhole in main would end every lookup at the main-table rule (the kernel does
    # not suppress a blackhole's error).
    _ip("route", "delete", "blackhole", "default", ns=spec.namespace, check=False)
    _ip("route", "replace", "blackhole", "default", "table", _DROP_TABLE, ns=spec.namespace)
    if not any(r.get("priority") == _DROP_PREF for r in _json("rule", "show", ns=spec.namespace)):
        _ip("rule", "add", "pref", str(_DROP_PREF), "lookup", _DROP_TABLE, ns=spec.namespace)
    wanted = {host.host_ip for host in spec.hosts}
    for route in _json("route", "show", "dev", spec.uplink):
        if route.get("gateway") and route["dst"] not in wanted:  # a host that went
            _ip("route", "delete", route["dst"], "dev", spec.uplink, check=False)
    for host in spec.hosts:
        _ip("route", "replace", f"{host.host_ip}/32", "via", stack.router, "dev", spec.uplink,
            "onlink", "src", stack.gateway)  # fmt: skip
    if made:
        log.info("netns %s made (uplink %s)", spec.namespace, spec.uplink)


def ensure_host(router_ns: str, host: HostPort) -> None:
    """The host's namespace, its veth to the router, its address and default route."""
    made = _ensure_namespace(host.namespace, {})
    if made or host.port not in _links(router_ns) or "eth0" not in _links(host.namespace):
        _remake_pair(router_ns, host.port, host.namespace, "eth0")
    _ensure_address(router_ns, host.port, HOST_GATEWAY)
    _ip("link", "set", host.port, "up", ns=router_ns)
    _ensure_address(host.namespace, "eth0", host.vpc_ip)
    _ip("link", "set", "eth0", "up", ns=host.namespace)
    _ip("route", "replace", "default", "via", HOST_GATEWAY, "dev", "eth0", "onlink",
        ns=host.namespace)  # fmt: skip
    _ip("route", "replace", f"{host.vpc_ip}/32", "dev", host.port, ns=router_ns)
    if made:
        log.info("netns %s made (%s; machine side %s)", host.namespace, host.vpc_ip, host.host_ip)


def ensure_peer_link(router_ns: str, link: PeerLink) -> None:
    """One veth between two routers; the side that finds it missing makes both ends (once
    the other router exists: until then, its own apply makes the link)."""
    if not (NETNS_DIR / link.remote_namespace).exists():
        return
    if link.name not in _links(router_ns):
        if link.name in _links(link.remote_namespace):
            _ip("link", "delete", link.name, ns=link.remote_namespace)
        _ip("link", "add", link.name, "type", "veth", "peer", "name", link.name,
            "netns", link.remote_namespace, ns=router_ns)  # fmt: skip
        # The far router may be applied already (it was first, before this one existed):
        # its end would stay down, and the first packets over the peering be lost, until
        # its next apply.
        _ready_peer_end(link.remote_namespace, link.name)
    _ready_peer_end(router_ns, link.name)


def _ready_peer_end(router_ns: str, name: str) -> None:
    # Proxy ARP answers for this router's hosts, at once (the kernel otherwise waits up to
    # 0.8 s, which the first connection over a peering would pay). The far router asks
    # from an address every router has (its uplink's), a martian here without accept_local.
    run([IP, "netns", "exec", router_ns, SYSCTL, "-q", "-w",
         f"net.ipv4.conf.{name}.proxy_arp=1",
         f"net.ipv4.neigh.{name}.proxy_delay=0",
         f"net.ipv4.conf.{name}.accept_local=1"])  # fmt: skip
    _ip("link", "set", name, "up", ns=router_ns)


def remove_stale_links(spec: RouterSpec) -> None:
    """Host ports and peer links the spec no longer has (a deleted host or peering)."""
    wanted = {"lo", "uplink0"} | {h.port for h in spec.hosts} | {p.name for p in spec.peer_links}
    for name in _links(spec.namespace) - wanted:
        _ip("link", "delete", name, ns=spec.namespace, check=False)


def set_policy_routes(spec: RouterSpec) -> bool:
    """Replace the router's subnet rules and route tables with the spec's; False if a
    route's peer link is not there yet (the other router makes it: apply again then)."""
    ns = spec.namespace
    for rule in _json("rule", "show", ns=ns):
        if _MAIN_PREF <= rule.get("priority", 0) < _SUBNET_PREF + 1000:
            _ip("rule", "delete", "pref", str(rule["priority"]), ns=ns)
    for table in {t for _, t in spec.subnet_tables} | {t for t, _, _ in spec.routes}:
        _ip("route", "flush", "table", str(table), ns=ns, check=False)
    _ip("rule", "add", "pref", str(_MAIN_PREF), "lookup", "main", "suppress_prefixlength", "0",
        ns=ns)  # fmt: skip
    for offset, (cidr, table) in enumerate(spec.subnet_tables):
        _ip("rule", "add", "pref", str(_SUBNET_PREF + offset), "from", cidr, "lookup", str(table),
            ns=ns)  # fmt: skip
    present = _links(ns)
    complete = True
    for table, destination, link in spec.routes:
        if link not in present:
            complete = False
        else:
            _ip("route", "replace", destination, "dev", link, "table", str(table), ns=ns)
    return complete
