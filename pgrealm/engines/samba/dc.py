"""Running a DC: the argv and environment the supervisor starts, and a readiness probe.

Process model (``DcSpec.process_model``, chosen per directory edition in
reconcile/directory.py). Measured on Samba 4.17 on 2 cores (``make bench`` compares them
side by side on one DC, against Samba as shipped):

* ``single`` (Standard edition): every AD service (KDC, LDAP, DNS, RPC, drepl, kcc) in
  one process, ~30 MB PSS per DC in a two-DC directory. Requests are served one at a
  time, so the KDC uses one core: ~0.85x the AS exchanges/s of Samba's default.
* ``prefork`` (Enterprise edition): a master process per service and worker processes
  under it; pgrealm gives the KDC a worker per core (2-4) and LDAP and RPC one each
  (conf.prefork_options). AS exchanges/s match or beat Samba's default (4 workers per
  service), at ~50 MB per DC against ~100 for Samba's default.
* ``standard`` (a process per service) is measured but not used: the KDC still runs in
  one process, so it costs prefork's memory without prefork's throughput.

Allocator: samba runs on jemalloc (:func:`allocator_env`). With glibc's malloc a DC's
processes keep the heap they grew to at their busiest: replication's first full pass
left an RPC worker with a 28 MB heap of which 24 MB was free, and a two-DC Enterprise
directory at ~180 MB; on jemalloc, which returns freed pages, it is ~100 MB and a
Standard one ~55 MB. winbindd is not started in any model (see conf.SERVER_SERVICES)
unless the directory has trusts (DcSpec.trusts); with it, each DC costs ~50 MB more.

``--foreground`` without ``--interactive``: interactive mode exits when stdin closes and
logs to stdout; foreground keeps logging to ``log/samba.log`` and stays up with stdin
on /dev/null. ``--no-process-group`` keeps samba (and winbindd, which it starts) in the
supervisor's session/process group, so one signal to the group stops all of them.

The DC runs in a private mount namespace (``unshare -m``, then ``exec``, so the PID the
supervisor records is samba's own) where the home's resolv.conf is bound over
/etc/resolv.conf: Samba's own name lookups (a peer DC by its ntdsDSA GUID CNAME) then ask
the directory's DNS on loopback and never the host's resolver (see conf.py). Tools that
talk to a peer DC (samba-tool domain join, samba_spnupdate) run the same way
(:func:`confined`).
"""

from __future__ import annotations

import functools
import glob
import logging
import os
from pathlib import Path

from pgrealm.engines.samba import tool
from pgrealm.engines.samba.spec import DcSpec
from pgrealm.engines.sockets import dns_answers, tcp_open

__all__ = [
    "SAMBA",
    "allocator_env",
    "confined",
    "dc_alive",
    "dc_argv",
    "dc_env",
    "dc_pid",
    "dc_ready",
    "start_failure",
]

log = logging.getLogger(__name__)

SAMBA = "/usr/sbin/samba"
UNSHARE = "/usr/bin/unshare"
# $1 is the resolv.conf to bind; the rest is the command, exec'd so it keeps the PID.
_BIND_RESOLV = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
# The same, and $2 (the DC's winbindd socket directory) bound where smbd looks for
# winbindd: libwbclient ignores "winbindd socket directory", and an smbd that cannot
# reach winbindd fails every SMB session setup with NT_STATUS_INTERNAL_ERROR (Samba
# 4.17). The empty /run/samba/winbindd made on the machine is Debian's own path.
_WINBINDD_DIR = "/run/samba/winbindd"
_BIND_RESOLV_WINBINDD = (
    f'mount --bind "$1" /etc/resolv.conf && mkdir -p "$2" {_WINBINDD_DIR} && '
    f'mount --bind "$2" {_WINBINDD_DIR} && shift 2 && exec "$@"'
)


