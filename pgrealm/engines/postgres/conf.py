"""postgresql.conf settings of an instance: rendered from its :class:`PgSpec` into
``PGDATA/pgrealm.conf``, which initdb's postgresql.conf includes as its last line.

Why an include from postgresql.conf and not postgresql.auto.conf: ALTER SYSTEM rewrites
postgresql.auto.conf wholesale (our header and comments would vanish), and it is read
after postgresql.conf, so it stays the place where a superuser's ALTER SYSTEM wins, as
it does in stock PostgreSQL. initdb's own defaults (shared_buffers, locale GUCs) stay in
postgresql.conf above the include, and anything we set overrides them.

Within pgrealm.conf (last setting wins) come pgrealm's defaults, then the instance's
parameters (a parameter group), then the settings pgrealm must own (addresses, paths,
auth), so the group overrides defaults and never the managed settings.

Logging: logging_collector is on and writes home/log/postgresql.log.YYYY-MM-DD-HH as RDS
names its log files. The files outlive the control plane, which can restart and adopt a
running postmaster whose stderr pipe is long gone.
"""

from __future__ import annotations

import logging
import re
import shlex

from pgrealm.engines.postgres._files import HEADER
from pgrealm.engines.postgres.spec import (
    MULTI_AZ_STANDBY,
    REPLICATION_USER,
    PgSpec,
    keytab_path,
    log_dir,
    socket_dir,
    tls_dir,
)

__all__ = ["INCLUDE_LINE", "MANAGED_PARAMETERS", "quote_conf_value", "render_conf"]

log = logging.getLogger(__name__)

INCLUDE_LINE = "include = 'pgrealm.conf'"

# Settings a parameter group may not override: they tie the instance to its address,
# its files and its authentication rules.
MANAGED_PARAMETERS = frozenset(
    {
        "listen_addresses",
        "port",
        "unix_socket_directories",
        "unix_socket_permissions",
        "password_encryption",
        "krb_server_keyfile",
        "krb_caseins_users",
        "logging_collector",
        "log_directory",
        "log_filename",
        "log_file_mode",
        "log_timezone",
        "data_directory",
        "config_file",
        "hba_file",
        "ident_file",
        "external_pid_file",
        "archive_mode",
        "archive_command",
        "archive_library",
        "restore_command",
        "recovery_target_time",
        "recovery_target_action",
        "primary_conninfo",
        "hot_standby",
        "synchronous_standby_names",
        "synchronous_commit",
        "ssl",
        "ssl_cert_file",
        "ssl_key_file",
    }
)
# pgrealm's defaults, which a parameter group may override.
_DEFAULTS = {
    "log_line_prefix": "%t:%r:%u@%d:[%p]:",  # RDS's default prefix
    # Off, as in RDS's default parameter group: logging every connection costs ~10% of a
    # Kerberos connection's setup (bench/); a parameter group turns it on.
    "log_connections": "off",
}
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def quote_conf_value(value: str) -> str:
    """A postgresql.conf string literal; backslash is an escape there, so it is doubled."""
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError("a configuration value cannot span lines")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _setting(name: str, value: str) -> str:
    return f"{name} = {quote_conf_value(value)}\n"


def _parameter_lines(spec: PgSpec) -> list[str]:
    out = []
    for name in sorted(spec.parameters):
        if not _NAME_RE.match(name):
            raise ValueError(f"invalid parameter name {name!r}")
        if name.lower() in MANAGED_PARAMETERS:
            log.warning("parameter %s is managed by pgrealm; ignoring the group's value", name)
            continue
        out.append(_setting(name.lower(), spec.parameters[name]))
    return out


def _managed_lines(spec: PgSpec) -> list[str]:
    out = [
        _setting("listen_addresses", spec.address),
        f"port = {int(spec.port)}\n",
        _setting("unix_socket_directories", str(socket_dir(spec))),
        "unix_socket_permissions = 0700\n",
        _setting("password_encryption", "scram-sha-256"),
        "logging_collector = on\n",
        _setting("log_directory", str(log_dir(spec))),
        _setting("log_filename", "postgresql.log.%Y-%m-%d-%H"),
        "log_file_mode = 0600\n",
        _setting("log_timezone", "UTC"),  # as RDS's logs: CloudWatch reads the time back
        "log_rotation_age = 60\n",
    ]
    if spec.realm is not None:
        out.append(_setting("krb_server_keyfile", str(keytab_path(spec))))
        out.append(f"krb_caseins_users = {'on' if spec.krb_caseins_users else 'off'}\n")
    if spec.tls_issuer is not None:  # RDS serves TLS; a new certificate is read at reload
        out += [
            f"# its certificate is issued by {spec.tls_issuer}\n",
            "ssl = on\n",
            _setting("ssl_cert_file", str(tls_dir(spec) / "server.crt")),
            _setting("ssl_key_file", str(tls_dir(spec) / "server.key")),
        ]
    if spec.primary is not None:  # a read replica: a hot standby streaming from its source
        conninfo = f"host={spec.primary} port={int(spec.port)} user={REPLICATION_USER}"
        if spec.multi_az_standby:
            conninfo += f" application_name={MULTI_AZ_STANDBY}"
        out += ["hot_standby = on\n", _setting("primary_conninfo", conninfo)]
    if spec.synchronous:  # Multi-AZ: a commit returns once the standby has it on disk
        out += [
            _setting("synchronous_standby_names", MULTI_AZ_STANDBY),
            "synchronous_commit = on\n",
        ]
    return out + _archive_lines(spec)


def _archive_lines(spec: PgSpec) -> list[str]:
    """WAL archiving for automated backups, and the recovery of a point-in-time restore.

    archive_mode is always on, because changing it needs a restart; without automated
    backups the command discards each segment, so turning them on or off is a reload.
    Segments are gzipped (a segment closed early by archive_timeout is mostly zeros) and
    written under a temporary name first, so the archive never holds half a segment.
    archive_timeout closes a segment at least every 5 minutes, as RDS uploads its logs.
    """
    command = "true"
    if spec.wal_archive is not None:
        target = shlex.quote(str(spec.wal_archive)) + "/%f.gz"
        command = f"gzip -c %p > {target}.tmp && mv {target}.tmp {target}"
    out = ["archive_mode = on\n", _setting("archive_command", command)]
    if spec.wal_archive is not None:
        out.append("archive_timeout = 300\n")
    if spec.recovery is not None:
        source = shlex.quote(str(spec.recovery.archive)) + "/%f.gz"
        out.append(_setting("restore_command", f"gunzip -c {source} > %p"))
        if spec.recovery.target_time is not None:
            out.append(_setting("recovery_target_time", spec.recovery.target_time))
            out.append(_setting("recovery_target_action", "promote"))
    return out


def render_conf(spec: PgSpec) -> str:
    """The whole pgrealm.conf for ``spec``."""
    out = [HEADER, "\n# defaults\n", *(_setting(k, v) for k, v in _DEFAULTS.items())]
    params = _parameter_lines(spec)
    if params:
        out += ["\n# parameter group\n", *params]
    out += ["\n# managed by pgrealm, not overridable\n", *_managed_lines(spec)]
    return "".join(out)
