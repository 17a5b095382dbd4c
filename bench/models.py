"""Samba's process models side by side on one scratch DC: memory and AS exchanges/s.

pgrealm runs every DC with ``--model=single`` to keep a two-DC directory far under
150 MB. This provisions one throwaway domain on its own address, then runs the same DC
with each model in turn and measures, the same way for each, its PSS (after the load,
so prefork's workers are counted) and AS exchanges per second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.kdc import KdcRate, measure
from bench.procmem import tree_pss_kib
from bench.seed_flow import new_password
from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.engines import samba

__all__ = ["MODELS", "ModelResult", "compare_models"]

MODELS = ("single", "prefork", "standard")
_DOMAIN = samba.DomainSpec(dns_name="models.bench.test", netbios="MODELS")


@dataclass(frozen=True)
class ModelResult:
    model: str
    pss_kib: int
    processes: int
    as_rate: KdcRate


def compare_models(home: Path, address: str, *, seconds: float, clients: int) -> list[ModelResult]:
    dc = samba.DcSpec(domain=_DOMAIN, hostname="MODELDC", address=address, home=home / "dc")
    samba.provision_dc(dc, new_password(), [address])
    password = new_password()
    samba.create_user(dc, "benchuser", password=password)
    conf = home / "krb5.conf"
    conf.write_text(render_krb5_conf(_DOMAIN.realm, [address]))
    return [_run(dc, model, conf, password, seconds, clients) for model in MODELS]


def _run(
    dc: samba.DcSpec, model: str, conf: Path, password: str, seconds: float, clients: int
) -> ModelResult:
    proc = subprocess.Popen(
        samba.dc_argv(dc, model=model),
        env=samba.dc_env(dc),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not samba.dc_ready(dc):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the scratch DC did not start with --model={model}")
            time.sleep(0.2)
        rate = measure(
            f"Samba --model={model}",
            "AS",
            conf,
            f"benchuser@{_DOMAIN.realm}",
            password,
            f"krbtgt/{_DOMAIN.realm}@{_DOMAIN.realm}",
            seconds=seconds,
            clients=clients,
        )
        pss, procs = tree_pss_kib([proc.pid])
        print(f"  model {model}: AS {rate.per_second:.0f}/s, {pss / 1024:.0f} MiB PSS", flush=True)
        return ModelResult(model, pss, procs, rate)
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
