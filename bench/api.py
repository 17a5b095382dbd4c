"""API latency with many instances, and what each real instance costs.

Instances are real PostgreSQL clusters created through the API without a domain; the
latency of describe-db-instances (all instances, one page) and describe-directories is
timed through boto3 (SigV4 signing and response parsing included), the way a client
sees it, and, interleaved with it, as the server's share alone: the very request boto3
sent, signed again by botocore and sent over a keep-alive http.client connection, timed
until the last byte of the body is read, without parsing it. At 100 instances botocore
spends longer parsing the ~320 KB XML answer than the server does producing it.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.procmem import find_pids, tree_pss_kib
from bench.seed_flow import new_password
from bench.stack import BenchStack
from bench.stats import Summary, summarize

__all__ = ["GrowResult", "Latency", "grow_instances", "instances_pss_kib", "measure_latency"]

# headers the signer writes; a replayed request is signed afresh
_SIGNING_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-security-token"})


@dataclass(frozen=True)
class GrowResult:
    target: int
    available: int
    failed: int
    seconds: float  # from the first create call to every new one available (or the limit)


@dataclass(frozen=True)
class Latency:
    boto3: Summary  # the client's view: signing, the round trip and botocore's parse
    server: Summary  # the round trip alone: body read, not parsed


class _RawCall:
    """Replays the request a boto3 call sent: re-signed each time, the body read, unparsed."""

    def __init__(self, client: Any, call: Callable[[], Any], access_key: str) -> None:
        captured: list[Any] = []

        def capture(request: Any, **_: Any) -> None:
            captured.append(request)

        client.meta.events.register("before-send", capture)
        try:
            call()
        finally:
            client.meta.events.unregister("before-send", capture)
        sent = captured[-1]
        self.url, self.method, self.body = sent.url, sent.method, sent.body or b""
        # a prepared request holds some header values as bytes; the signer wants str
        self.headers = {
            k: v.decode() if isinstance(v, bytes) else v
            for k, v in sent.headers.items()
            if k.lower() not in _SIGNING_HEADERS
        }
        model = client.meta.service_model
        self.signer = SigV4Auth(
            Credentials(access_key, "test"), model.signing_name, client.meta.region_name
        )
        parts = urlsplit(self.url)
        self.path = parts.path or "/"
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

    def signed_headers(self) -> dict[str, str]:
        request = AWSRequest(self.method, self.url, data=self.body, headers=dict(self.headers))
        self.signer.add_auth(request)
        return dict(request.headers.items())

    def timed(self) -> float:
        headers = self.signed_headers()  # signing is the client's work: not timed
        started = time.perf_counter()
        self.conn.request(self.method, self.path, body=self.body, headers=headers)
        response = self.conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{self.method} {self.url}: {response.status} {body[:200]!r}")
        return elapsed


def measure_latency(stack: BenchStack, calls: int, warmup: int = 10) -> dict[str, Latency]:
    """Interleaved calls of both operations, through boto3 and raw; median and p99 of each."""
    rds, ds = stack.client("rds"), stack.client("ds")
    ops: dict[str, tuple[Any, Callable[[], Any]]] = {
        "describe-db-instances": (rds, lambda: rds.describe_db_instances()),
        "describe-directories": (ds, lambda: ds.describe_directories()),
    }
    raw = {name: _RawCall(client, call, stack.account) for name, (client, call) in ops.items()}
    via_boto3: dict[str, list[float]] = {name: [] for name in ops}
    server: dict[str, list[float]] = {name: [] for name in ops}
    for i in range(warmup + calls):
        for name, (_, call) in ops.items():
            started = time.perf_counter()
            call()
            elapsed = time.perf_counter() - started
            raw_elapsed = raw[name].timed()
            if i >= warmup:
                via_boto3[name].append(elapsed)
                server[name].append(raw_elapsed)
    for r in raw.values():
        r.conn.close()
    return {name: Latency(summarize(via_boto3[name]), summarize(server[name])) for name in ops}


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
            # No automated backups: 100 base backups would cost minutes and disk, and
            # change nothing in what describe-db-instances answers.
            BackupRetentionPeriod=0,
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
