"""Samba's process models side by side on one scratch DC: memory and AS exchanges/s.

pgrealm runs a Standard directory's DCs with ``--model=single`` and an Enterprise
directory's with ``--model=prefork`` and a KDC worker per core, both on jemalloc
(engines/samba/dc.py); the baseline is Samba as shipped.
This provisions one throwaway domain on its own address, then runs the same DC as each
variant in turn, ``rounds`` times round-robin (so drifting load on the machine hits every
variant alike), and measures each run the same way: AS exchanges per second, then PSS
(after the load, so prefork's workers are counted). A variant's figures are the median
of its runs; comparisons between variants are made round by round (see report.py).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench.kdc import KdcRate, measure
from bench.procmem import tree_pss_kib
from bench.seed_flow import new_password
from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.engines import samba

__all__ = ["SAMBA_DEFAULT", "VARIANTS", "ModelResult", "Variant", "compare_models"]

_DOMAIN = samba.DomainSpec(dns_name="models.bench.test", netbios="MODELS")


@dataclass(frozen=True)
class Variant:
    label: str
    model: str
    options: tuple[str, ...] = ()  # smb.conf options given on samba's command line
    edition: str = ""  # the directory edition that runs DCs this way, if any
    jemalloc: bool = True  # pgrealm's allocator (dc.allocator_env) or glibc's, as shipped


SAMBA_DEFAULT = Variant(
    "prefork, Samba as shipped (4 workers a service, glibc malloc)",
    "prefork",
    ("prefork children = 4", "prefork children:kdc = 4"),
    jemalloc=False,
)
VARIANTS = (
    Variant("single", "single", edition="Standard"),
    Variant("prefork as pgrealm runs it", "prefork", edition="Enterprise"),
    Variant("prefork as pgrealm runs it, glibc malloc", "prefork", jemalloc=False),
    SAMBA_DEFAULT,
    Variant("standard", "standard"),
)


@dataclass(frozen=True)
class ModelResult:
    variant: Variant
    pss_kib: int
    processes: int
    as_rate: KdcRate
    runs: tuple[float, ...]  # AS exchanges/s of each round


def compare_models(
    home: Path, address: str, *, seconds: float, clients: int, rounds: int = 3
) -> list[ModelResult]:
    dc = samba.DcSpec(domain=_DOMAIN, hostname="MODELDC", address=address, home=home / "dc")
    samba.provision_dc(dc, new_password(), [address])
    password = new_password()
    samba.create_user(dc, "benchuser", password=password)
    conf = home / "krb5.conf"
    conf.write_text(render_krb5_conf(_DOMAIN.realm, [address]))
    runs: dict[Variant, list[tuple[KdcRate, int, int]]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for variant in VARIANTS:
            runs[variant].append(_run(dc, variant, conf, password, seconds, clients))
    return [_summary(variant, results) for variant, results in runs.items()]


def _summary(variant: Variant, results: list[tuple[KdcRate, int, int]]) -> ModelResult:
    rates = sorted(results, key=lambda r: r[0].per_second)
    middle = rates[(len(rates) - 1) // 2]  # the lower median: a real run, not an average
    return ModelResult(
        variant=variant,
        pss_kib=int(statistics.median(r[1] for r in results)),
        processes=middle[2],
        as_rate=middle[0],
        runs=tuple(r[0].per_second for r in results),
    )


def _run(
    dc: samba.DcSpec, variant: Variant, conf: Path, password: str, seconds: float, clients: int
) -> tuple[KdcRate, int, int]:
    spec = replace(dc, process_model=variant.model)
    samba.write_dc_configs(spec, [dc.address])  # prefork's worker counts live in smb.conf
    argv = samba.dc_argv(spec) + [f"--option={o}" for o in variant.options]
    env = samba.dc_env(spec)
    if not variant.jemalloc:
        env = {k: v for k, v in env.items() if k not in samba.allocator_env()}
    proc = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not samba.dc_ready(spec):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the scratch DC did not start as {variant.label}")
            time.sleep(0.2)
        rate = measure(
            f"Samba {variant.label}",
            "AS",
            conf,
            f"benchuser@{_DOMAIN.realm}",
            password,
            f"krbtgt/{_DOMAIN.realm}@{_DOMAIN.realm}",
            seconds=seconds,
            clients=clients,
        )
        pss, procs = tree_pss_kib([proc.pid])
        print(
            f"  {variant.label}: AS {rate.per_second:.0f}/s, {pss / 1024:.0f} MiB PSS", flush=True
        )
        return rate, pss, procs
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
