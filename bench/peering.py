"""Kerberos connect time across a VPC peering against inside one VPC, on a real stack.

The seed flow puts the directory and ``benchdb`` in the default VPC (vpc-A). This adds
vpc-B (10.77.0.0/16), peers it with vpc-A, routes both main route tables over the peering
and lets vpc-B reach 5432 in the instance's security group, all through the EC2 API as a
user would. Then a client host in vpc-A and one in vpc-B (``pgrealm vpc exec``) each
open GSSAPI connections to the instance as alice: PQconnectdb's wall time, TCP connect to
a ready query, with alice's service ticket already in the ccache (a psql login after
kinit). Both clients stay up and take turns of a few connects each, so load drift from
anything else on the machine hits both alike. The figure is the ratio of the medians;
the target is within 5%.

Run alone: ``python -m bench.peering`` (starts its own stack and runs the seed flow;
root). ``make bench-network`` and ``make bench`` run it and write
bench/results/peering.md. ``python -m bench.peering --serve`` is the client half, run inside a
VPC: it reads a conninfo, then counts, on stdin and answers each with connect times.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.seed_flow import REALM, USER, SeedResult, run_seed_flow
from bench.stack import BenchStack, running_stack
from bench.stats import percentile

__all__ = ["PeeringResult", "measure", "render"]

RESULTS = Path(__file__).resolve().parent / "results" / "peering.md"
ROOT = Path(__file__).resolve().parents[1]
B_CIDR, B_SUBNET = "10.77.0.0/16", "10.77.1.0/24"
TARGET = 1.05
WARM_UP = 20


@dataclass
class PeeringResult:
    date: str
    kernel: str
    cpus: int
    samples: dict[str, list[float]] = field(default_factory=lambda: {"inside": [], "across": []})
    load: list[float] = field(default_factory=list)

    def median_ms(self, path: str) -> float:
        return statistics.median(self.samples[path]) * 1e3

    @property
    def ratio(self) -> float:
        return self.median_ms("across") / self.median_ms("inside")


# -- the network a user builds ------------------------------------------------------------
def _main_table(ec2: Any, vpc_id: str) -> str:
    tables = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"]
    return str(tables[0]["RouteTableId"])


def peer_second_vpc(stack: BenchStack, instance: dict[str, Any]) -> tuple[str, str]:
    """vpc-B peered with the instance's VPC, routed both ways, 5432 open to it; the ids of
    (vpc-A, vpc-B)."""
    ec2 = stack.client("ec2")
    vpc_a = instance["DBSubnetGroup"]["VpcId"]
    cidr_a = ec2.describe_vpcs(VpcIds=[vpc_a])["Vpcs"][0]["CidrBlock"]
    vpc_b = ec2.create_vpc(CidrBlock=B_CIDR)["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc_b, CidrBlock=B_SUBNET, AvailabilityZone="us-east-1a")
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_b, PeerVpcId=vpc_a)
    pcx_id = pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    for vpc, cidr in ((vpc_a, B_CIDR), (vpc_b, cidr_a)):
        ec2.create_route(
            RouteTableId=_main_table(ec2, vpc),
            DestinationCidrBlock=cidr,
            VpcPeeringConnectionId=pcx_id,
        )
    group = instance["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "IpRanges": [{"CidrIp": B_CIDR}],
            }
        ],
    )
    return vpc_a, vpc_b


# -- measuring ----------------------------------------------------------------------------
class VpcClient:
    """A client host in a VPC (``pgrealm vpc exec``) that stays up and times connects on
    request, so the two paths' samples interleave finely and no host is being made or
    removed (its routers reconfigured) while the other path is timed."""

    def __init__(self, stack: BenchStack, seed: SeedResult, vpc_id: str) -> None:
        self.vpc_id = vpc_id
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pgrealm", "vpc", "exec", vpc_id, "--",
             sys.executable, "-m", "bench.peering", "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**stack.env, **seed.client_env()}, cwd=ROOT,
        )  # fmt: skip
        conninfo = (
            f"host={seed.endpoint} port=5432 dbname=postgres user={USER}@{REALM} "
            "sslmode=disable gssencmode=require connect_timeout=10"
        )
        self._ask(conninfo)

    def _ask(self, line: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the client in {self.vpc_id} exited ({self.proc.wait()})")
        reply = json.loads(answer)
        if "error" in reply:
            raise RuntimeError(f"connect from {self.vpc_id}: {reply['error']}")
        return reply["ok"]

    def connects(self, count: int) -> list[float]:
        return [float(s) for s in self._ask(str(count))]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(60)


def measure(
    stack: BenchStack, seed: SeedResult, rounds: int = 50, per_turn: int = 10
) -> PeeringResult:
    res = PeeringResult(
        time.strftime("%Y-%m-%d %H:%M:%S %Z"), os.uname().release, os.cpu_count() or 0
    )
    vpcs = dict(zip(("inside", "across"), peer_second_vpc(stack, seed.instance), strict=True))
    print(f"  peering: inside {vpcs['inside']}, across from {vpcs['across']}", flush=True)
    clients = {path: VpcClient(stack, seed, vpc_id) for path, vpc_id in vpcs.items()}
    try:
        for client in clients.values():  # the first connection's ARP, pages, caches
            client.connects(WARM_UP)
        for _ in range(rounds):
            res.load.append(os.getloadavg()[0])
            for path, client in clients.items():
                res.samples[path] += client.connects(per_turn)
    finally:
        for client in clients.values():
            client.close()
    print(
        f"  peering: inside {res.median_ms('inside'):.2f} ms, across "
        f"{res.median_ms('across'):.2f} ms, ratio {res.ratio:.3f}",
        flush=True,
    )
    return res


def _serve() -> None:
    """The client half, inside a VPC: a conninfo line, then counts; a JSON line for each."""
    from bench import libpq  # libpq.so.5 is loaded only where connections are made

    host, _, rest = sys.stdin.readline().strip().partition(" ")
    address = socket.gethostbyname(host.removeprefix("host="))
    target = libpq.Target("vpc client", f"{host} hostaddr={address} {rest}")
    print(json.dumps({"ok": address}), flush=True)
    for line in sys.stdin:
        try:
            times = [libpq.connect_seconds(target) for _ in range(int(line))]
            print(json.dumps({"ok": times}), flush=True)
        except libpq.ConnectError as e:
            print(json.dumps({"error": str(e)}), flush=True)


# -- the report ---------------------------------------------------------------------------
def render(res: PeeringResult) -> str:
    verdict = "met" if res.ratio <= TARGET else "**missed**"
    paths = {
        "inside": "inside one VPC (client host, router, instance host)",
        "across": "across a peering (client host, router, router, instance host)",
    }
    lines = [
        "## Kerberos connect across a VPC peering (python -m bench.peering)",
        "",
        f"Run {res.date} on kernel {res.kernel}, {res.cpus} CPUs; 1-minute load "
        f"{min(res.load):.1f} to {max(res.load):.1f}. A real stack: the seed flow's directory "
        "and instance in vpc-A, clients through `pgrealm vpc exec` in vpc-A and in a peered "
        "vpc-B. Each sample is libpq's PQconnectdb as alice with GSSAPI (gssencmode=require, "
        "service ticket in the ccache), TCP connect to a ready query; both clients stay up "
        "and take turns of a few connects each.",
        "",
        "| Kerberos connect | n | median ms | p90 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for path, text in paths.items():
        ms = [s * 1e3 for s in res.samples[path]]
        lines.append(
            f"| {text} | {len(ms)} | {statistics.median(ms):.2f} | {percentile(ms, 90):.2f} "
            f"| {percentile(ms, 99):.2f} |"
        )
    lines += [
        "",
        "| ratio of medians | value | target | |",
        "|---|---:|---:|---|",
        f"| across a peering / inside one VPC | {res.ratio:.3f}x | <= {TARGET:.2f}x | {verdict} |",
        "",
        "What a peering adds per packet (a second router namespace, one more veth, its "
        "conntrack and nft chains) is measured on bare TCP in bench/results/network.md.",
    ]
    return "\n".join(lines) + "\n"


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.peering", description=__doc__)
    p.add_argument("--rounds", type=int, default=50, help="turns of each path")
    p.add_argument("--per-turn", type=int, default=10, help="connects per turn")
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> None:
    args = _args()
    if args.serve:
        _serve()
        return
    if os.geteuid() != 0:
        raise SystemExit("python -m bench.peering needs root (a stack, network namespaces)")
    with running_stack() as stack:
        print(f"stack: {stack.url}, home {stack.home}, block {stack.block}", flush=True)
        res = measure(stack, run_seed_flow(stack), args.rounds, args.per_turn)
    write(res, args.output)


def write(res: PeeringResult, output: Path) -> None:
    text = render(res)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)
    print(f"written to {output}")


if __name__ == "__main__":
    main()
