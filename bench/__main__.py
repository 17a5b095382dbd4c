"""``make bench`` (``python -m bench``): one run that builds a stack, measures it beside
hand-made baselines, prints a table and writes bench/results/latest.md.

Order: seed flow (aws CLI) -> directory memory -> hand-made PostgreSQL and MIT KDC
baselines -> connection setup (interleaved rounds, so load drift from anything else on
the machine hits every target alike) -> SELECT 1 throughput -> KDC exchanges -> API
latency at 1, 10 and 100 instances (growing the instance count as it goes).
Every loop is bounded by a count and a time limit; all traffic goes to 127.x.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import time
from pathlib import Path

from bench import api, directories, kdc, libpq, models, report
from bench.handmade import HOST, Handmade
from bench.report import Results
from bench.seed_flow import REALM, SCRAM_USER, USER, SeedResult, run_seed_flow
from bench.stack import BenchStack, running_stack
from bench.stats import summarize
from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.engines import samba

RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--connections", type=int, default=500, help="timed connects per target")
    p.add_argument("--select-seconds", type=float, default=3.0)
    p.add_argument("--kdc-seconds", type=float, default=5.0)
    p.add_argument("--kdc-clients", type=int, default=os.cpu_count() or 2)
    p.add_argument("--api-calls", type=int, default=200)
    p.add_argument("--instances", type=int, nargs="+", default=[1, 10, 100])
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument("--keep", action="store_true", help="keep the benchmark home")
    p.add_argument(
        "--idle-wait",
        type=float,
        default=300.0,
        help="wait up to this many seconds for the 1-minute load average to drop below "
        "the core count before starting (other work on the machine skews every number)",
    )
    return p.parse_args()


def _directories(res: Results, stack: BenchStack, seed: SeedResult) -> None:
    did = seed.directory["DirectoryId"]
    specs = directories.dc_specs(stack, did)
    res.directories.append(directories.measure_dcs("Standard", specs, seed.directory_active_s))
    res.directories.append(directories.enterprise_directory(stack))
    for d in res.directories:
        print(f"  {d.edition} directory: {d.pss_kib / 1024:.0f} MiB PSS, {d.dcs} DCs", flush=True)


def _addresses(stack: BenchStack) -> tuple[str, str]:
    """Two addresses at the top of the stack's block, far from the /16s VPCs take."""
    top = ipaddress.IPv4Network(stack.block).broadcast_address
    return str(top - 2), str(top - 3)


def _targets(seed: SeedResult, hm: Handmade) -> list[libpq.Target]:
    krb = f"dbname=postgres user={USER}@{REALM} sslmode=disable"
    scram = f"dbname=postgres user={SCRAM_USER} password={seed.scram_password} sslmode=disable"
    pg = f"host={seed.endpoint} hostaddr={seed.address} port=5432"
    own = f"host={HOST} hostaddr={hm.address} port=5432"
    return [
        libpq.Target(report.KRB_REQ_PG, f"{pg} {krb} gssencmode=require"),
        libpq.Target(report.KRB_REQ_HM, f"{own} {krb} gssencmode=require"),
        libpq.Target(report.KRB_DIS_PG, f"{pg} {krb} gssencmode=disable"),
        libpq.Target(report.KRB_DIS_HM, f"{own} {krb} gssencmode=disable"),
        libpq.Target(report.SCRAM_PG, f"{pg} {scram} gssencmode=disable"),
        libpq.Target(report.SCRAM_HM, f"{own} {scram} gssencmode=disable"),
        hm.trust(),
    ]


def _connections(res: Results, targets: list[libpq.Target], rounds: int) -> None:
    samples: dict[str, list[float]] = {t.label: [] for t in targets}
    for t in targets:  # warm-up: service tickets into the ccache, caches and pages in
        for _ in range(20):
            libpq.connect_seconds(t)
        res.gss_encrypted[t.label] = libpq.gss_encrypted(t)
    deadline = time.monotonic() + 900
    for _ in range(rounds):
        for t in targets:
            samples[t.label].append(libpq.connect_seconds(t))
        if time.monotonic() > deadline:
            res.notes.append("connection rounds stopped early at the 900 s limit")
            break
    res.connect = {label: summarize(s) for label, s in samples.items()}


def _select1(res: Results, targets: list[libpq.Target], seconds: float) -> None:
    for t in targets:
        res.select1[t.label] = libpq.select1_rate(t, seconds, max_queries=2_000_000)


