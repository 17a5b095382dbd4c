"""The desired shape of one PostgreSQL instance (:class:`PgSpec`) and where its files live.

Every file of an instance lives under ``spec.home``::

    home/            0700, owned by the instance's OS user
      data/          PGDATA (initdb builds it as data.initdb/ and renames it when complete)
      socket/        unix_socket_directories: the only way in for the internal superuser
      log/           server logs (logging_collector), named as RDS names them
      rcache/        the Kerberos replay cache of this instance (KRB5RCACHEDIR)
      keytab         krb_server_keyfile, unless spec.keytab says otherwise
      wal-archive/   archived WAL, gzipped (with automated backups: spec.wal_archive)
      backups/base/  the automated base backup that point-in-time restores start from
      tls/           server.crt and server.key (0600): its TLS certificate, tls.py
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "BIN_DIR",
    "INTERNAL_SUPERUSER",
    "MULTI_AZ_STANDBY",
    "REPLICATION_USER",
    "PgSpec",
    "Recovery",
    "bin_path",
    "data_dir",
    "keytab_path",
    "log_dir",
    "rcache_dir",
    "socket_dir",
    "tls_dir",
]

log = logging.getLogger(__name__)

BIN_DIR = Path("/usr/lib/postgresql/15/bin")

# The control plane's own superuser, as on RDS; reachable only through the unix socket.
INTERNAL_SUPERUSER = "rdsadmin"
# The role read replicas stream as (RDS's name for it); see replica.py.
REPLICATION_USER = "rdsrepladmin"
MULTI_AZ_STANDBY = "rds_multiaz_standby"  # the standby's application_name


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Recovery:
    """Archive recovery from another instance's WAL ``archive``: up to ``target_time``,
    or with none, to the end of the archive."""

    archive: Path
    target_time: str | None  # ISO 8601, with its time zone


@dataclass(frozen=True)
class PgSpec:
    """What one instance should look like. Rendering functions read only this."""

    home: Path
    address: str  # where it listens: its VPC address, inside its namespace
    port: int = 5432
    os_user: str = "pgrealm"
    realm: str | None = None
    keytab: Path | None = None
    krb_caseins_users: bool = False
    parameters: Mapping[str, str] = field(default_factory=_empty)
    wal_archive: Path | None = None  # archive WAL here (automated backups are on)
    recovery: Recovery | None = None  # while a point-in-time restore replays WAL
    netns: str | None = None  # the host's network namespace (None: the machine's own)
    reach: str | None = None  # where the machine reaches it, if not at ``address``
    primary: str | None = None  # a read replica: the source's address it streams from
    replicas: tuple[str, ...] = ()  # the addresses of its read replicas, let in to stream
    tls_issuer: str | None = None  # the CA of its TLS certificate (None: no TLS), tls.py
    # Multi-AZ: the standby streams as MULTI_AZ_STANDBY, and its primary's commits wait for it.
    multi_az_standby: bool = False  # this server is the standby (it streams from primary)
    synchronous: bool = False  # this server is the primary; its standby is among replicas


def bin_path(tool: str) -> str:
    """Absolute path of a PostgreSQL 15 tool: never trust PATH (Debian's wrappers differ)."""
    return str(BIN_DIR / tool)


def data_dir(spec: PgSpec) -> Path:
    return spec.home / "data"


def socket_dir(spec: PgSpec) -> Path:
    return spec.home / "socket"


def log_dir(spec: PgSpec) -> Path:
    return spec.home / "log"


def rcache_dir(spec: PgSpec) -> Path:
    return spec.home / "rcache"


def krb5_conf_path(spec: PgSpec) -> Path:
    return spec.home / "krb5.conf"


def tls_dir(spec: PgSpec) -> Path:
    return spec.home / "tls"


def keytab_path(spec: PgSpec) -> Path:
    return spec.keytab if spec.keytab is not None else spec.home / "keytab"
