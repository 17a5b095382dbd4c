"""Streaming replication: read replicas, and a Multi-AZ instance's standby.

A read replica starts as a copy of its source made by ``pg_basebackup`` over the VPC, from
the replica's own network namespace, then runs as a hot standby (``standby.signal``) that
streams WAL from the source (``primary_conninfo``, conf.py); promoting it ends recovery.

The source lets the replica in for replication as ``rdsrepladmin`` (RDS's name for its
replication role) from the replica's VPC address only, and without a password (hba.py):
that address exists only in a namespace pgrealm made for the replica, so no secret has to
sit in the replica's files for the walreceiver to read.
"""

from __future__ import annotations

import logging
import os

from pgrealm.engines import _exec, netns
from pgrealm.engines.homes import remove_tree
from pgrealm.engines.postgres.initdb import ensure_layout, write_config
from pgrealm.engines.postgres.osuser import as_user, tool_env
from pgrealm.engines.postgres.pitr import in_recovery
from pgrealm.engines.postgres.roles import role_exists, run_sql
from pgrealm.engines.postgres.snapshot import fresh_staging
from pgrealm.engines.postgres.spec import (
    MULTI_AZ_STANDBY,
    REPLICATION_USER,
    PgSpec,
    bin_path,
    data_dir,
    keytab_path,
    krb5_conf_path,
    log_dir,
    rcache_dir,
    socket_dir,
    tls_dir,
)

__all__ = [
    "clone_from_primary",
    "ensure_replication_role",
    "promote",
    "remove_server",
    "replica_lag",
    "standby_streaming",
]

log = logging.getLogger(__name__)

_CLONE_TIMEOUT = 3600.0
_CONNECT_TIMEOUT = 10  # seconds
_PROMOTE_WAIT = 60  # seconds pg_promote waits for the end of recovery


def clone_from_primary(spec: PgSpec) -> None:
    """Make ``spec``'s data directory a standby of ``spec.primary``, then write its config."""
    if spec.primary is None:
        raise ValueError("a clone needs the source's address")
    uid, gid = ensure_layout(spec)
    staging = fresh_staging(data_dir(spec), uid, gid)
    # connect_timeout: a path the VPC's routes or ACLs drop fails in seconds, not minutes.
    conninfo = (
        f"host={spec.primary} port={spec.port} user={REPLICATION_USER} "
        f"connect_timeout={_CONNECT_TIMEOUT}"
    )
    argv = as_user(spec.os_user, [
        bin_path("pg_basebackup"), "-d", conninfo, "-D", str(staging), "-X", "stream",
        "--checkpoint=fast", "--no-password",
    ])  # fmt: skip
    if spec.netns:  # over the VPC, as the walreceiver will connect
        argv = netns.wrap(spec.netns, argv)
    _exec.run(argv, env=tool_env(), cwd=str(spec.home), timeout=_CLONE_TIMEOUT)
    signal_file = staging / "standby.signal"
    signal_file.touch()
    os.chown(signal_file, uid, gid)
    staging.rename(data_dir(spec))
    write_config(spec)
    log.info("%s: cloned from %s", spec.home, spec.primary)


def promote(spec: PgSpec) -> None:
    """End the standby's recovery: it becomes a writable primary (no-op if it is one)."""
    if in_recovery(spec):
        run_sql(spec, f"SELECT pg_promote(true, {_PROMOTE_WAIT})")
        log.info("%s: promoted", spec.home)


def ensure_replication_role(spec: PgSpec) -> None:
    """The role replicas connect as. A standby has it from its own source already."""
    if not role_exists(spec, REPLICATION_USER):
        run_sql(spec, f"CREATE ROLE {REPLICATION_USER} LOGIN REPLICATION;")


def replica_lag(spec: PgSpec) -> dict[str, float]:
    """Each streaming replica's address and how far it is behind, in seconds of replay
    (0 when it has replayed everything the source wrote)."""
    out = run_sql(
        spec,
        "SELECT host(client_addr), coalesce(extract(epoch FROM replay_lag), 0) "
        "FROM pg_stat_replication WHERE client_addr IS NOT NULL",
    )
    lags = {}
    for line in out.splitlines():
        address, _, seconds = line.partition("|")
        if address:
            lags[address] = float(seconds or 0)
    return lags


def standby_streaming(spec: PgSpec) -> bool:
    """``spec``'s server has its Multi-AZ standby streaming from it now."""
    out = run_sql(
        spec,
        "SELECT count(*) FROM pg_stat_replication "
        f"WHERE application_name = '{MULTI_AZ_STANDBY}' AND state = 'streaming'",
    )
    return out.strip() not in ("", "0")


def remove_server(spec: PgSpec) -> None:
    """Remove one server's own files from its home, and nothing else that lives there (the
    instance's backups and WAL archive, the other server's folder): a Multi-AZ standby to
    be cloned anew, or one that is no longer wanted."""
    for path in (
        data_dir(spec), socket_dir(spec), log_dir(spec), rcache_dir(spec), tls_dir(spec),
        krb5_conf_path(spec), keytab_path(spec),
    ):  # fmt: skip
        if path.is_dir():
            remove_tree(path)
        else:
            path.unlink(missing_ok=True)
    log.info("%s: server files removed", spec.home)
