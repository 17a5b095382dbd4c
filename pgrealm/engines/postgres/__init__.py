"""The PostgreSQL engine: how one pgrealm DB instance is laid out, configured, run and
given its RDS-style roles. It knows nothing of AWS; reconcilers call it.

    spec.py        PgSpec and the instance's paths
    osuser.py      the unprivileged OS user, and running tools as it
    initdb.py      home layout, initdb, config files, keytab
    conf.py        pgrealm.conf (postgresql.conf settings)
    hba.py         pg_hba.conf, pg_ident.conf
    postmaster.py  argv/env for the supervisor, readiness, reload, stop
    roles.py       rds_superuser / rds_ad / master user, SQL as the internal superuser
    scram.py       SCRAM-SHA-256 verifiers
    snapshot.py    DB snapshots: taking one, and a new cluster from one
    pitr.py        WAL archiving and point-in-time recovery
    replica.py     read replicas: a standby cloned from its source, streaming, promoted
    tls.py         the instance's TLS certificate

With engines/homes.py (a home's files), this module is the local :class:`pgrealm.engines.
interfaces.InstanceEngine`: the reconcilers are handed it, and ask nothing else.
"""

from __future__ import annotations

from pgrealm.engines.homes import ensure_dir, exists, free_bytes, move_into, remove_tree, tree_size
from pgrealm.engines.postgres.conf import render_conf
from pgrealm.engines.postgres.hba import render_hba, render_ident
from pgrealm.engines.postgres.initdb import (
    config_digest,
    ensure_layout,
    init_cluster,
    install_keytab,
    is_initialized,
    keytab_present,
    remove_keytab,
    render_krb5_conf,
    write_config,
)
from pgrealm.engines.postgres.osuser import as_user, ensure_os_user, os_user_exists
from pgrealm.engines.postgres.pitr import (
    archive_now,
    archiving,
    base_backups,
    in_recovery,
    latest_restorable,
    prune,
    take_base_backup,
)
from pgrealm.engines.postgres.postmaster import (
    is_ready,
    postmaster_argv,
    postmaster_env,
    postmaster_pid,
    reload,
    signal_reload,
    stop,
)
from pgrealm.engines.postgres.replica import (
    clone_from_primary,
    ensure_replication_role,
    promote,
    remove_server,
    replica_lag,
    standby_streaming,
)
from pgrealm.engines.postgres.roles import (
    bootstrap_roles,
    ensure_database,
    pending_restart,
    quote_ident,
    quote_literal,
    run_sql,
    set_master_password,
)
from pgrealm.engines.postgres.scram import scram_verifier, verify_password
from pgrealm.engines.postgres.snapshot import copy_snapshot, restore_cluster, take_snapshot
from pgrealm.engines.postgres.spec import INTERNAL_SUPERUSER, PgSpec, Recovery
from pgrealm.engines.postgres.tls import install_certificate, tls_installed

__all__ = [
    "INTERNAL_SUPERUSER",
    "PgSpec",
    "Recovery",
    "archive_now",
    "archiving",
    "as_user",
    "base_backups",
    "bootstrap_roles",
    "clone_from_primary",
    "config_digest",
    "copy_snapshot",
    "ensure_database",
    "ensure_dir",
    "ensure_layout",
    "ensure_os_user",
    "ensure_replication_role",
    "exists",
    "free_bytes",
    "in_recovery",
    "init_cluster",
    "install_certificate",
    "install_keytab",
    "is_initialized",
    "is_ready",
    "keytab_present",
    "latest_restorable",
    "move_into",
    "os_user_exists",
    "pending_restart",
    "postmaster_argv",
    "postmaster_env",
    "postmaster_pid",
    "promote",
    "prune",
    "quote_ident",
    "quote_literal",
    "reload",
    "remove_keytab",
    "remove_server",
    "remove_tree",
    "render_conf",
    "render_hba",
    "render_ident",
    "render_krb5_conf",
    "replica_lag",
    "restore_cluster",
    "run_sql",
    "scram_verifier",
    "set_master_password",
    "signal_reload",
    "standby_streaming",
    "stop",
    "take_base_backup",
    "take_snapshot",
    "tls_installed",
    "tree_size",
    "verify_password",
    "write_config",
]
