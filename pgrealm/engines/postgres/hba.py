"""pg_hba.conf and pg_ident.conf of an instance, rendered from its :class:`PgSpec`.

The rules follow RDS with Kerberos authentication
(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/postgresql-kerberos-setting-up.html):
members of ``rds_ad`` log in with Kerberos only, everyone else with SCRAM. pg_hba is
first-match and a failed authentication never falls through to a later line, so an
``rds_ad`` member offering a password is refused, and a principal outside ``rds_ad`` is
asked for a password. ``host`` lines match plain, SSL and GSS-encrypted connections alike.

The internal superuser gets in only through the unix socket, by peer authentication of
the OS user that runs the cluster (map ``pgrealm`` in pg_ident.conf), for SQL and for the
replication connection that takes snapshots.

Each read replica streams as ``rdsrepladmin`` from its own VPC address (/32), trusted
without a password: that address lives only in the namespace pgrealm made for the
replica (replica.py says why no secret is used).
"""

from __future__ import annotations

import logging
import re

from pgrealm.engines.postgres._files import HEADER
from pgrealm.engines.postgres.spec import INTERNAL_SUPERUSER, REPLICATION_USER, PgSpec

__all__ = ["IDENT_MAP", "render_hba", "render_ident"]

log = logging.getLogger(__name__)

IDENT_MAP = "pgrealm"
_NETWORKS = ("0.0.0.0/0", "::/0")
# A realm goes into pg_hba unquoted, so allow only what a DNS-derived realm can hold.
_REALM_RE = re.compile(r"^[A-Z0-9][A-Z0-9.-]*$")


def _line(*fields: str) -> str:
    return "{:<7} {:<11} {:<15} {:<11} {}".format(*fields).rstrip() + "\n"


def render_hba(spec: PgSpec) -> str:
    """The whole pg_hba.conf for ``spec``."""
    peer = f"peer map={IDENT_MAP}"
    out = [
        HEADER,
        _line("local", "all", INTERNAL_SUPERUSER, "", peer),
        # pg_basebackup takes DB snapshots over a replication connection on the socket.
        _line("local", "replication", INTERNAL_SUPERUSER, "", peer),
    ]
    for address in spec.replicas:
        out.append(_line("host", "replication", REPLICATION_USER, f"{address}/32", "trust"))
    for net in _NETWORKS:
        out.append(_line("host", "all", INTERNAL_SUPERUSER, net, "reject"))
    if spec.realm is not None:
        if not _REALM_RE.match(spec.realm):
            raise ValueError(f"invalid Kerberos realm {spec.realm!r}")
        # No krb_realm: a user of a forest the directory trusts logs in as
        # "bob@ONPREM.EXAMPLE.COM", with a ticket the directory's KDC issued across the
        # trust (the keytab holds only this instance's key in the directory's realm, so
        # no other KDC's ticket is accepted). include_realm keeps the realm in the role
        # name: bob@ONPREM and bob@CORP are different roles.
        gss = "gss include_realm=1"
        for net in _NETWORKS:
            out.append(_line("host", "all", "+rds_ad", net, gss))
    for net in _NETWORKS:
        out.append(_line("host", "all", "all", net, "scram-sha-256"))
    return "".join(out)


def render_ident(spec: PgSpec) -> str:
    """pg_ident.conf: the cluster's OS user, and only it, may be the internal superuser."""
    return HEADER + f"{IDENT_MAP}  {spec.os_user}  {INTERNAL_SUPERUSER}\n"
