"""API latency with many instances, and what each real instance costs.

Instances are real PostgreSQL clusters created through the API without a domain; the
latency of describe-db-instances (all instances, one page) and describe-directories is
timed through boto3 (SigV4 signing and response parsing included), the way a client
sees it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procmem import find_pids, tree_pss_kib
from bench.seed_flow import new_password
from bench.stack import BenchStack
from bench.stats import Summary, summarize

__all__ = ["GrowResult", "grow_instances", "instances_pss_kib", "measure_latency"]


@dataclass(frozen=True)
class GrowResult:
    target: int
    available: int
    failed: int
    seconds: float  # from the first create call to every new one available (or the limit)


def measure_latency(stack: BenchStack, calls: int, warmup: int = 10) -> dict[str, Summary]:
    """Interleaved calls of both operations; median and p99 of each."""
    rds, ds = stack.client("rds"), stack.client("ds")
    ops: dict[str, Callable[[], Any]] = {
        "describe-db-instances": lambda: rds.describe_db_instances(),
        "describe-directories": lambda: ds.describe_directories(),
    }
    samples: dict[str, list[float]] = {name: [] for name in ops}
    for i in range(warmup + calls):
        for name, call in ops.items():
            started = time.perf_counter()
            call()
            if i >= warmup:
                samples[name].append(time.perf_counter() - started)
    return {name: summarize(s) for name, s in samples.items()}


def _statuses(stack: BenchStack) -> dict[str, str]:
    rds = stack.client("rds")
    out: dict[str, str] = {}
    for page in rds.get_paginator("describe_db_instances").paginate():
        for inst in page["DBInstances"]:
            out[inst["DBInstanceIdentifier"]] = inst["DBInstanceStatus"]
    return out


def grow_instances(stack: BenchStack, target: int, timeout: float) -> GrowResult:
    """Create instances (no domain) until ``target`` exist; wait for them, bounded."""
    rds = stack.client("rds")
    have = _statuses(stack)
    names = [f"bench-{i:03d}" for i in range(len(have), target)]
    password = new_password()
    started = time.monotonic()
    for name in names:
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="master",
            MasterUserPassword=password,
            AllocatedStorage=20,
        )
    deadline = started + timeout
    statuses: dict[str, Any] = {}
    while time.monotonic() < deadline:
        statuses = _statuses(stack)
        if all(statuses.get(n) in ("available", "failed") for n in names):
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    return GrowResult(
        target=target,
        available=sum(1 for s in statuses.values() if s == "available"),
        failed=sum(1 for s in statuses.values() if s == "failed"),
        seconds=elapsed,
    )


def instances_pss_kib(home: Path) -> tuple[int, int, int]:
    """(PSS KiB, process count, postmaster count) of every instance under ``home``."""
    prefix = str(home / "instances") + "/"

    def postmaster(argv: list[str]) -> bool:
        # Backends rewrite their argv ("postgres: checkpointer"); only postmasters keep -D.
        return argv[0].endswith("/postgres") and any(a.startswith(prefix) for a in argv[1:])

    roots = find_pids(postmaster)
    pss, procs = tree_pss_kib(roots)
    return pss, procs, len(roots)
