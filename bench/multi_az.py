"""Multi-AZ (``python -m bench.multi_az``, run by ``make bench``): on a stack of its own,
after the seed flow (benchdb, joined to corp.example.com, alice's ticket in the cache):

- the time from ``modify-db-instance --multi-az`` to ``available`` (the standby cloned,
  given its keytab and streaming), next to a plain ``create-db-instance`` to ``available``;
- a commit's round trip once it waits for the standby, next to the same instance's before;
- the time from a failover's start (``reboot --force-failover``, then a SIGKILL of the
  primary's postmaster) to alice's first Kerberos login on the same endpoint, next to a
  plain ``reboot-db-instance`` of the same instance to its first login;
- the memory (PSS) of the standby's server next to the primary's.

Writes bench/results/multi_az.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procmem import find_pids, tree_pss_kib
from bench.replicas import plain_available_seconds, wait_available
from bench.seed_flow import REALM, USER, SeedResult, after_seed_flow
from bench.stack import BenchStack
from pgrealm.reconcile.db_multi_az import process_name
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = ["MultiAzResult", "measure", "render"]

RESULTS = Path(__file__).resolve().parent / "results" / "multi_az.md"
SOURCE = "benchdb"
_COMMITS = 2000


@dataclass
class MultiAzResult:
    date: str
    convert_s: float = 0.0
    plain_available_s: float = 0.0
    commit_single_ms: list[float] = field(default_factory=list)
    commit_sync_ms: list[float] = field(default_factory=list)
    reboot_login_s: float = 0.0
    forced_login_s: float = 0.0
    crash_login_s: float = 0.0
    standby_kib: int = 0
    primary_kib: int = 0


def _creation_times(stack: BenchStack, res: MultiAzResult) -> None:
    res.plain_available_s = plain_available_seconds(stack)
    started = time.monotonic()
    stack.client("rds").modify_db_instance(
        DBInstanceIdentifier=SOURCE, MultiAZ=True, ApplyImmediately=True
    )
    wait_available(stack, SOURCE)
    res.convert_s = time.monotonic() - started
    print(f"  multi-az: converted in {res.convert_s:.1f} s "
          f"(a plain instance available in {res.plain_available_s:.1f} s)", flush=True)  # fmt: skip


def _commit_times(seed: SeedResult, into: list[float]) -> None:
    """_COMMITS single-row inserts over one connection, each round trip timed."""
    proc = subprocess.Popen(
        ["psql", "-X", "-At", "-q", f"host={seed.endpoint} dbname=postgres user=master"],
        env={"PATH": os.environ["PATH"], "PGPASSWORD": seed.master_password},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip
    assert proc.stdin and proc.stdout
    proc.stdin.write("CREATE TABLE IF NOT EXISTS ledger (n int);\n")
    for n in range(_COMMITS):
        started = time.perf_counter()
        proc.stdin.write(f"INSERT INTO ledger VALUES ({n}); SELECT 1;\n")
        proc.stdout.readline()
        into.append((time.perf_counter() - started) * 1e3)
    proc.communicate("\\q\n", timeout=30)


def _kerberos_login(seed: SeedResult) -> bool:
    done = subprocess.run(
        ["psql", "-X", "-At", f"host={seed.endpoint} dbname=postgres user={USER}@{REALM} "
         "connect_timeout=2", "-c", "SELECT gss_authenticated FROM pg_stat_gssapi "
         "WHERE pid = pg_backend_pid()"],
        env=seed.client_env(), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return done.returncode == 0 and done.stdout.strip() == "t"


def _to_first_login(seed: SeedResult, act: Callable[[], None], server: str) -> float:
    """Seconds from ``act`` to the first Kerberos login that reaches another server than
    ``server`` (or, for a plain reboot, any login once the server went away)."""
    started = time.monotonic()
    act()
    deadline = started + 120
    while time.monotonic() < deadline:
        if _kerberos_login(seed) and (not server or _server_address(seed) != server):
            return time.monotonic() - started
        time.sleep(0.02)
    raise RuntimeError("no Kerberos login within 120 s")


def _server_address(seed: SeedResult) -> str:
    done = subprocess.run(
        ["psql", "-X", "-At", f"host={seed.endpoint} dbname=postgres user={USER}@{REALM}",
         "-c", "SELECT inet_server_addr()"],
        env=seed.client_env(), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return done.stdout.strip()


def _failovers(stack: BenchStack, seed: SeedResult, res: MultiAzResult) -> None:
    rds = stack.client("rds")

    def reboot() -> None:
        rds.reboot_db_instance(DBInstanceIdentifier=SOURCE)
        stack.wait("the reboot to start", lambda: not _kerberos_login(seed), 30, every=0.01)

    res.reboot_login_s = _to_first_login(seed, reboot, "")
    wait_available(stack, SOURCE)
    before = _server_address(seed)
    res.forced_login_s = _to_first_login(
        seed, lambda: rds.reboot_db_instance(DBInstanceIdentifier=SOURCE, ForceFailover=True),
        before,
    )  # fmt: skip
    wait_available(stack, SOURCE)
    before = _server_address(seed)
    res.crash_login_s = _to_first_login(seed, lambda: _kill_primary(stack), before)
    wait_available(stack, SOURCE)
    print(f"  multi-az: first Kerberos login after a forced failover {res.forced_login_s:.2f} s, "
          f"after a killed primary {res.crash_login_s:.2f} s (a plain reboot "
          f"{res.reboot_login_s:.2f} s)", flush=True)  # fmt: skip


def _instance_doc(stack: BenchStack) -> dict[str, Any]:
    store = Store(stack.home / "state.db")
    (doc,) = [d for d in store.list(Kind.DB_INSTANCE)
              if d["aws"]["DBInstanceIdentifier"] == SOURCE]  # fmt: skip
    return doc


def _kill_primary(stack: BenchStack) -> None:
    name = process_name(_instance_doc(stack))
    (proc,) = [p for p in Store(stack.home / "state.db").list("process") if p["name"] == name]
    os.kill(int(proc["pid"]), signal.SIGKILL)


def _memory(stack: BenchStack, res: MultiAzResult) -> None:
    doc = _instance_doc(stack)
    arn = str(doc["aws"]["DBInstanceArn"]).split(":")
    root = stack.home / "instances" / f"{arn[4]}-{arn[3]}-{SOURCE}"  # model/layout.py
    homes = {"a": root, "b": root / "node-b"}
    primary_slot = str(doc.get("slot") or "a")
    for slot, home in homes.items():
        data = f"{home}/data"
        roots = find_pids(
            lambda argv, data=data: argv[0].endswith("/postgres") and data in argv  # -D <data>
        )
        kib = tree_pss_kib(roots)[0]
        if slot == primary_slot:
            res.primary_kib = kib
        else:
            res.standby_kib = kib


def measure(stack: BenchStack, seed: SeedResult) -> MultiAzResult:
    res = MultiAzResult(time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    _commit_times(seed, res.commit_single_ms)
    _creation_times(stack, res)
    _commit_times(seed, res.commit_sync_ms)
    _memory(stack, res)
    _failovers(stack, seed, res)
    return res


def render(res: MultiAzResult) -> str:
    single, sync = statistics.median(res.commit_single_ms), statistics.median(res.commit_sync_ms)
    return "\n".join([
        "## Multi-AZ (python -m bench.multi_az)",
        "",
        f"Run {res.date} on {os.cpu_count()} CPUs, a stack of its own after the seed flow.",
        "",
        "| what | value | baseline, same run | ratio |",
        "|---|---:|---:|---:|",
        f"| modify --multi-az to available (standby cloned, keyed, streaming) | "
        f"{res.convert_s:.1f} s | create-db-instance to available "
        f"{res.plain_available_s:.1f} s | {res.convert_s / res.plain_available_s:.2f}x |",
        f"| a commit's round trip, waiting for the standby (median) | {sync:.2f} ms | the "
        f"same instance single-AZ {single:.2f} ms | {sync / single:.2f}x |",
        f"| reboot --force-failover to alice's first Kerberos login on the promoted server | "
        f"{res.forced_login_s:.2f} s | a plain reboot to her first login "
        f"{res.reboot_login_s:.2f} s | {res.forced_login_s / res.reboot_login_s:.2f}x |",
        f"| primary's postmaster SIGKILLed to her first Kerberos login on the promoted "
        f"server | {res.crash_login_s:.2f} s | a plain reboot {res.reboot_login_s:.2f} s | "
        f"{res.crash_login_s / res.reboot_login_s:.2f}x |",
        f"| memory (PSS) of the standby's server (its extra memory) | "
        f"{res.standby_kib / 1024:.1f} MiB | the primary's {res.primary_kib / 1024:.1f} MiB | "
        f"{res.standby_kib / res.primary_kib:.2f}x |",
        "",
        f"Each commit figure is the median of {_COMMITS} single-row inserts over one "
        "connection. A login is a new psql connection with alice's cached ticket for "
        "postgres/<endpoint>; after a failover it counts once it reaches the other server.",
        "",
    ])  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.multi_az", description=__doc__)
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args()
    after_seed_flow("bench.multi_az", lambda stack, seed: render(measure(stack, seed)), args.output)


if __name__ == "__main__":
    main()
