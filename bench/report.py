"""The results of one run, and their rendering as Markdown (printed and written to
bench/results/latest.md)."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.api import GrowResult, Latency
from bench.directories import DirectoryCost
from bench.kdc import KdcRate
from bench.models import SAMBA_DEFAULT, ModelResult
from bench.seed_flow import SeedResult
from bench.stats import Summary
from pgrealm.model.directory import PROCESS_MODELS

__all__ = ["Results", "render"]

KRB_REQ_PG = "pgrealm, Kerberos, gssencmode=require"
KRB_REQ_HM = "hand-made, Kerberos, gssencmode=require"
KRB_DIS_PG = "pgrealm, Kerberos, gssencmode=disable"
KRB_DIS_HM = "hand-made, Kerberos, gssencmode=disable"
SCRAM_PG = "pgrealm, scram-sha-256"
SCRAM_HM = "hand-made, scram-sha-256"
TRUST_HM = "hand-made, trust, local socket"


@dataclass
class Results:
    date: str
    cores: int
    cpu: str
    mem_gib: float
    seed: SeedResult = field(default_factory=SeedResult)
    directories: list[DirectoryCost] = field(default_factory=list)
    connect: dict[str, Summary] = field(default_factory=dict)
    gss_encrypted: dict[str, bool] = field(default_factory=dict)
    select1: dict[str, tuple[int, float]] = field(default_factory=dict)
    kdc: list[KdcRate] = field(default_factory=list)
    models: list[ModelResult] = field(default_factory=list)
    api: list[tuple[int, dict[str, Latency]]] = field(default_factory=list)
    grow: list[GrowResult] = field(default_factory=list)
    instance_memory: list[tuple[int, int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load: list[tuple[str, float]] = field(default_factory=list)  # (phase, 1-min load avg)

    @classmethod
    def new(cls) -> Results:
        return cls(
            date=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            cores=os.cpu_count() or 0,
            cpu=_cpu_model(),
            mem_gib=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        )


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _seed(r: Results) -> list[str]:
    s = r.seed
    out = ["## Seed flow through the aws CLI", "", "| step | ms |", "|---|---:|"]
    out += [f"| {name.strip()} | {sec * 1000:.0f} |" for name, sec in s.steps]
    total = sum(sec for _, sec in s.steps)
    out += [f"| **total, nothing to Kerberos psql login** | **{total * 1000:.0f}** |", ""]
    out += [
        "| milestone | s | target | |",
        "|---|---:|---:|---|",
        f"| create-microsoft-ad to Active (from the CLI call) | {s.directory_active_s:.2f} "
        f"| < 15 | {_verdict(s.directory_active_s < 15)} |",
        f"| ... from the API's answer | {s.directory_active_api_s:.2f} | | |",
        f"| create-db-instance --domain to kerberos-enabled, logins work (from the CLI call) "
        f"| {s.instance_kerberos_s:.2f} | < 5 | {_verdict(s.instance_kerberos_s < 5)} |",
        f"| ... to available, after its first automated backup (backing-up) "
        f"| {s.instance_available_s:.2f} | | |",
        f"| ... from the API's answer | {s.instance_available_api_s:.2f} | | |",
        "",
        *_directories(r),
    ]
    return out


def _directories(r: Results) -> list[str]:
    """Each edition's two-DC directory: time to Active and memory, against the targets."""
    if not r.directories:
        return []
    out = [
        "| edition | Samba model | to Active s | DCs | PSS MiB | PSS MB | processes | <= 150 MB |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for d in r.directories:
        mb = d.pss_kib * 1024 / 1e6
        out.append(
            f"| {d.edition} | {PROCESS_MODELS[d.edition]} | {d.active_s:.1f} | {d.dcs} "
            f"| {d.pss_kib / 1024:.0f} | {mb:.0f} | {d.processes} "
            f"| {_verdict(mb <= 150)} |"
        )
    out += [
        "",
        "Standard: measured idle after the seed flow. Enterprise: a second directory made "
        "for this, measured 10 s after Active, then deleted.",
        "",
    ]
    return out


def _connections(r: Results) -> list[str]:
    out = [
        "## Connection setup (libpq PQconnectdb via ctypes, no process spawn)",
        "",
        "| target | n | median ms | p99 ms | mean ms | GSS-encrypted | SELECT 1/s (1 conn) |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for label, s in r.connect.items():
        q, secs = r.select1.get(label, (0, 0.0))
        enc = "yes" if r.gss_encrypted.get(label) else "no"
        out.append(
            f"| {label} | {s.count} | {s.median_ms:.2f} | {s.p99_ms:.2f} | {s.mean_ms:.2f} "
            f"| {enc} | {q / secs if secs else 0:,.0f} |"
        )
    c = r.connect
    if all(k in c for k in (KRB_REQ_PG, KRB_REQ_HM, KRB_DIS_PG, KRB_DIS_HM, SCRAM_PG)):
        req = _ratio(c[KRB_REQ_PG].median_ms, c[KRB_REQ_HM].median_ms)
        dis = _ratio(c[KRB_DIS_PG].median_ms, c[KRB_DIS_HM].median_ms)
        vs_req = _ratio(c[KRB_REQ_PG].median_ms, c[SCRAM_PG].median_ms)
        vs_dis = _ratio(c[KRB_DIS_PG].median_ms, c[SCRAM_PG].median_ms)
        floor = c.get(TRUST_HM)
        out += [
            "",
            "| ratio (medians) | value | target | |",
            "|---|---:|---:|---|",
            f"| pgrealm / hand-made, Kerberos, gssencmode=require | {req:.2f}x | <= 1.1x "
            f"| {_verdict(req <= 1.1)} |",
            f"| pgrealm / hand-made, Kerberos, gssencmode=disable | {dis:.2f}x | <= 1.1x "
            f"| {_verdict(dis <= 1.1)} |",
            f"| pgrealm Kerberos (gssenc require) / pgrealm scram-sha-256 | {vs_req:.2f}x "
            f"| <= 1.0x | {_verdict(vs_req <= 1.0)} |",
            f"| pgrealm Kerberos (gssenc disable) / pgrealm scram-sha-256 | {vs_dis:.2f}x "
            f"| <= 1.0x | {_verdict(vs_dis <= 1.0)} |",
        ]
        if floor is not None:
            out.append(
                f"| pgrealm Kerberos (gssenc require) / trust on a local socket (floor) "
                f"| {_ratio(c[KRB_REQ_PG].median_ms, floor.median_ms):.2f}x | | |"
            )
    return [*out, ""]


def _kdc(r: Results) -> list[str]:
    out = [
        "## Kerberos KDC exchanges per second (libkrb5 via ctypes, fixed-duration loops)",
        "",
        "| KDC | exchange | per second | ok | errors | seconds |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for k in r.kdc:
        err = f" ({k.error})" if k.error else ""
        out.append(
            f"| {k.label} | {k.exchange} | {k.per_second:,.0f} | {k.ok} | {k.errors}{err} "
            f"| {k.seconds:.1f} |"
        )
    for exchange in ("AS", "TGS"):
        pair = [k for k in r.kdc if k.exchange == exchange]
        if len(pair) == 2:
            ratio = _ratio(pair[0].per_second, pair[1].per_second)
            # Side by side, as issue 4 asks; "no loss" is judged between Samba's own process
            # models (the section below), not against MIT, whose KDC writes nothing per AS.
            out.append(f"\n{exchange}: Samba / MIT = {ratio:.2f}x")
    return [*out, ""]


def _models(r: Results) -> list[str]:
    if not r.models:
        return []
    out = [
        "## Samba process models, one scratch DC, side by side",
        "",
        "Each variant ran the same AS load in interleaved rounds; the figures are its median.",
        "",
        "| variant | pgrealm edition | AS per second | each round | errors "
        "| PSS MiB (after the load) | processes |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for m in r.models:
        rounds = ", ".join(f"{x:.0f}" for x in m.runs)
        out.append(
            f"| {m.variant.label} | {m.variant.edition or '-'} | {m.as_rate.per_second:,.0f} "
            f"| {rounds} | {m.as_rate.errors} | {m.pss_kib / 1024:.0f} | {m.processes} |"
        )
    default = next((m for m in r.models if m.variant == SAMBA_DEFAULT), None)
    if default is not None:
        out += ["", "Against Samba as shipped, round by round (the median of the rounds' ratios):"]
        for m in (m for m in r.models if m.variant.edition):
            ratios = [_ratio(a, b) for a, b in zip(m.runs, default.runs, strict=True)]
            ratio = statistics.median(ratios)
            each = ", ".join(f"{x:.2f}" for x in ratios)
            out.append(
                f"- {m.variant.edition} ({m.variant.label}): {ratio:.2f}x AS exchanges per "
                f"second ({each}; target: no loss; {_verdict(ratio >= 0.95)})"
            )
    return [*out, ""]


def _api(r: Results) -> list[str]:
    out = [
        "## API latency",
        "",
        "boto3: the call as a client sees it (SigV4 signing, round trip, botocore's parse).",
        "server only: the same signed request over http.client, timed to the last byte of",
        "the body, not parsed. The two are interleaved, call by call.",
        "",
        "| instances | operation | boto3 median ms | boto3 p99 ms "
        "| server only median ms | server only p99 ms |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for count, ops in r.api:
        for name, lat in ops.items():
            b, s = lat.boto3, lat.server
            out.append(
                f"| {count} | {name} | {b.median_ms:.1f} | {b.p99_ms:.1f} "
                f"| {s.median_ms:.1f} | {s.p99_ms:.1f} |"
            )
    if r.api:
        count, ops = r.api[-1]
        p99 = max(lat.boto3.p99_ms for lat in ops.values())
        server_p99 = max(lat.server.p99_ms for lat in ops.values())
        enough = count >= 100
        out += [
            "",
            f"Target p99 < 50 ms at 100 instances, at {count} instances:",
            f"- the API (server only: signed request to the last byte of the answer): worst "
            f"p99 {server_p99:.1f} ms: {_verdict(server_p99 < 50 and enough)}",
            f"- through boto3, adding botocore's own parse of the answer (a client cost, the "
            f"same against AWS): worst p99 {p99:.1f} ms: {_verdict(p99 < 50 and enough)}",
        ]
    out += [
        "",
        "| instances running | PSS MiB (all postgres processes) | processes | MiB each |",
        "|---:|---:|---:|---:|",
    ]
    for postmasters, pss, procs in r.instance_memory:
        each = pss / 1024 / postmasters if postmasters else 0
        out.append(f"| {postmasters} | {pss / 1024:.0f} | {procs} | {each:.1f} |")
    for g in r.grow:
        out.append(
            f"\nGrowing to {g.target}: {g.available} available, {g.failed} failed, "
            f"{g.seconds:.0f} s from the first create call."
        )
    return [*out, ""]


MEANING = """\
## What the numbers mean

Everything ran at once on this one machine: the pgrealm server, the Samba DC(s), every
PostgreSQL, the MIT KDC and the clients share its cores, so the absolute numbers are
one-machine numbers and other work on the machine shows up as noise (the connection
targets are measured in interleaved rounds so that noise hits each target alike).
Connection setup is the wall time of one PQconnectdb (TCP connect, startup packet,
authentication, backend fork) with a ccache already holding the service ticket, so no
KDC is contacted in the loop; the hand-made PostgreSQL uses the same directory KDC, the
same client ccache and the same OS user, with default settings (pgrealm's instances
add WAL archiving and logging to files, as RDS does). Both Kerberos columns go straight
from libpq to the postmaster: nothing sits between client and server. sslmode=disable
everywhere; the scram role connects with gssencmode=disable as a password client would.
KDC rates are whole exchanges from worker processes running libkrb5 in a loop: an AS exchange is
two round trips (pre-authentication required on both KDCs) plus the client's PBKDF2
string-to-key, so client CPU is part of the cost on both sides. API latency is through
boto3, as a client sees it; the server-only column leaves out botocore's parsing of the
answer, which at 100 instances (~320 KB of XML) costs the client more than the server.
"""


def render(r: Results) -> str:
    head = [
        "# pgrealm benchmark",
        "",
        f"Run {r.date} on {r.cores} cores ({r.cpu}), {r.mem_gib:.0f} GiB RAM, "
        f"`make bench` (python -m bench).",
        "",
    ]
    load = ", ".join(f"{name} {avg:.1f}" for name, avg in r.load)
    notes = ["## Notes", "", *(f"- {n}" for n in r.notes)]
    notes += [f"- 1-minute load average at the start of each phase: {load}.", ""]
    body = [*_seed(r), *_connections(r), *_kdc(r), *_models(r), *_api(r), *notes, MEANING]
    return "\n".join(head + body)
