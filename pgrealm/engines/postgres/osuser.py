"""The unprivileged system user that owns and runs PostgreSQL clusters, and running tools as it.

PostgreSQL refuses to run as root, and must not: the control plane runs as root, so every
tool that touches a cluster (initdb, psql, pg_ctl) is started through :func:`as_user`.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
from pathlib import Path

from pgrealm.engines import _exec
from pgrealm.errors import ReconcileError

__all__ = [
    "as_user",
    "check_traversable",
    "ensure_os_user",
    "ensure_owned_dir",
    "os_user_exists",
    "tool_env",
]

log = logging.getLogger(__name__)

_NOLOGIN = "/usr/sbin/nologin"


def os_user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def ensure_os_user(name: str) -> tuple[int, int]:
    """Create system user ``name`` with its own group if missing; return its (uid, gid)."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        log.info("creating system user %s", name)
        _exec.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                _NOLOGIN,
                "--comment",
                "pgrealm PostgreSQL",
                name,
            ]
        )
        pw = pwd.getpwnam(name)
    if pw.pw_uid == 0:
        raise ReconcileError(f"OS user {name} is root; PostgreSQL must not run as root")
    return pw.pw_uid, pw.pw_gid


def tool_env() -> dict[str, str]:
    """A clean environment for a tool: the control plane's PG*/KRB5* variables must not leak."""
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def as_user(name: str, argv: list[str]) -> list[str]:
    """Wrap ``argv`` so it runs as ``name`` with that user's groups only.

    subprocess' ``user=`` (and so ``_exec.run(user=)``) changes only the uid: the child would
    keep gid 0 and root's supplementary groups, and every file initdb writes would belong to
    group root. setpriv switches all three and drops capabilities with the uid change.
    """
    return ["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups", "--", *argv]


def check_traversable(path: Path, uid: int, gid: int) -> None:
    """Fail clearly if ``uid`` cannot reach ``path`` (a 0700 parent, as pytest's tmp dirs are)."""
    groups = {gid, *(g.gr_gid for g in grp.getgrall() if _member(g, uid))}
    for parent in path.resolve().parents:
        st = parent.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid in groups:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            raise ReconcileError(
                f"{parent} is not searchable by uid {uid}; the instance home must be reachable"
            )


def _member(group: grp.struct_group, uid: int) -> bool:
    try:
        return pwd.getpwuid(uid).pw_name in group.gr_mem
    except KeyError:
        return False


def ensure_owned_dir(path: Path, uid: int, gid: int, mode: int) -> None:
    """Create ``path`` if missing and give it to the OS user with ``mode`` (not recursive)."""
    path.mkdir(mode=mode, parents=False, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
