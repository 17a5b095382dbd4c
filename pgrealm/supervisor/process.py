"""One managed OS process: start it detached, recognise it again, stop it politely.

A process is identified by its PID *and* its start time (field 22 of /proc/<pid>/stat),
so a recycled PID is never mistaken for ours after a daemon restart.
"""

from __future__ import annotations

import logging
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ProcessSpec", "RunningProcess", "group_members", "is_alive", "reap", "start", "stop"]

log = logging.getLogger(__name__)

NSENTER = "/usr/bin/nsenter"


@dataclass(frozen=True)
class ProcessSpec:
    """What to run. ``name`` is unique across the stack (``"d-1234567890/dc1"``)."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None  # run as this OS user (PostgreSQL must never run as root)
    cwd: Path | None = None
    netns: str | None = None  # a named network namespace (/run/netns) to run in: its host's
    # Signals for a polite, then firmer, then final stop (PostgreSQL: smart, fast, immediate).
    stop_signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGKILL)
    # False: a death is left to its owner, who may do better than a restart (a Multi-AZ
    # primary fails over to its standby). A stop of the whole stack still restarts it.
    restart: bool = True


@dataclass(frozen=True)
class RunningProcess:
    pid: int
    start_time: int  # clock ticks since boot, from /proc/<pid>/stat


def _stat_fields(pid: int) -> list[bytes] | None:
    """Fields 3 onwards of /proc/<pid>/stat (state first), or None if it is gone."""
    try:  # os-level calls: the reconcile loop asks this of every process every second
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        raw = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(b")") + 2 :].split()


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    if fields is None or fields[0] == b"Z":  # a zombie is dead for our purposes
        return None
    return int(fields[19])


def is_alive(proc: RunningProcess) -> bool:
    return _start_time(proc.pid) == proc.start_time


def start(spec: ProcessSpec) -> RunningProcess:
    """Start ``spec`` in its own session so it outlives the daemon (and a daemon restart)."""
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **spec.env}
    uid = gid = None
    groups: list[int] | None = None
    argv = list(spec.argv)
    if spec.user:
        entry = pwd.getpwnam(spec.user)
        uid, gid, groups = entry.pw_uid, entry.pw_gid, []  # drop root's groups too
        env.setdefault("HOME", str(spec.cwd or "/"))
    if spec.netns:
        argv = _in_netns(spec.netns, uid, gid, argv)
        uid = gid = None  # nsenter drops to the user after entering (setns needs root)
        groups = None
    with open(spec.log_path, "ab") as logf:
        os.chown(spec.log_path, *_owner(spec.user))
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=spec.cwd,
            start_new_session=True,
            close_fds=True,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
    started = _start_time(proc.pid)
    log.info("%s: started pid %d", spec.name, proc.pid)
    return RunningProcess(proc.pid, started or 0)


def _in_netns(netns: str, uid: int | None, gid: int | None, argv: list[str]) -> list[str]:
    """``argv`` run in ``netns`` by nsenter, which then execs it: the PID stays the same.
    With a user, nsenter also drops every group (it calls setgroups with none)."""
    ids = [] if uid is None else ["--setuid", str(uid), "--setgid", str(gid)]
    return [NSENTER, f"--net=/run/netns/{netns}", *ids, "--", *argv]


def _owner(user: str | None) -> tuple[int, int]:
    if not user:
        return (os.getuid(), os.getgid())
    entry = pwd.getpwnam(user)
    return (entry.pw_uid, entry.pw_gid)


def stop(proc: RunningProcess, signals: Sequence[int], timeout: float = 10.0) -> None:
    """Send each signal in turn to the process group, waiting up to ``timeout`` after each.

    Done means the whole group is gone, not just its leader: samba's prefork master exits at
    once on SIGTERM while its workers finish writing, and whoever stops a DC next removes
    its files.
    """
    for sig in signals:
        if not _group_alive(proc):
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(proc.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reap(proc.pid)
            if not _group_alive(proc):
                return
            time.sleep(0.05)
    log.warning("pid %d survived %s", proc.pid, [signal.Signals(s).name for s in signals])


def _group_alive(proc: RunningProcess) -> bool:
    """The leader is ours and alive, or some process is still in its group."""
    if is_alive(proc):
        return True
    if _start_time(proc.pid) is not None:  # the PID was recycled: that group is not ours
        return False
    return bool(group_members(proc.pid))


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    members = []
    for name in os.listdir("/proc"):
        fields = _stat_fields(int(name)) if name.isdigit() else None
        if fields is not None and fields[0] != b"Z" and int(fields[2]) == pgid:
            members.append(int(name))
    return members


def reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
