"""``make bench-network`` (``python -m bench.network``): what pgrealm's kernel network
costs, measured on the engine alone (engines/netns, no pgrealm server).

- VPC creation: ``apply_router`` for a new VPC with one host (router namespace, uplink
  veth, host namespace and its veth, routes, nft table), one by one for the first 20,
  and in total for N of them (default 200): whether it slows as namespaces pile up.
- Memory per VPC: MemAvailable and Slab from /proc/meminfo before and after the N VPCs,
  over N. It is kernel memory that no process maps, so PSS (procmem.py) cannot see it.
- Connect time inside one VPC against across a peering: TCP connect, one byte each way
  and close, 500 times from a second host of the VPC and from a host of a peered VPC,
  to an echo server on a host of the first. It is reported as a ratio of medians taken
  in one run, because absolute times depend on the machine (CPU, kernel, load); the
  ratio isolates what a peering adds per connection: a second router namespace, one more
  veth, its conntrack and nft chains. It has no target of its own: the target (within 5%)
  is for what a user waits for, a Kerberos login across a peering, which
  ``python -m bench.peering`` measures on a real stack (bench/results/peering.md).

The routers are built as reconcile/netplan.py builds them for a VPC with one subnet: an
allow-all security group on every host, the default network ACL, the machine's DNAT map.
Everything lives in a host block of its own (``PGREALM_BENCH_NET_BLOCK``, default
198.19.160.0/20) and in namespaces named with its stack prefix, all removed in
``finally``. Needs root. The table goes to stdout and bench/results/network.md.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

from bench.stats import percentile
from pgrealm.engines import netns
from pgrealm.engines.netns import (
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
from pgrealm.gateways.network import stack_for_block
from pgrealm.model.addresses import HostBlock

RESULTS = Path(__file__).resolve().parent / "results" / "network.md"
BLOCK = os.environ.get("PGREALM_BENCH_NET_BLOCK", "198.19.160.0/20")  # nobody else's
FIRST = 20  # VPCs whose creation times are summarised one by one
ECHO_PORT = 7
BATCH = 50  # round trips per client before the other client takes its turn
WARM_UP = 20
ALLOW_ALL = (SgRule(("0.0.0.0/0",), "-1"),)
DEFAULT_ACL = (AclEntry(100, True, "0.0.0.0/0", "-1"),)  # a default VPC's, as on AWS
SUBNET_TABLE = 100  # netplan's first kernel table
PCX = "pcx-bench"


@dataclass(frozen=True)
class Vpc:
    vpc_id: str
    cidr: str  # the VPC's, and its one subnet's
    hosts: tuple[tuple[str, str], ...]  # (VPC address, host address) each


@dataclass
class Results:
    date: str
    kernel: str
    cpus: int
    block: str
    vpcs: int
    load_start: float
    create_s: list[float] = field(default_factory=list)
    total_s: float = 0.0
    memory_kib: dict[str, int] = field(default_factory=dict)  # /proc/meminfo field -> delta
    connect_s: dict[str, list[float]] = field(default_factory=dict)
    teardown_s: float = 0.0
    leftovers: list[str] = field(default_factory=list)
    load_end: float = 0.0


# -- the network ------------------------------------------------------------------------
def host_addresses(block: HostBlock) -> Iterator[str]:
    base = block.network.network_address
    return (str(base + offset) for offset in block.hosts())


def router_spec(stack: StackNet, vpc: Vpc, peer: Vpc | None = None) -> RouterSpec:
    """The router netplan would plan for ``vpc``, peered with ``peer`` if given (a link
    and a route to its CIDR in the subnet's table, as a route table entry makes)."""
    ports = tuple(HostPort(stack.host_namespace(h), port_name(h), v, h) for v, h in vpc.hosts)
    links: tuple[PeerLink, ...] = ()
    routes: tuple[tuple[int, str, str], ...] = ()
    if peer is not None:
        links = (PeerLink(peer_link_name(PCX), stack.router_namespace(peer.vpc_id)),)
        routes = ((SUBNET_TABLE, peer.cidr, peer_link_name(PCX)),)
    firewall = FirewallSpec(
        ingress={p.port: ALLOW_ALL for p in ports},
        egress={p.port: ALLOW_ALL for p in ports},
        acl_in={vpc.cidr: DEFAULT_ACL},
        acl_out={vpc.cidr: DEFAULT_ACL},
        dnat={p.host_ip: p.vpc_ip for p in ports},
    )
    namespace, uplink = stack.router_namespace(vpc.vpc_id), stack.uplink(vpc.vpc_id)
    return RouterSpec(
        namespace, uplink, ports, links, ((vpc.cidr, SUBNET_TABLE),), routes, firewall
    )


def apply_until_complete(stack: StackNet, specs: list[RouterSpec]) -> None:
    """A peer link is made by whichever router comes second, so the first one's routes
    wait for another pass, as they do in the reconciler."""
    for _ in range(3):
        specs = [s for s in specs if not netns.apply_router(stack, s)]
        if not specs:
            return
    raise RuntimeError(f"routers still incomplete: {[s.namespace for s in specs]}")


def leftovers(stack: StackNet) -> list[str]:
    """This block's namespaces and routes on the machine (the blackhole, host routes)."""
    routes = subprocess.run(
        ["ip", "route", "list", "root", stack.block],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.splitlines()
    return sorted(netns.namespaces(stack.prefix)) + [r.strip() for r in routes if r.strip()]


def teardown(stack: StackNet) -> float:
    """Every namespace of the benchmark's stack (their veths and the machine's routes
    through them go too), then the blackhole; seconds it took."""
    start = time.perf_counter()
    try:
        for ns in sorted(netns.namespaces(stack.prefix)):
            netns.forget(stack, ns)
    finally:
        netns.remove_blackhole(stack.block)
    return time.perf_counter() - start


def wait_gone(stack: StackNet, limit: float = 30.0) -> list[str]:
    """What is left after the teardown, once the kernel has had time: it destroys a
    deleted namespace's devices later, in a work queue, and their routes with them."""
    deadline = time.monotonic() + limit
    while (left := leftovers(stack)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


# -- 1 to 3: creation time and memory -----------------------------------------------------
def meminfo() -> dict[str, int]:
    """/proc/meminfo, in KiB (the page counts of huge pages aside)."""
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0])
    return fields


def create_vpcs(stack: StackNet, vpcs: list[Vpc]) -> list[float]:
    """Seconds of ``apply_router`` for each new VPC, in order."""
    times = []
    for number, vpc in enumerate(vpcs, 1):
        spec = router_spec(stack, vpc)
        start = time.perf_counter()
        if not netns.apply_router(stack, spec):
            raise RuntimeError(f"{vpc.vpc_id}: apply_router incomplete without peerings")
        times.append(time.perf_counter() - start)
        if number % 50 == 0:
            print(f"  {number} VPCs, last one {times[-1] * 1000:.0f} ms", flush=True)
    return times


def measure_creation(res: Results, stack: StackNet, addresses: Iterator[str]) -> None:
    # Every VPC takes 172.31.0.0/16, as every default VPC does: CIDRs overlap freely
    # between namespaces, only the host addresses must be unique.
    vpcs = [
        Vpc(f"vpc-bench{n:05d}", "172.31.0.0/16", (("172.31.0.4", next(addresses)),))
        for n in range(res.vpcs)
    ]
    before = meminfo()
    start = time.perf_counter()
    res.create_s = create_vpcs(stack, vpcs)
    res.total_s = time.perf_counter() - start
    after = meminfo()
    # MemAvailable falls as memory is used; Slab and Percpu grow.
    res.memory_kib = {
        "MemAvailable": before["MemAvailable"] - after["MemAvailable"],
        "Slab": after["Slab"] - before["Slab"],
        "Percpu": after.get("Percpu", 0) - before.get("Percpu", 0),
    }
    first = [s * 1e3 for s in res.create_s[:FIRST]]
    print(
        f"  VPC creation, first {len(first)}: median {statistics.median(first):.1f} ms, "
        f"p90 {percentile(first, 90):.1f} ms",
        flush=True,
    )
    print(
        f"  {res.vpcs} VPCs: {res.total_s:.1f} s, {res.total_s / res.vpcs * 1e3:.1f} ms per VPC",
        flush=True,
    )
    for name, kib in res.memory_kib.items():
        print(f"  {name} delta per VPC: {kib / res.vpcs:.0f} KiB", flush=True)


# -- 4: connect time inside a VPC and across a peering ------------------------------------
def listen(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(128)
    return sock


class EchoServer:
    """One byte back per connection, then close. The listening socket is made inside the
    host's namespace (``in_namespace``); the accepting thread may run anywhere, because
    a socket stays in the namespace it was made in."""

    def __init__(self, namespace: str, address: str, port: int) -> None:
        self.listener = netns.in_namespace(namespace, functools.partial(listen, address, port))
        self.listener.settimeout(0.2)  # to see ``stop`` between connections
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, name="echo", daemon=True)

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.listener.close()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5.0)
                conn.sendall(conn.recv(1))


