"""The baseline: a plain PostgreSQL 15 cluster configured by hand for GSSAPI against
the SAME directory's KDC, as a DBA would without pgrealm.

initdb as the ``pgrealm`` OS user in a directory of the benchmark's home, then by hand:
listen_addresses, krb_server_keyfile and a three-line pg_hba (trust on the local
socket, scram-sha-256 for the password role, gss for everyone else). Its service
principal ``postgres/<HOST>`` is an AES-only computer account made on the directory's
first DC with the Samba engine (the same calls the instance reconciler uses), and its
keytab is exported from there. Everything else stays at PostgreSQL's defaults; notably
``log_connections`` is off here and on in pgrealm's instances.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench import libpq
from pgrealm.engines import samba
from pgrealm.engines.postgres import as_user

__all__ = ["HOST", "Handmade"]

HOST = "handmade-pg.bench.internal"
_BIN = Path("/usr/lib/postgresql/15/bin")
_ACCOUNT = "pgbenchhand"  # its computer account (a NetBIOS name: <= 15 characters)


@dataclass
class Handmade:
    home: Path
    address: str
    realm: str
    os_user: str = "pgrealm"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "socket"

    @property
    def keytab(self) -> Path:
        return self.home / "krb5.keytab"

    def _owned_dir(self, path: Path, uid: int, gid: int) -> None:
        path.mkdir(mode=0o700, exist_ok=True)
        os.chown(path, uid, gid)

    def create(self, dc: samba.DcSpec) -> None:
        pw = pwd.getpwnam(self.os_user)
        for d in (self.home, self.socket_dir, self.home / "rcache"):
            self._owned_dir(d, pw.pw_uid, pw.pw_gid)
        argv = [str(_BIN / "initdb"), "-D", str(self.data), "-U", "postgres"]
        argv += ["--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8"]
        subprocess.run(
            as_user(self.os_user, argv),
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            cwd=self.home,
            check=True,
            capture_output=True,
            timeout=300,
        )
        spn = f"postgres/{HOST}"
        samba.ensure_service_account(dc, _ACCOUNT, spn)
        samba.export_keytab(dc, f"{spn}@{self.realm}", self.keytab, pw.pw_uid, pw.pw_gid)
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# by hand\n"
                f"listen_addresses = '{self.address}'\n"
                "port = 5432\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                f"krb_server_keyfile = '{self.keytab}'\n"
            )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host  all bench_scram 127.0.0.0/8 scram-sha-256\n"
            f"host  all all 127.0.0.0/8 gss include_realm=1 krb_realm={self.realm}\n"
        )

    def start(self) -> None:
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            # Its own replay cache dir, as each pgrealm instance has: same filesystem, no sharing.
            "KRB5RCACHEDIR": str(self.home / "rcache"),
        }
        with open(self.home / "postgres.log", "ab") as log:
            self.proc = subprocess.Popen(
                as_user(self.os_user, [str(_BIN / "postgres"), "-D", str(self.data)]),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                libpq.execute(self.trust(), "SELECT 1")
                return
            except libpq.ConnectError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"hand-made postgres exited; see {self.home}") from None
                time.sleep(0.1)
        raise TimeoutError("hand-made postgres did not start")

    def add_roles(self, kerberos_user: str, scram_user: str, scram_password: str) -> None:
        literal = scram_password.replace("'", "''")
        libpq.execute(self.trust(), f'CREATE ROLE "{kerberos_user}" LOGIN')
        libpq.execute(self.trust(), f"CREATE ROLE {scram_user} LOGIN PASSWORD '{literal}'")

    def trust(self) -> libpq.Target:
        return libpq.Target(
            "hand-made, trust, local socket",
            f"host={self.socket_dir} port=5432 dbname=postgres user=postgres sslmode=disable "
            "gssencmode=disable",
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # setpriv execs postgres, so this PID is the postmaster: SIGINT is a fast shutdown.
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGQUIT)
            self.proc.wait(30)