def _kdcs(
    res: Results, args: argparse.Namespace, seed: SeedResult, mit: kdc.MitKdc, dc1: samba.DcSpec
) -> None:
    samba_conf = seed.client_dir / "krb5-dc1.conf"
    samba_conf.write_text(render_krb5_conf(REALM, [dc1.address]))
    spn = f"postgres/{seed.endpoint}@{REALM}"
    for exchange in ("AS", "TGS"):
        res.kdc.append(
            kdc.measure(
                "Samba AD DC (directory)",
                exchange,
                samba_conf,
                f"{USER}@{REALM}",
                seed.alice_password,
                spn,
                seconds=args.kdc_seconds,
                clients=args.kdc_clients,
            )
        )
        res.kdc.append(
            kdc.measure(
                "MIT krb5kdc (baseline)",
                exchange,
                mit.realm.krb5_conf,
                mit.user,
                mit.password,
                mit.service,
                seconds=args.kdc_seconds,
                clients=args.kdc_clients,
            )
        )
        print(
            f"  kdc: {exchange}: "
            + ", ".join(f"{r.label} {r.per_second:.0f}/s" for r in res.kdc[-2:])
        )


def _baselines(res: Results, args: argparse.Namespace, stack: BenchStack, seed: SeedResult) -> None:
    specs = directories.dc_specs(stack, seed.directory["DirectoryId"])
    hm_addr, mit_addr = _addresses(stack)
    hm = Handmade(home=stack.home / "handmade", address=hm_addr, realm=REALM)
    mit = kdc.MitKdc(stack.home / "mitkdc", mit_addr)
    try:
        hm.create(specs[0])
        hm.start()
        hm.add_roles(f"{USER}@{REALM}", SCRAM_USER, seed.scram_password)
        # Name the hand-made host's realm for the client, as the instance endpoint is.
        (seed.client_dir / "krb5.conf").write_text(
            render_krb5_conf(REALM, stack.kdcs(seed.directory), [seed.endpoint, HOST])
        )
        os.environ.update(seed.client_env())  # libpq's GSSAPI reads them in this process
        targets = _targets(seed, hm)
        print(f"  connections: {args.connections} rounds over {len(targets)} targets", flush=True)
        _connections(res, targets, args.connections)
        _select1(res, targets, args.select_seconds)
        mit.start()
        _kdcs(res, args, seed, mit, specs[0])
    finally:
        hm.stop()
        mit.stop()


def _models(res: Results, args: argparse.Namespace, stack: BenchStack) -> None:
    address = str(ipaddress.IPv4Network(stack.block).broadcast_address - 4)
    res.models = models.compare_models(
        stack.home / "models", address, seconds=args.kdc_seconds, clients=args.kdc_clients
    )


def _api(res: Results, args: argparse.Namespace, stack: BenchStack) -> None:
    for count in sorted(args.instances):
        if count > 1:
            grown = api.grow_instances(stack, count, timeout=max(120.0, 8.0 * count))
            res.grow.append(grown)
            print(
                f"  api: {grown.available} available ({grown.failed} failed) "
                f"after {grown.seconds:.0f} s",
                flush=True,
            )
        pss, procs, postmasters = api.instances_pss_kib(stack.home)
        res.instance_memory.append((postmasters, pss, procs))
        res.api.append((postmasters, api.measure_latency(stack, args.api_calls)))
        print(f"  api: latency measured with {postmasters} instances", flush=True)


def _wait_idle(res: Results, limit: float) -> None:
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] >= cores and time.monotonic() < deadline:
        print(f"  waiting for the machine to calm down: load {os.getloadavg()[0]:.1f}", flush=True)
        time.sleep(15)
    if os.getloadavg()[0] >= cores:
        res.notes.append(
            f"the machine was busy with other work (1-minute load average "
            f"{os.getloadavg()[0]:.1f} on {cores} cores) when the run started; "
            "see the load per phase below"
        )


def _phase(res: Results, name: str) -> None:
    res.load.append((name, os.getloadavg()[0]))
    print(f"{name} (load {os.getloadavg()[0]:.1f})", flush=True)


def main() -> None:
    args = _args()
    res = Results.new()
    _wait_idle(res, args.idle_wait)
    with running_stack(keep=args.keep) as stack:
        print(f"stack: {stack.url}, home {stack.home}, block {stack.block}", flush=True)
        _phase(res, "seed flow")
        seed = run_seed_flow(stack)
        res.seed = seed
        _directories(res, stack, seed)
        _phase(res, "connections, SELECT 1, KDC")
        _baselines(res, args, stack, seed)
        _phase(res, "Samba process models")
        _models(res, args, stack)
        _phase(res, "API latency and instances")
        _api(res, args, stack)
        _phase(res, "end")
    text = report.render(res)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
