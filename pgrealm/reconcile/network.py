"""Makes the kernel network what the records say: a router namespace per VPC with hosts,
a namespace per host, peering links, route tables and the nft tables (reconcile/netplan.py
derives the specs, engines/netns makes them).

The whole plan is derived afresh each pass and compared with what was last applied, so a
changed rule, route or peering reaches the kernel within a pass (the API kicks the runner
after each write), and a namespace that vanished (a reboot empties /run/netns) is made
again. Namespaces of this stack that the plan no longer has are removed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import IO, Protocol

from pgrealm.config import Settings
from pgrealm.engines import netns
from pgrealm.engines.sockets import LDAPS_PORT, dns_answers, ldaps_bind, tcp_open, tls_problem
from pgrealm.errors import StoreError
from pgrealm.gateways.network import stack_net
from pgrealm.reconcile.netplan import Plan, plan
from pgrealm.reconcile.runner import Key
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = ["HostNetwork", "NetworkReconciler"]

log = logging.getLogger(__name__)


class HostNetwork(Protocol):
    """What the directory and instance reconcilers ask of the network (a fake in units)."""

    def realise_host(self, account: str, region: str, host_ip: str) -> str: ...

    def first_closed(
        self, namespace: str, address: str, zone: str, ports: Sequence[tuple[str, int]]
    ) -> tuple[str, int] | None: ...

    def ldap_bind(self, namespace: str, address: str, user: str, password: str) -> int | None: ...
    def ldaps_problem(
        self, namespace: str | None, address: str, cadata: str, hostname: str | None
    ) -> str | None: ...


_STALE = "-"  # the account of a key that names a namespace to remove
_PASSES = 3  # realise_host: a peering's link is made by the second of its routers
_PROBE_TIMEOUT = 1.5  # a blocked port drops packets: waiting longer tells nothing more


class NetworkReconciler:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.stack = stack_net(settings)
        self._applied: dict[str, object] = {}  # router namespace -> the spec last applied
        self._lock = threading.Lock()
        self._claim: IO[str] | None = None

    @property
    def kind(self) -> str:
        return Kind.VPC

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer: this server's threads, and any other process on the stack's network
        (``pgrealm vpc exec``). The records are read inside, so the last writer applies
        the newest ones (two routers share each peering link)."""
        with self._lock, netns.locked(self.stack):
            yield

    def pending(self) -> list[Key]:
        current = plan(self.store, self.stack)
        present = netns.namespaces(self.stack.prefix)
        keys: list[Key] = []
        for key, spec in current.routers.items():
            hosts_there = {spec.namespace, *(h.namespace for h in spec.hosts)} <= present
            if self._applied.get(spec.namespace) != spec or not hosts_there:
                keys.append(key)
        keys += [(_STALE, "", ns) for ns in sorted(present - current.namespaces())]
        return keys

    def reconcile(self, key: Key) -> None:
        with self._writing():
            current = plan(self.store, self.stack)
            if key[0] == _STALE:
                # Seen stale before the lock: a host may have come since (vpc exec).
                if key[2] not in current.namespaces():
                    self._applied.pop(key[2], None)
                    netns.forget(self.stack, key[2])
                return
            self._apply(key, current)

    def _apply(self, key: Key, current: Plan) -> None:
        spec = current.routers.get(key)
        if spec is None:
            return  # its last host went while this waited: the stale pass removes it
        if netns.apply_router(self.stack, spec):
            self._applied[spec.namespace] = spec

    def realise_host(self, account: str, region: str, host_ip: str) -> str:
        """Bring every router up to date now, this host's VPC included (before its process
        starts, or a probe from it runs: the far side's routes and groups count too)."""
        if self.store.get(Kind.ADDRESS, account, region, host_ip) is None:
            raise LookupError(f"no host address {host_ip} in {account}/{region}")
        for _ in range(_PASSES):  # a router applied before its peer existed needs another
            keys = self.pending()
            for key in keys:
                self.reconcile(key)
            if not keys:
                break
        return self.stack.host_namespace(host_ip)

    def first_closed(
        self, namespace: str, address: str, zone: str, ports: Sequence[tuple[str, int]]
    ) -> tuple[str, int] | None:
        """From inside ``namespace``: the first of ``ports`` ((protocol, port); udp only
        for 53, with a real query for ``zone``) that ``address`` does not answer on."""

        def probe() -> tuple[str, int] | None:
            for protocol, port in ports:
                if protocol == "udp":
                    ok = dns_answers(address, zone, _PROBE_TIMEOUT)
                else:
                    ok = tcp_open(address, port, _PROBE_TIMEOUT)
                if not ok:
                    return (protocol, port)
            return None

        return netns.in_namespace(namespace, probe)

    def ldap_bind(self, namespace: str, address: str, user: str, password: str) -> int | None:
        """From inside ``namespace``: an LDAPS simple bind's resultCode (None: no answer)."""
        return netns.in_namespace(
            namespace, lambda: ldaps_bind(address, user, password, _PROBE_TIMEOUT)
        )

    def ldaps_problem(
        self, namespace: str | None, address: str, cadata: str, hostname: str | None
    ) -> str | None:
        """From inside ``namespace`` (None: this machine's own): why an LDAPS client that
        trusts only ``cadata`` refuses ``address`` (None: it accepts it)."""

        def probe() -> str | None:
            return tls_problem(address, LDAPS_PORT, cadata, hostname, _PROBE_TIMEOUT)

        return probe() if namespace is None else netns.in_namespace(namespace, probe)

    def forget_host(self, host_ip: str) -> None:
        """A host whose address was released: its namespace goes, its router forgets it."""
        with self._writing():
            netns.forget(self.stack, self.stack.host_namespace(host_ip))
            current = plan(self.store, self.stack)
            for key, spec in current.routers.items():
                if self._applied.get(spec.namespace) != spec:
                    self._apply(key, current)

    def start(self, owner: str) -> None:
        """At server start, before any process: the block (one live stack each), the
        blackhole, then every VPC."""
        self._claim = netns.claim(self.stack, owner)
        if self._claim is None:
            raise StoreError(
                f"the host block {self.stack.block} is in use by another running pgrealm "
                f"stack ({netns.claimed_by(self.stack)}); give this one a PGREALM_HOST_BLOCK "
                "of its own."
            )
        netns.ensure_blackhole(self.stack.block)
        for key in self.pending():
            self.reconcile(key)

    def teardown(self) -> None:
        """At server stop, after the processes: every namespace of this stack goes (the
        next start makes them again from the records); the blackhole stays, so nothing
        sent to a host address while the stack is down leaves the machine."""
        with self._writing():
            for ns in sorted(netns.namespaces(self.stack.prefix)):
                netns.forget(self.stack, ns)
            self._applied.clear()