def round_trips(address: str, port: int, count: int) -> list[float]:
    """Seconds of each of ``count`` connect, 1 byte out, 1 byte back, close. Called
    through ``in_namespace``: every socket it makes is in the client's namespace."""
    samples = []
    for _ in range(count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(5.0)  # a dropped SYN (a rule that does not allow) fails, not hangs
            start = time.perf_counter()
            sock.connect((address, port))
            sock.sendall(b"x")
            if sock.recv(1) != b"x":
                raise RuntimeError(f"echo from {address}:{port} answered wrong")
        samples.append(time.perf_counter() - start)  # the close included
    return samples


def peered_vpcs(addresses: Iterator[str]) -> tuple[Vpc, Vpc]:
    """VPC A with the server and the inside client, VPC B with the client across."""
    a = Vpc(
        "vpc-bench-a", "10.1.0.0/16", (("10.1.0.4", next(addresses)), ("10.1.0.5", next(addresses)))
    )
    b = Vpc("vpc-bench-b", "10.2.0.0/16", (("10.2.0.4", next(addresses)),))
    return a, b


def measure_connects(res: Results, stack: StackNet, addresses: Iterator[str], count: int) -> None:
    a, b = peered_vpcs(addresses)
    apply_until_complete(stack, [router_spec(stack, a, b), router_spec(stack, b, a)])
    server_ip = a.hosts[0][0]
    clients = {
        "inside": stack.host_namespace(a.hosts[1][1]),
        "across": stack.host_namespace(b.hosts[0][1]),
    }
    res.connect_s = {label: [] for label in clients}
    with EchoServer(stack.host_namespace(a.hosts[0][1]), server_ip, ECHO_PORT):
        for ns in clients.values():  # ARP, conntrack and code paths, untimed
            netns.in_namespace(ns, functools.partial(round_trips, server_ip, ECHO_PORT, WARM_UP))
        # The clients take turns in batches, each going first in every other round, so
        # drift in the machine's load hits both paths alike.
        order = list(clients)
        for batch in range(0, count, BATCH):
            size = min(BATCH, count - batch)
            for label in order if (batch // BATCH) % 2 == 0 else order[::-1]:
                measure = functools.partial(round_trips, server_ip, ECHO_PORT, size)
                res.connect_s[label] += netns.in_namespace(clients[label], measure)
    for label, samples in res.connect_s.items():
        us = [s * 1e6 for s in samples]
        print(
            f"  connect {label}: median {statistics.median(us):.0f} µs, "
            f"p90 {percentile(us, 90):.0f} µs",
            flush=True,
        )
    print(f"  across / inside: {connect_ratio(res):.3f}x", flush=True)


def connect_ratio(res: Results) -> float:
    return statistics.median(res.connect_s["across"]) / statistics.median(res.connect_s["inside"])


# -- the report ---------------------------------------------------------------------------
def render(res: Results) -> str:
    n = res.vpcs
    first = [s * 1e3 for s in res.create_s[:FIRST]]
    last = [s * 1e3 for s in res.create_s[-FIRST:]]
    ratio = connect_ratio(res)
    lines = [
        "## Kernel network (make bench-network, python -m bench.network)",
        "",
        f"Run {res.date} on kernel {res.kernel}, {res.cpus} CPUs, host block {res.block}, "
        f"{n} VPCs with one host each; 1-minute load {res.load_start:.1f} at the start, "
        f"{res.load_end:.1f} at the end. The engine alone (engines/netns), no server.",
        "",
        "| what | value |",
        "|---|---:|",
        f"| VPC creation (`apply_router`, one host), first {len(first)}: median "
        f"| {statistics.median(first):.1f} ms |",
        f"| ... p90 | {percentile(first, 90):.1f} ms |",
        f"| ... last {len(last)} of {n}: median | {statistics.median(last):.1f} ms |",
        f"| {n} VPCs: total | {res.total_s:.1f} s |",
        f"| ... mean per VPC | {res.total_s / n * 1e3:.1f} ms |",
        f"| memory per VPC: MemAvailable drop | {res.memory_kib['MemAvailable'] / n:.0f} KiB |",
        f"| ... Slab growth | {res.memory_kib['Slab'] / n:.0f} KiB |",
        f"| ... Percpu growth | {res.memory_kib['Percpu'] / n:.0f} KiB |",
        f"| removing all {n + 2} VPCs (`netns.forget`) | {res.teardown_s:.1f} s |",
        f"| left behind (namespaces, routes in the block) | {len(res.leftovers)} |",
        "",
        "| TCP connect, 1 byte each way, close | n | median µs | p90 µs |",
        "|---|---:|---:|---:|",
    ]
    paths = {
        "inside": "inside one VPC (host, router, host)",
        "across": "across a peering (host, router, router, host)",
    }
    for label, text in paths.items():
        us = [s * 1e6 for s in res.connect_s[label]]
        lines.append(
            f"| {text} | {len(us)} | {statistics.median(us):.0f} | {percentile(us, 90):.0f} |"
        )
    lines += [
        "",
        "| ratio of medians | value |",
        "|---|---:|",
        f"| across a peering / inside one VPC, bare TCP | {ratio:.3f}x |",
        "",
        "Bare TCP shows what a peering adds per connection, tens of microseconds. The target "
        "(within 5%) is for a Kerberos login across a peering: bench/results/peering.md.",
        "",
        "Memory is the machine's, read from /proc/meminfo around the creation of the "
        f"{n} VPCs (each a router and a host namespace, two veth pairs, an nft table); "
        "other work on the machine moves MemAvailable too.",
    ]
    lines += [f"- left behind: {item}" for item in res.leftovers]
    return "\n".join(lines) + "\n"


# -- main ---------------------------------------------------------------------------------
def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.network",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--vpcs", type=int, default=200, help="VPCs created, one host each")
    p.add_argument("--round-trips", type=int, default=500, help="timed connects per path")
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument(
        "--idle-wait",
        type=float,
        default=120.0,
        help="wait up to this many seconds for the 1-minute load average to drop below "
        "the CPU count (other work on the machine skews every time)",
    )
    return p.parse_args()


def _wait_idle(limit: float) -> None:
    cpus = os.cpu_count() or 1
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] >= cpus and time.monotonic() < deadline:
        print(f"  waiting for the machine to calm down: load {os.getloadavg()[0]:.1f}", flush=True)
        time.sleep(10)


