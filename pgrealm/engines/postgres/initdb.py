"""Creating an instance on disk: its home layout, the cluster (initdb), its config files
and its keytab. Everything here is idempotent and safe to repeat after a crash.

initdb writes PG_VERSION before it has finished, so PG_VERSION alone does not prove a
complete cluster: initdb builds ``data.initdb/`` and only a finished one is renamed to
``data/``. A leftover ``data.initdb/`` is a crashed attempt and is removed.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from pgrealm.engines import _exec
from pgrealm.engines.postgres._files import atomic_write
from pgrealm.engines.postgres.conf import INCLUDE_LINE, render_conf
from pgrealm.engines.postgres.hba import render_hba, render_ident
from pgrealm.engines.postgres.osuser import (
    as_user,
    check_traversable,
    ensure_os_user,
    ensure_owned_dir,
    tool_env,
)
from pgrealm.engines.postgres.spec import (
    INTERNAL_SUPERUSER,
    PgSpec,
    bin_path,
    data_dir,
    keytab_path,
    krb5_conf_path,
    log_dir,
    rcache_dir,
    socket_dir,
)

__all__ = [
    "config_digest",
    "ensure_layout",
    "init_cluster",
    "install_keytab",
    "is_initialized",
    "keytab_present",
    "remove_keytab",
    "write_config",
]

log = logging.getLogger(__name__)

_INITDB_TIMEOUT = 300.0


def ensure_layout(spec: PgSpec) -> tuple[int, int]:
    """Create home and its directories, owned by the OS user; return its (uid, gid)."""
    uid, gid = ensure_os_user(spec.os_user)
    spec.home.mkdir(parents=True, exist_ok=True)
    check_traversable(spec.home, uid, gid)
    for path in (spec.home, socket_dir(spec), log_dir(spec), rcache_dir(spec)):
        ensure_owned_dir(path, uid, gid, 0o700)
    if spec.wal_archive is not None:
        ensure_owned_dir(spec.wal_archive, uid, gid, 0o700)
    return uid, gid


def is_initialized(spec: PgSpec) -> bool:
    return (data_dir(spec) / "PG_VERSION").is_file()


def init_cluster(spec: PgSpec) -> None:
    """Run initdb as the OS user (skipped if the cluster exists), then write the config."""
    uid, gid = ensure_layout(spec)
    if not is_initialized(spec):
        _initdb(spec)
    write_config(spec)


def _initdb(spec: PgSpec) -> None:
    staging = spec.home / "data.initdb"
    if staging.exists():
        log.warning("removing %s left by an interrupted initdb", staging)
        shutil.rmtree(staging)
    log.info("initdb %s as %s", data_dir(spec), spec.os_user)
    argv = [
        bin_path("initdb"),
        "-D",
        str(staging),
        "-U",
        INTERNAL_SUPERUSER,
        "--auth-local=peer",
        "--auth-host=reject",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-instructions",
    ]
    _exec.run(
        as_user(spec.os_user, argv), env=tool_env(), cwd=str(spec.home), timeout=_INITDB_TIMEOUT
    )
    staging.rename(data_dir(spec))


def write_config(spec: PgSpec) -> None:
    """Write pgrealm.conf, pg_hba.conf and pg_ident.conf; make postgresql.conf include ours.

    A running server needs :func:`pgrealm.engines.postgres.postmaster.reload` afterwards
    (or a restart, for listen_addresses and port).
    """
    uid, gid = ensure_layout(spec)
    data = data_dir(spec)
    atomic_write(data / "pgrealm.conf", render_conf(spec), uid=uid, gid=gid)
    atomic_write(data / "pg_hba.conf", render_hba(spec), uid=uid, gid=gid)
    atomic_write(data / "pg_ident.conf", render_ident(spec), uid=uid, gid=gid)
    atomic_write(krb5_conf_path(spec), render_krb5_conf(spec), uid=uid, gid=gid)
    main = data / "postgresql.conf"
    text = main.read_text(encoding="utf-8")
    if INCLUDE_LINE not in text.splitlines():
        suffix = "" if text.endswith("\n") else "\n"
        text += f"{suffix}\n# added by pgrealm: its settings override the ones above\n"
        atomic_write(main, text + INCLUDE_LINE + "\n", uid=uid, gid=gid)


def render_krb5_conf(spec: PgSpec) -> str:
    """The server's own krb5.conf. Accepting GSSAPI needs only the keytab, but without a
    file of its own libkrb5 would read the host's /etc/krb5.conf, whose realm and DNS
    lookups point off this machine."""
    realm = f"    default_realm = {spec.realm}\n" if spec.realm else ""
    return (
        "# managed by pgrealm: the instance's Kerberos settings (acceptor only)\n"
        "[libdefaults]\n"
        f"{realm}"
        "    dns_lookup_kdc = false\n"
        "    dns_lookup_realm = false\n"
        "    rdns = false\n"
        "    dns_canonicalize_hostname = false\n"
    )


def install_keytab(spec: PgSpec, content: bytes) -> Path:
    """Put the service keytab where krb_server_keyfile points: 0600, owned by the OS user."""
    uid, gid = ensure_layout(spec)
    path = keytab_path(spec)
    atomic_write(path, content, uid=uid, gid=gid, mode=0o600)
    return path


def config_digest(spec: PgSpec) -> str:
    """A digest of every file the instance's settings render to: a change means a rewrite
    (and a reload, or a restart for postmaster settings)."""
    text = render_conf(spec) + render_hba(spec) + render_krb5_conf(spec)
    return hashlib.sha256(text.encode()).hexdigest()


def keytab_present(path: Path) -> bool:
    return path.is_file()


def remove_keytab(path: Path) -> None:
    """The instance left its domain: its keys go."""
    path.unlink(missing_ok=True)
