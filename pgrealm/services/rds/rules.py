"""RDS for PostgreSQL rules the model cannot express (documented limits of CreateDBInstance:
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html)."""

from __future__ import annotations

import re

__all__ = [
    "identifier_problem",
    "master_password_problem",
    "master_username_problem",
    "parameter_group_name_problem",
    "retention_problem",
    "snapshot_identifier_problem",
]

_IDENT = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}(?<!-)$")
_SNAPSHOT_IDENT = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$")
_USER = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$")
# Roles RDS for PostgreSQL keeps for itself, and names it refuses for the engine ("admin"
# is refused on postgres; "postgres", the console's default, is accepted).
_RDS_ROLES = frozenset(
    {
        "rdsadmin",
        "rdsrepladmin",
        "rdstopmgr",
        "rds_superuser",
        "rds_ad",
        "rds_iam",
        "rds_password",
        "rds_replication",
        "admin",
        "public",
    }
)
# PostgreSQL's reserved key words (pg_get_keywords() catcode R, PostgreSQL 15): a role of
# that name cannot be written without quotes, and RDS refuses them as master users.
_SQL_RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create current_catalog current_date current_role current_time
    current_timestamp current_user default deferrable desc distinct do else end except false
    fetch for foreign from grant group having in initially intersect into lateral leading
    limit localtime localtimestamp not null offset on only or order placing primary
    references returning select session_user some symmetric table then to trailing true
    union unique user using variadic when where window with""".split()
)


def identifier_problem(identifier: str) -> str | None:
    return None if _IDENT.match(identifier) else _not_an_identifier("DBInstanceIdentifier")


def snapshot_identifier_problem(identifier: str) -> str | None:
    """DB snapshot identifiers: as instance identifiers, up to 255 characters."""
    return None if _SNAPSHOT_IDENT.match(identifier) else _not_an_identifier("DBSnapshotIdentifier")


def parameter_group_name_problem(name: str) -> str | None:
    """DB parameter group names: as snapshot identifiers (1 to 255 characters)."""
    return None if _SNAPSHOT_IDENT.match(name) else _not_an_identifier("DBParameterGroupName")


def _not_an_identifier(parameter: str) -> str:
    return (
        f"The parameter {parameter} is not a valid identifier. Identifiers must begin with a "
        "letter; must contain only ASCII letters, digits, and hyphens; and must not end with "
        "a hyphen or contain two consecutive hyphens."
    )


def master_username_problem(name: str) -> str | None:
    """RDS for PostgreSQL's master user: 1 to 63 letters, digits or underscores, starting
    with a letter, and not a name the engine reserves."""
    if not _USER.match(name):
        return (
            "The parameter MasterUsername is not a valid identifier. Identifiers must begin "
            "with a letter; must contain only ASCII letters, digits, and underscores."
        )
    if name.lower().startswith("pg_"):
        return (
            f"MasterUsername {name} cannot be used because role names starting with "
            '"pg_" are reserved by the PostgreSQL engine'
        )
    if name.lower() in _RDS_ROLES or name.lower() in _SQL_RESERVED:
        return f"MasterUsername {name} cannot be used as it is a reserved word used by the engine"
    return None


def master_password_problem(password: str) -> str | None:
    if not 8 <= len(password) <= 128:
        return (
            "The parameter MasterUserPassword is not a valid password because it is shorter "
            "than 8 characters or longer than 128."
        )
    if any(c in '/@" ' or not (32 < ord(c) < 127) for c in password):
        return (
            "The parameter MasterUserPassword is not a valid password. Only printable ASCII "
            "characters besides '/', '@', '\"', ' ' may be used."
        )
    return None


def retention_problem(days: int) -> str | None:
    """Automated backups are kept 0 (off) to 35 days."""
    if not 0 <= days <= 35:
        return f"Invalid backup retention period: {days}. It must be between 0 and 35 days."
    return None
