"""Roles of an instance, as RDS lays them out, and SQL run as the internal superuser.

    rdsadmin        superuser (initdb's bootstrap user); unix socket + peer only
    rds_superuser   NOLOGIN; CREATEDB CREATEROLE; pg_monitor, pg_signal_backend,
                    pg_checkpoint WITH ADMIN OPTION
    rds_ad          NOLOGIN; its members authenticate with Kerberos only (see hba.py)
    <master user>   LOGIN CREATEDB CREATEROLE, NOT superuser, rds_superuser WITH ADMIN OPTION

rds_superuser must never become a member of rds_ad (not even through ADMIN OPTION, which
implies membership before PostgreSQL 16): pg_hba's ``+rds_ad`` follows membership
recursively, and the master user would lose password login. The master can still grant
rds_ad, through CREATEROLE.

Passwords go in as SCRAM verifiers computed in Python (scram.py), over stdin to psql, so
the clear text never reaches postgres, its logs or any command line.
"""

from __future__ import annotations

import logging

from pgrealm.engines import _exec
from pgrealm.engines.postgres.osuser import as_user
from pgrealm.engines.postgres.scram import scram_verifier
from pgrealm.engines.postgres.spec import INTERNAL_SUPERUSER, PgSpec, bin_path, socket_dir
from pgrealm.errors import ReconcileError

__all__ = [
    "bootstrap_roles",
    "bootstrap_sql",
    "pending_restart",
    "quote_ident",
    "quote_literal",
    "role_exists",
    "run_sql",
    "set_master_password",
]

log = logging.getLogger(__name__)

_RDS_SUPERUSER_GRANTS = ("pg_monitor", "pg_signal_backend", "pg_checkpoint")
# The roles the layout above depends on: a master user of that name would break it.
_RESERVED = frozenset({INTERNAL_SUPERUSER, "rds_superuser", "rds_ad", "public"})

# Keep verifiers (and anything else) of these statements out of the server log.
_QUIET = "SET log_statement = 'none';\nSET log_min_duration_statement = -1;\n"


def quote_ident(name: str) -> str:
    """A SQL identifier, always double-quoted so case and any character survive."""
    if not name or "\0" in name:
        raise ValueError("an identifier cannot be empty or hold NUL")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal, valid whatever standard_conforming_strings says."""
    if "\0" in value:
        raise ValueError("a literal cannot hold NUL")
    if "\\" in value:
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + value.replace("'", "''") + "'"


def run_sql(
    spec: PgSpec,
    sql: str,
    *,
    dbname: str = "postgres",
    timeout: float = 60.0,
    single_transaction: bool = True,
) -> str:
    """Run ``sql`` (one transaction unless told otherwise: CREATE DATABASE cannot run in
    one) as the internal superuser; return unaligned output."""
    argv = [
        bin_path("psql"),
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        *(["--single-transaction"] if single_transaction else []),
        "-h",
        str(socket_dir(spec)),
        "-p",
        str(spec.port),
        "-U",
        INTERNAL_SUPERUSER,
        "-d",
        dbname,
        "-f",
        "-",
    ]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PGAPPNAME": "pgrealm"}
    done = _exec.run(
        as_user(spec.os_user, argv), env=env, input=sql, cwd=str(spec.home), timeout=timeout
    )
    return done.stdout


def pending_restart(spec: PgSpec) -> bool:
    """Whether the running server has read settings it applies only at a restart."""
    return (
        run_sql(spec, "SELECT count(*) > 0 FROM pg_settings WHERE pending_restart").strip() == "t"
    )


def role_exists(spec: PgSpec, name: str) -> bool:
    out = run_sql(spec, f"SELECT 1 FROM pg_roles WHERE rolname = {quote_literal(name)};")
    return out.strip() == "1"


def _check_master(master_user: str) -> None:
    if master_user.lower() in _RESERVED or master_user.startswith("pg_"):
        raise ReconcileError(f"{master_user} is a reserved role name")


def bootstrap_sql(master_user: str, verifier: str, existing: set[str]) -> str:
    """The statements that bring the RDS role layout about, given the roles that exist."""
    master = quote_ident(master_user)
    out = [_QUIET]
    if "rds_superuser" not in existing:
        out.append("CREATE ROLE rds_superuser NOLOGIN;\n")
    out.append("ALTER ROLE rds_superuser NOLOGIN CREATEDB CREATEROLE;\n")
    out.append(f"GRANT {', '.join(_RDS_SUPERUSER_GRANTS)} TO rds_superuser WITH ADMIN OPTION;\n")
    if "rds_ad" not in existing:
        out.append("CREATE ROLE rds_ad NOLOGIN;\n")
    if master_user not in existing:
        out.append(f"CREATE ROLE {master};\n")
    out.append(
        f"ALTER ROLE {master} LOGIN NOSUPERUSER CREATEDB CREATEROLE NOREPLICATION"
        f" NOBYPASSRLS PASSWORD {quote_literal(verifier)};\n"
    )
    out.append(f"GRANT rds_superuser TO {master} WITH ADMIN OPTION;\n")
    # As on RDS, the master user owns postgres and template1: since PostgreSQL 15 only a
    # database's owner may create in its public schema.
    out.append(f"ALTER DATABASE postgres OWNER TO {master};\n")
    out.append(f"ALTER DATABASE template1 OWNER TO {master};\n")
    return "".join(out)


def bootstrap_roles(spec: PgSpec, master_user: str, master_password: str) -> None:
    """Create rds_superuser, rds_ad and the master user; repeatable (resets the password)."""
    _check_master(master_user)
    names = {"rds_superuser", "rds_ad", master_user}
    listed = ", ".join(quote_literal(n) for n in sorted(names))
    out = run_sql(spec, f"SELECT rolname FROM pg_roles WHERE rolname IN ({listed});")
    existing = {line for line in out.splitlines() if line}
    run_sql(spec, bootstrap_sql(master_user, scram_verifier(master_password), existing))
    log.info("roles bootstrapped on %s for master user %s", spec.home, master_user)


def set_master_password(spec: PgSpec, master_user: str, password: str) -> None:
    """Replace the master user's password (ModifyDBInstance --master-user-password)."""
    _check_master(master_user)
    if not role_exists(spec, master_user):
        raise ReconcileError(f"master user {master_user} does not exist")
    verifier = quote_literal(scram_verifier(password))
    run_sql(spec, f"{_QUIET}ALTER ROLE {quote_ident(master_user)} PASSWORD {verifier};\n")


def ensure_database(spec: PgSpec, name: str, owner: str) -> None:
    """CREATE DATABASE ``name`` owned by ``owner`` unless it exists (RDS's DBName)."""
    exists = run_sql(
        spec, f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(name)}"
    ).strip()
    if not exists:
        run_sql(
            spec,
            f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(owner)}",
            single_transaction=False,
        )
