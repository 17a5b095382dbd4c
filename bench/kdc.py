"""Kerberos exchanges per second, the directory's KDC (Samba) beside an MIT krb5kdc the
benchmark starts itself on another 127.x address, measured the same way.

Each measurement runs ``clients`` load workers (bench/krb5load.py, libkrb5 via ctypes)
at once for a fixed time, and counts the exchanges that succeeded. Both KDCs get the
same client: an AES password principal that requires pre-authentication (AD's default;
set on the MIT principal with +requires_preauth) and a service principal for TGS.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pgrealm.engines.krb5.mitkdc import MitRealm

__all__ = ["KdcRate", "MitKdc", "measure"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class KdcRate:
    label: str
    exchange: str  # "AS" or "TGS"
    ok: int
    errors: int
    seconds: float
    error: str = ""

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


class MitKdc:
    """An MIT realm with one user and one service, and its krb5kdc running."""

    def __init__(self, home: Path, address: str) -> None:
        self.realm = MitRealm(home=home, realm="BENCH.MIT.TEST", address=address)
        self.password = secrets.token_urlsafe(18) + "Aa7#"
        self.user = "benchuser@BENCH.MIT.TEST"
        self.service = "postgres/tgs.bench.mit.test@BENCH.MIT.TEST"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        r = self.realm
        r.create()
        r.add_principal(self.user, self.password)
        # AD requires pre-authentication by default; make MIT do the same two round trips.
        subprocess.run(
            [
                "/usr/sbin/kadmin.local",
                "-r",
                r.realm,
                "-q",
                f"modprinc +requires_preauth {self.user}",
            ],
            env=r.env(),
            check=True,
            capture_output=True,
            timeout=60,
        )
        r.add_principal(self.service)
        with open(r.home / "krb5kdc.out", "ab") as out:
            self.proc = subprocess.Popen(
                r.kdc_argv(),
                env=r.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((r.address, r.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"krb5kdc exited; see {r.home}") from None
                time.sleep(0.05)
        raise TimeoutError("krb5kdc did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def measure(
    label: str,
    exchange: str,
    krb5_conf: Path,
    principal: str,
    password: str,
    service: str,
    *,
    seconds: float,
    clients: int,
    limit: int = 1_000_000,
) -> KdcRate:
    """Run ``clients`` workers for ``seconds``; the sum of their exchanges."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "KRB5_CONFIG": str(krb5_conf)}
    argv = [sys.executable, "-m", "bench.krb5load", exchange.lower(), principal]
    argv += [str(seconds), str(limit), service]
    procs = [
        subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(clients)
    ]
    for p in procs:  # release them all before reading any, so they run at the same time
        assert p.stdin is not None
        p.stdin.write(password + "\n")
        p.stdin.flush()  # communicate() closes it
    results = []
    for p in procs:
        out, err = p.communicate(timeout=seconds + 120)
        if p.returncode != 0:
            raise RuntimeError(f"krb5load {exchange} against {label}: {err.strip()}")
        results.append(json.loads(out))
    return KdcRate(
        label=label,
        exchange=exchange,
        ok=sum(r["ok"] for r in results),
        errors=sum(r["errors"] for r in results),
        seconds=max(r["seconds"] for r in results),
        error="; ".join(sorted({r["error"] for r in results if "error" in r})),
    )
