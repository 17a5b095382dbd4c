"""Simple AD and trusts (``python -m bench.trusts``, run by ``make bench``): on a stack of
its own, after the seed flow (corp.example.com, benchdb, alice):

- the time from ``ds create-directory`` (Simple AD, Small) to ``Active``;
- the time from ``ds create-trust`` (two-way forest trust with a ``pgrealm onprem``
  forest) to ``Verified``: the directory's DCs restarting with the file server, this
  side made, the forest's side made with ``pgrealm onprem trust``, verify-trust;
- a Kerberos login to benchdb, kinit then psql (each a process, as a user runs them),
  by bob of the trusted forest (his service ticket comes across the trust) next to one
  by alice of the directory's own realm: medians and their ratio, rounds alternating.

Writes bench/results/trusts.md. Passwords reach the tools on stdin or in 0600 files.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.seed_flow import REALM, USER, SeedResult, after_seed_flow, new_password
from bench.stack import BenchStack
from pgrealm.cli.onprem import ONPREM_ACCOUNT
from pgrealm.client.krb5conf import render_krb5_conf

__all__ = ["TrustResult", "measure", "render"]

RESULTS = Path(__file__).resolve().parent / "results" / "trusts.md"
ROOT = Path(__file__).resolve().parents[1]
ONPREM = "onprem.example.com"
BOB = f"bob@{ONPREM.upper()}"


@dataclass
class TrustResult:
    date: str
    simple_ad_active_s: float = 0.0
    trust_verified_s: float = 0.0
    onprem_side_s: float = 0.0
    logins: dict[str, list[float]] = field(default_factory=lambda: {"same": [], "cross": []})

    def median_ms(self, kind: str) -> float:
        return statistics.median(self.logins[kind]) * 1e3


def _onprem(stack: BenchStack, args: list[str], secret: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pgrealm", "onprem", *args],
        input=secret + "\n", env=stack.env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"pgrealm onprem {args[0]}: {done.stderr.strip()}")
    return done.stdout


def _simple_ad(stack: BenchStack, res: TrustResult) -> None:
    ec2, ds = stack.client("ec2"), stack.client("ds")
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    settings = {
        "VpcId": subnets["Subnets"][0]["VpcId"],
        "SubnetIds": [s["SubnetId"] for s in subnets["Subnets"][:2]],
    }
    started = time.monotonic()
    did = ds.create_directory(
        Name="simple.example.com", Password=new_password(), Size="Small", VpcSettings=settings
    )["DirectoryId"]

    def active() -> Any:
        d = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]
        return d["Stage"] == "Active"

    stack.wait("the Simple AD to be Active", active, 300, every=0.05)
    res.simple_ad_active_s = time.monotonic() - started
    ds.delete_directory(DirectoryId=did)
    print(f"  trusts: Simple AD Active in {res.simple_ad_active_s:.1f} s", flush=True)


def _forest(stack: BenchStack, seed: SeedResult) -> tuple[dict[str, Any], str]:
    """The on-premises forest linked to the directory's VPC, and bob's password."""
    vpc_a = seed.directory["VpcSettings"]["VpcId"]
    shown = json.loads(
        _onprem(stack, ["create", "--name", ONPREM, "--short-name", "ONPREM",
                        "--peer-vpc-id", vpc_a, "--output", "json"], new_password())
    )  # fmt: skip
    ec2 = stack.client("ec2")
    pcx = shown["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_a]},
                 {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]  # fmt: skip
    ec2.create_route(
        RouteTableId=main, DestinationCidrBlock=shown["CidrBlock"], VpcPeeringConnectionId=pcx
    )
    ec2.authorize_security_group_ingress(
        GroupId=seed.directory["VpcSettings"]["SecurityGroupId"],
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": shown["CidrBlock"]}]}],
    )
    bob = new_password()
    _onprem(stack, ["users", "add", "--name", ONPREM, "--user", "bob"], bob)
    return shown, bob


def _trust(stack: BenchStack, seed: SeedResult, forest: dict[str, Any], res: TrustResult) -> None:
    ds = stack.client("ds")
    secret = new_password()
    started = time.monotonic()
    trust_id = ds.create_trust(
        DirectoryId=seed.directory["DirectoryId"], RemoteDomainName=ONPREM,
        TrustPassword=secret, TrustDirection="Two-Way", TrustType="Forest",
        ConditionalForwarderIpAddrs=forest["DnsIpAddrs"],
    )["TrustId"]  # fmt: skip

    def state() -> str:
        return str(ds.describe_trusts(TrustIds=[trust_id])["Trusts"][0]["TrustState"])

    stack.wait("this side of the trust", lambda: state() in ("Verified", "VerifyFailed"), 300)
    forwarders = [
        a for ip in seed.directory["DnsIpAddrs"] for a in ("--conditional-forwarder-ip-addrs", ip)
    ]
    side = time.monotonic()
    _onprem(stack, ["trust", "--name", ONPREM, "--remote-domain", seed.directory["Name"],
                    "--direction", "two-way", "--type", "forest", *forwarders], secret)  # fmt: skip
    res.onprem_side_s = time.monotonic() - side
    ds.verify_trust(TrustId=trust_id)
    stack.wait("the trust to be Verified", lambda: state() == "Verified", 300, every=0.05)
    res.trust_verified_s = time.monotonic() - started
    print(f"  trusts: Verified {res.trust_verified_s:.1f} s after create-trust", flush=True)


def _login_seconds(env: dict[str, str], principal: str, password: str, endpoint: str) -> float:
    """kinit, then a psql login running SELECT 1: the wall time of both processes."""
    started = time.perf_counter()
    got = subprocess.run(["kinit", principal], input=password + "\n", env=env,
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    if got.returncode != 0:
        raise RuntimeError(f"kinit {principal}: {got.stderr.strip()}")
    login = subprocess.run(
        ["psql", "-X", "-At", f"host={endpoint} port=5432 dbname=postgres user={principal}",
         "-c", "SELECT 1"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if login.returncode != 0:
        raise RuntimeError(f"psql as {principal}: {login.stderr.strip()}")
    return time.perf_counter() - started


def _logins(stack: BenchStack, seed: SeedResult, bob: str, rounds: int, res: TrustResult) -> None:
    rds_sql = f'CREATE USER "{BOB}" WITH LOGIN; GRANT rds_ad TO "{BOB}";'
    subprocess.run(
        ["psql", "-X", "-At", f"host={seed.endpoint} port=5432 dbname=postgres user=master",
         "-c", rds_sql],
        env={"PATH": os.environ["PATH"], "PGPASSWORD": seed.master_password}, check=True,
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    found = stack.client("ds", ONPREM_ACCOUNT).describe_directories()["DirectoryDescriptions"]
    forest_dcs = stack.kdcs(next(d for d in found if d["Name"] == ONPREM), account=ONPREM_ACCOUNT)
    conf = seed.client_dir / "krb5-trust.conf"
    conf.write_text(
        render_krb5_conf(REALM, stack.kdcs(seed.directory), [seed.endpoint], {ONPREM: forest_dcs})
    )
    who = {"same": (f"{USER}@{REALM}", seed.alice_password), "cross": (BOB, bob)}
    for n in range(rounds):
        for kind, (principal, password) in who.items():
            env = {
                "PATH": os.environ["PATH"],
                "KRB5_CONFIG": str(conf),
                "KRB5CCNAME": f"FILE:{seed.client_dir}/cc-{kind}-{n}",
            }
            res.logins[kind].append(_login_seconds(env, principal, password, seed.endpoint))
    print(
        f"  trusts: kinit + psql, same realm {res.median_ms('same'):.0f} ms, across the trust "
        f"{res.median_ms('cross'):.0f} ms",
        flush=True,
    )


def measure(stack: BenchStack, seed: SeedResult, rounds: int = 20) -> TrustResult:
    res = TrustResult(time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    _simple_ad(stack, res)
    forest, bob = _forest(stack, seed)
    try:
        _trust(stack, seed, forest, res)
        _logins(stack, seed, bob, rounds, res)
    finally:
        _onprem(stack, ["delete", "--name", ONPREM], "")
    return res


def render(res: TrustResult) -> str:
    same, cross = res.median_ms("same"), res.median_ms("cross")
    return "\n".join(
        [
            "## Simple AD and trusts (python -m bench.trusts)",
            "",
            f"Run {res.date} on {os.cpu_count()} CPUs, a stack of its own after the seed flow.",
            "",
            "| what | value |",
            "|---|---:|",
            "| ds create-directory (Simple AD, Small) to Active | "
            f"{res.simple_ad_active_s:.1f} s |",
            f"| ds create-trust (two-way forest) to Verified, both sides made | "
            f"{res.trust_verified_s:.1f} s |",
            "| ... of which `pgrealm onprem trust` (the forest's side) | "
            f"{res.onprem_side_s:.1f} s |",
            "",
            "| kinit + psql login (two processes), to benchdb | n | median ms | p90 ms |",
            "|---|---:|---:|---:|",
            *(
                f"| {label} | {len(res.logins[kind])} | {res.median_ms(kind):.0f} | "
                f"{statistics.quantiles(res.logins[kind], n=10)[-1] * 1e3:.0f} |"
                for kind, label in (
                    ("same", "alice@CORP.EXAMPLE.COM (the directory's realm)"),
                    ("cross", "bob@ONPREM.EXAMPLE.COM (across the trust)"),
                )
            ),
            "",
            f"Across the trust / same realm (medians): {cross / same:.2f}x. bob's login asks "
            "two KDCs: his own for his TGT and for a cross-realm TGT, then the directory's "
            "for the instance's service ticket.",
            "",
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.trusts", description=__doc__)
    p.add_argument("--rounds", type=int, default=20, help="logins of each kind")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args()
    after_seed_flow(
        "bench.trusts", lambda stack, seed: render(measure(stack, seed, args.rounds)), args.output
    )


if __name__ == "__main__":
    main()
