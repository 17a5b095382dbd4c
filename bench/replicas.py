"""Read replicas (``python -m bench.replicas``, run by ``make bench``): on a stack of its
own, after the seed flow (benchdb, joined to corp.example.com, with automated backups):

- the time from ``create-db-instance-read-replica`` to ``available`` (its Kerberos join
  included), next to a plain ``create-db-instance`` to ``available`` in the same run;
- the replica's replay lag, as the source sees it (``pg_stat_replication.replay_lag``),
  sampled while a writer commits one small transaction after another on the source, next
  to the source's own commit time in the same run;
- the memory (PSS) of the replica's server next to the source's.

Writes bench/results/replicas.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.procmem import find_pids, tree_pss_kib
from bench.seed_flow import SeedResult, after_seed_flow, new_password
from bench.stack import BenchStack

__all__ = ["ReplicaResult", "measure", "plain_available_seconds", "render", "wait_available"]

RESULTS = Path(__file__).resolve().parent / "results" / "replicas.md"
SOURCE = "benchdb"
REPLICA = "benchdb-replica"


@dataclass
class ReplicaResult:
    date: str
    replica_available_s: float = 0.0
    plain_available_s: float = 0.0
    lag_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)
    replica_kib: int = 0
    source_kib: int = 0


def wait_available(stack: BenchStack, ident: str) -> None:
    rds = stack.client("rds")

    def ready() -> bool:
        inst = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
        if inst["DBInstanceStatus"] == "failed":
            raise RuntimeError(f"{ident} failed")
        return bool(inst["DBInstanceStatus"] == "available")

    stack.wait(f"{ident} to be available", ready, 300, every=0.05)


def plain_available_seconds(stack: BenchStack) -> float:
    """The baseline: create-db-instance (no domain, no backups) to available, then gone."""
    rds = stack.client("rds")
    started = time.monotonic()
    rds.create_db_instance(
        DBInstanceIdentifier="benchplain", DBInstanceClass="db.t3.micro", Engine="postgres",
        MasterUsername="master", MasterUserPassword=new_password(), BackupRetentionPeriod=0,
    )  # fmt: skip
    wait_available(stack, "benchplain")
    seconds = time.monotonic() - started
    rds.delete_db_instance(DBInstanceIdentifier="benchplain", SkipFinalSnapshot=True)
    return seconds


def _creation_times(stack: BenchStack, res: ReplicaResult) -> None:
    rds = stack.client("rds")
    res.plain_available_s = plain_available_seconds(stack)
    started = time.monotonic()
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier=REPLICA, SourceDBInstanceIdentifier=SOURCE
    )
    wait_available(stack, REPLICA)
    res.replica_available_s = time.monotonic() - started
    print(f"  replicas: available in {res.replica_available_s:.1f} s "
          f"(a plain instance {res.plain_available_s:.1f} s)", flush=True)  # fmt: skip


def _psql(seed: SeedResult, sql: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["psql", "-X", "-At", "-q", f"host={seed.endpoint} dbname=postgres user=master"],
        env={"PATH": os.environ["PATH"], "PGPASSWORD": seed.master_password},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip


def _lag_under_load(seed: SeedResult, seconds: float, res: ReplicaResult) -> None:
    """A writer commits one insert after another (its round trips timed); a sampler
    reads the replica's replay lag on the source twice a second."""
    writer, sampler = _psql(seed, ""), _psql(seed, "")
    assert writer.stdin and writer.stdout and sampler.stdin and sampler.stdout
    writer.stdin.write("CREATE TABLE IF NOT EXISTS load (n int, at timestamptz);\n")
    stop = threading.Event()

    def write() -> None:
        assert writer.stdin and writer.stdout
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            writer.stdin.write(f"INSERT INTO load VALUES ({n}, now()); SELECT 1;\n")
            writer.stdout.readline()
            res.commit_ms.append((time.perf_counter() - started) * 1e3)
            n += 1

    thread = threading.Thread(target=write)
    thread.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sampler.stdin.write("SELECT coalesce(extract(epoch FROM max(replay_lag)) * 1000, 0) "
                            "FROM pg_stat_replication;\n")  # fmt: skip
        res.lag_ms.append(float(sampler.stdout.readline().strip() or 0))
        time.sleep(0.5)
    stop.set()
    thread.join()
    for proc in (writer, sampler):
        proc.communicate("\\q\n", timeout=30)
    print(f"  replicas: replay lag median {statistics.median(res.lag_ms):.1f} ms under "
          f"{len(res.commit_ms) / seconds:.0f} commits/s", flush=True)  # fmt: skip


def _memory(stack: BenchStack, res: ReplicaResult) -> None:
    for ident, attr in ((SOURCE, "source_kib"), (REPLICA, "replica_kib")):
        arn = (
            stack.client("rds")
            .describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]["DBInstanceArn"]
            .split(":")
        )
        home = f"{stack.home}/instances/{arn[4]}-{arn[3]}-{ident}/data"
        roots = find_pids(
            lambda argv, home=home: argv[0].endswith("/postgres") and any(home in a for a in argv)
        )
        setattr(res, attr, tree_pss_kib(roots)[0])


def measure(stack: BenchStack, seed: SeedResult, seconds: float = 20.0) -> ReplicaResult:
    res = ReplicaResult(time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    _creation_times(stack, res)
    _lag_under_load(seed, seconds, res)
    _memory(stack, res)
    return res


def render(res: ReplicaResult) -> str:
    lag, commit = statistics.median(res.lag_ms), statistics.median(res.commit_ms)
    p90 = statistics.quantiles(res.lag_ms, n=10)[-1]
    return "\n".join([
        "## Read replicas (python -m bench.replicas)",
        "",
        f"Run {res.date} on {os.cpu_count()} CPUs, a stack of its own after the seed flow.",
        "",
        "| what | value | baseline, same run | ratio |",
        "|---|---:|---:|---:|",
        f"| create-db-instance-read-replica to available (joined: its own keytab) | "
        f"{res.replica_available_s:.1f} s | create-db-instance to available "
        f"{res.plain_available_s:.1f} s | {res.replica_available_s / res.plain_available_s:.2f}x |",
        f"| replay lag under a steady write load, median (p90, max) | {lag:.1f} ms "
        f"({p90:.1f}, {max(res.lag_ms):.1f}) | the writer's commit round trip {commit:.2f} ms | "
        f"{lag / commit:.1f}x |",
        f"| memory (PSS) of the replica's server | {res.replica_kib / 1024:.1f} MiB | the "
        f"source's {res.source_kib / 1024:.1f} MiB | {res.replica_kib / res.source_kib:.2f}x |",
        "",
        f"The writer committed {len(res.commit_ms)} single-row inserts back to back; the lag "
        "was sampled every 0.5 s. replay_lag is PostgreSQL's: the time from a commit on the "
        "source to its replay on the replica, as last reported.",
        "",
    ])  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    p.add_argument("--seconds", type=float, default=20.0, help="the write load's length")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args()
    after_seed_flow(
        "bench.replicas",
        lambda stack, seed: render(measure(stack, seed, args.seconds)),
        args.output,
    )


if __name__ == "__main__":
    main()
