"""The kernel network of a stack: a network namespace per VPC (its router) and per host,
veths between them, policy routes for route tables and peerings, and an nft table per
router for security groups and network ACLs (spec.py draws it).

This module is the local network engine (``NetworkEngine`` in engines/interfaces.py).
``apply_router`` is idempotent and cheap when nothing changed: it remembers the digest of
what it last applied to each router.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pgrealm.engines._exec import run
from pgrealm.engines.netns import nft
from pgrealm.engines.netns.links import (
    IP,
    NETNS_DIR,
    NFT,
    NSENTER,
    ensure_blackhole,
    ensure_host,
    ensure_peer_link,
    ensure_router,
    namespaces,
    remove_blackhole,
    remove_namespace,
    remove_stale_links,
    set_policy_routes,
)
from pgrealm.engines.netns.probe import in_namespace
from pgrealm.engines.netns.spec import (
    AclEntry,
    FirewallSpec,
    HostPort,
    PeerLink,
    RouterSpec,
    SgRule,
    StackNet,
    peer_link_name,
    port_name,
)

__all__ = [
    "AclEntry",
    "FirewallSpec",
    "HostPort",
    "PeerLink",
    "RouterSpec",
    "SgRule",
    "StackNet",
    "apply_router",
    "claim",
    "claimed_by",
    "ensure_blackhole",
    "forget",
    "in_namespace",
    "locked",
    "namespaces",
    "peer_link_name",
    "port_name",
    "remove_blackhole",
    "remove_namespace",
    "wrap",
]

log = logging.getLogger(__name__)

_applied: dict[str, str] = {}  # router namespace -> digest of its routes and table
_lock = threading.Lock()
_LOCK_DIR = Path("/run/lock")


@contextlib.contextmanager
def locked(stack: StackNet) -> Iterator[None]:
    """One writer at a time for a stack's network, threads and processes alike: the
    server and a ``pgrealm vpc exec`` both make links that two routers share. Callers read
    the records while they hold it, so the last writer always applies the newest ones."""
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    with _lock, open(_LOCK_DIR / f"pgrealm-net-{stack.tag}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def apply_router(stack: StackNet, spec: RouterSpec) -> bool:
    """Make the router, its hosts and peer links, routes and table what ``spec`` says;
    False if part of it waits for another router (apply again after that one). The
    caller holds :func:`locked`."""
    ensure_blackhole(stack.block)
    ensure_router(stack, spec)
    for host in spec.hosts:
        ensure_host(spec.namespace, host)
    for link in spec.peer_links:
        ensure_peer_link(spec.namespace, link)
    remove_stale_links(spec)
    digest = hashlib.sha256(
        repr((spec.subnet_tables, spec.routes, spec.peer_links, spec.firewall)).encode()
    ).hexdigest()
    if _applied.get(spec.namespace) == digest:
        return True
    complete = set_policy_routes(spec)
    table = nft.render(spec.firewall)
    run([IP, "netns", "exec", spec.namespace, NFT, "-f", "-"], input=table)
    if complete:
        _applied[spec.namespace] = digest
    log.info("netns %s: routes and table applied", spec.namespace)
    return complete


def claim(stack: StackNet, owner: str) -> IO[str] | None:
    """Hold the stack's block for as long as the returned file stays open (the process's
    life); None if another live process holds it. Namespaces are named after the block:
    a second stack on it would take the first one's as its own, and remove them."""
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    handle = open(_LOCK_DIR / f"pgrealm-block-{stack.tag}.lock", "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{owner}\n")
    handle.flush()
    return handle


def claimed_by(stack: StackNet) -> str:
    """Who holds the block (the home its holder wrote), for the refusal's message."""
    try:
        return (_LOCK_DIR / f"pgrealm-block-{stack.tag}.lock").read_text().strip() or "?"
    except OSError:
        return "?"


def wrap(namespace: str, argv: list[str]) -> list[str]:
    """``argv`` run inside a named namespace (nsenter execs it: same PID)."""
    return [NSENTER, f"--net={NETNS_DIR / namespace}", "--", *argv]


def forget(stack: StackNet, namespace: str) -> None:
    """A removed router or host: applying it again starts from nothing (the caller holds
    :func:`locked`)."""
    _applied.pop(namespace, None)
    remove_namespace(namespace)