def _stack(block: HostBlock, vpcs: int) -> StackNet:
    """The benchmark's stack; refuses a block in use, which could be another stack's: its
    namespaces would carry this prefix and its blackhole would go with ours."""
    stack = stack_for_block(str(block.network))
    if vpcs < 1 or vpcs + 3 > len(block.hosts()):
        raise SystemExit(f"--vpcs must be 1 to {len(block.hosts()) - 3} in {block.network}")
    if found := leftovers(stack):
        raise SystemExit(
            f"{block.network} is in use ({', '.join(found[:3])}...): set "
            "PGREALM_BENCH_NET_BLOCK to a free block, or remove what a killed run left"
        )
    return stack


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # SIGTERM would skip ``finally``; SystemExit unwinds


def main() -> None:
    args = _args()
    if os.geteuid() != 0:
        raise SystemExit("python -m bench.network needs root (network namespaces)")
    block = HostBlock(ipaddress.IPv4Network(BLOCK))
    stack = _stack(block, args.vpcs)
    signal.signal(signal.SIGTERM, _exit_on_term)
    _wait_idle(args.idle_wait)
    res = Results(
        time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        os.uname().release,
        os.cpu_count() or 0,
        BLOCK,
        args.vpcs,
        os.getloadavg()[0],
    )
    print(
        f"kernel {res.kernel}, {res.cpus} CPUs, block {BLOCK}, namespaces {stack.prefix}*, "
        f"load {res.load_start:.1f}",
        flush=True,
    )
    addresses = host_addresses(block)
    try:
        measure_creation(res, stack, addresses)
        measure_connects(res, stack, addresses, args.round_trips)
    finally:
        res.teardown_s = teardown(stack)
        res.leftovers = wait_gone(stack)
    print(f"  removed in {res.teardown_s:.1f} s; left behind: {len(res.leftovers)}")
    res.load_end = os.getloadavg()[0]
    text = render(res)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)  # first: a closed stdout must not lose the run
    print(text)
    print(f"written to {args.output}")
    raise SystemExit(1 if res.leftovers else 0)


if __name__ == "__main__":
    main()
