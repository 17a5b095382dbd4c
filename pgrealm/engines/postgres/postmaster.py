"""Running an instance: the postmaster's argv and environment, readiness, reload and stop.

The supervisor, not this module, starts the postmaster: detached in a new session and as
the OS user, so postgres is never a child that dies with (or is reaped by) the control
plane, which may restart and adopt it. Everything else here goes through pg_ctl or
pg_isready, run as the OS user, because pg_ctl refuses to run as root.
"""

from __future__ import annotations

import logging
import os
import signal

from pgrealm.engines import _exec
from pgrealm.engines.postgres.osuser import as_user, tool_env
from pgrealm.engines.postgres.spec import (
    PgSpec,
    bin_path,
    data_dir,
    krb5_conf_path,
    rcache_dir,
    socket_dir,
)
from pgrealm.errors import EngineError

__all__ = [
    "STOP_MODES",
    "is_ready",
    "postmaster_argv",
    "postmaster_env",
    "postmaster_pid",
    "reload",
    "signal_reload",
    "stop",
]

log = logging.getLogger(__name__)

STOP_MODES = ("smart", "fast", "immediate")


def postmaster_argv(spec: PgSpec) -> list[str]:
    """The foreground postmaster; the caller runs it as ``spec.os_user``."""
    return [bin_path("postgres"), "-D", str(data_dir(spec))]


def postmaster_env(spec: PgSpec) -> dict[str, str]:
    """Environment for the postmaster, built from scratch.

    KRB5RCACHEDIR gives each instance its own replay cache: MIT's default is one file per
    uid in /var/tmp, which all instances of the shared OS user would contend for.
    """
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "KRB5RCACHEDIR": str(rcache_dir(spec)),
        "KRB5_CONFIG": str(krb5_conf_path(spec)),
    }


def _isready(spec: PgSpec, host: str, timeout: int) -> bool:
    argv = [bin_path("pg_isready"), "-q", "-h", host, "-p", str(spec.port), "-t", str(timeout)]
    done = _exec.run(argv, env=tool_env(), timeout=timeout + 5, check=False)
    return done.returncode == 0


def is_ready(spec: PgSpec, timeout: int = 2) -> bool:
    """True once the server accepts connections on its socket and on its address."""
    return _isready(spec, str(socket_dir(spec)), timeout) and _isready(
        spec, spec.reach or spec.address, timeout
    )


def postmaster_pid(spec: PgSpec) -> int | None:
    """The PID in postmaster.pid, if the file exists (the process may be gone)."""
    try:
        first = (data_dir(spec) / "postmaster.pid").read_text(encoding="utf-8").split("\n", 1)[0]
    except FileNotFoundError:
        return None
    return int(first) if first.strip().isdigit() else None


def signal_reload(pid: int) -> None:
    """SIGHUP to the postmaster ``pid``: it re-reads postgresql.conf and pg_hba.conf."""
    os.kill(pid, signal.SIGHUP)


def reload(spec: PgSpec) -> None:
    """Make a running server re-read its config files (pg_hba, pgrealm.conf)."""
    argv = [bin_path("pg_ctl"), "reload", "-s", "-D", str(data_dir(spec))]
    _exec.run(as_user(spec.os_user, argv), env=tool_env(), cwd=str(spec.home), timeout=30)


def stop(spec: PgSpec, mode: str = "fast", timeout: int = 60) -> None:
    """Stop the server and wait for it; a server that is not running is already stopped."""
    if mode not in STOP_MODES:
        raise ValueError(f"stop mode must be one of {STOP_MODES}")
    if postmaster_pid(spec) is None:
        return
    argv = [
        bin_path("pg_ctl"),
        "stop",
        "-s",
        "-D",
        str(data_dir(spec)),
        "-m",
        mode,
        "-w",
        "-t",
        str(timeout),
    ]
    done = _exec.run(
        as_user(spec.os_user, argv),
        env=tool_env(),
        cwd=str(spec.home),
        timeout=timeout + 10,
        check=False,
    )
    # pg_ctl exits 1 when the pidfile names a dead process: that is stopped too.
    if done.returncode != 0 and "Is server running" not in done.stderr:
        raise EngineError(done.argv, done.returncode, done.stderr)