def confined(dc: DcSpec, argv: list[str]) -> list[str]:
    """``argv`` run in a new mount namespace that sees ``dc``'s resolv.conf as the system one
    (and, with trusts, its winbindd as the system's)."""
    if dc.trusts:
        script, binds = (
            _BIND_RESOLV_WINBINDD,
            [str(dc.paths.resolv_conf), str(dc.paths.run / "winbindd")],
        )
    else:
        script, binds = _BIND_RESOLV, [str(dc.paths.resolv_conf)]
    return [
        UNSHARE,
        "--mount",
        "--propagation=private",
        "/bin/sh",
        "-c",
        script,
        "pgrealm-dc",
        *binds,
        *argv,
    ]


def dc_argv(dc: DcSpec, model: str | None = None) -> list[str]:
    """argv that runs ``dc`` in the foreground (the supervisor detaches it), with its own
    process model unless ``model`` overrides it (the benchmark's side-by-side runs)."""
    return confined(dc, _samba_argv(dc, model or dc.process_model))


def _samba_argv(dc: DcSpec, model: str) -> list[str]:
    return [
        SAMBA,
        "--foreground",
        "--no-process-group",
        f"--model={model}",
        f"--configfile={dc.paths.smb_conf}",
        f"--log-basename={dc.paths.log}",
    ]


def dc_env(dc: DcSpec) -> dict[str, str]:
    """The complete environment to start ``dc`` with (do not merge os.environ)."""
    return {**tool.samba_env(dc), **allocator_env()}


# Debian's libjemalloc2, wherever the multiarch directory is.
_JEMALLOC_GLOB = "/usr/lib/*/libjemalloc.so.2"


@functools.cache
def allocator_env() -> dict[str, str]:
    """Run samba on jemalloc, which hands freed pages back to the kernel (see the module
    docstring); empty, with a warning, where libjemalloc2 is not installed."""
    found = sorted(glob.glob(_JEMALLOC_GLOB))
    if not found:
        log.warning("libjemalloc2 is not installed: DCs run on glibc malloc (more memory)")
        return {}
    return {
        "LD_PRELOAD": found[0],
        # ldb dlopen()s its modules with RTLD_DEEPBIND, which would bind their malloc to
        # glibc's while talloc uses jemalloc's: "free(): invalid pointer" at start.
        # Samba's own test suite sets this for its preloaded wrappers.
        "LDB_MODULES_DISABLE_DEEPBIND": "1",
        # samba's processes are single-threaded: one arena. Freed pages go back at once
        # (decay 0): measured, no cost in AS exchanges/s. The thread cache stays on:
        # without it the KDC served ~15% fewer AS exchanges.
        "MALLOC_CONF": "narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0",
    }


def dc_pid(dc: DcSpec) -> int | None:
    """PID from samba's pidfile, if the file exists and the process is alive."""
    try:
        pid = int(dc.paths.pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def dc_alive(dc: DcSpec) -> bool:
    """Cheap liveness, no network: samba's pidfile names a process that is neither dead,
    a zombie, nor stopped (SIGSTOP). Used to pick the DC that takes a write."""
    pid = dc_pid(dc)
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("T", "t", "Z", "X")


def dc_ready(dc: DcSpec, timeout: float = 0.5) -> bool:
    """True when the KDC (88/tcp), LDAP (389/tcp) and DNS (53/udp, a real answer) respond."""
    return (
        tcp_open(dc.reach_address, 88, timeout)
        and tcp_open(dc.reach_address, 389, timeout)
        and dns_answers(dc.reach_address, dc.domain.dns_name, timeout)
    )


def start_failure(spec: DcSpec) -> str:
    """Why samba exited, in its own words: most often a port another program holds (a
    service bound to 0.0.0.0:88 or :53 leaves no 127.x address free for that port)."""
    log_file = spec.paths.log / "log.samba"
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return f"see {spec.paths.log}"
    binds = [ln.strip() for ln in lines if "Failed to bind" in ln or "ADDRESS_ALREADY" in ln]
    detail = binds[-1] if binds else next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    return f"{detail} (see {log_file})"
