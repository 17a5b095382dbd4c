"""The database end of the doctor: the port, the role, and a real GSSAPI login.

The doctor logs in as the user and cannot read ``pg_roles``; the role check reads what
the server reveals. A password request means pg_hba's ``+rds_ad`` Kerberos line did not
match, so the role is missing or outside rds_ad; the same request under another case of
the name, answered by "GSSAPI authentication failed", shows a role that differs in case
(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/postgresql-kerberos-setting-up.html).
"""

from __future__ import annotations

import socket

from pgrealm.client.doctor._common import Target, explain_krb_error, tool
from pgrealm.client.doctor.report import Evidence, Finding, Severity

__all__ = ["DatabaseChecks"]

LOGIN_SQL = (
    "SELECT current_user, gss_authenticated, encrypted FROM pg_stat_gssapi "
    "WHERE pid = pg_backend_pid()"
)


class DatabaseChecks:
    def __init__(self, target: Target, env: dict[str, str], timeout: float) -> None:
        self.t = target
        self.env = env
        self.timeout = timeout

    def db_port(self) -> Finding:
        t = self.t
        try:
            address = socket.getaddrinfo(t.endpoint, t.port, socket.AF_INET, socket.SOCK_STREAM)[0][
                4
            ][0]
        except socket.gaierror as exc:
            return Finding(
                "db-port",
                Severity.FAIL,
                f"{t.endpoint} does not resolve",
                (Evidence(f"getent hosts {t.endpoint}", str(exc)),),
                "the service principal is named after the endpoint, so clients must reach the "
                "instance by that name.",
                "pgrealm publishes endpoint names in /etc/hosts; check its pgrealm block.",
            )
        command = f"TCP connect {address}:{t.port} ({t.endpoint})"
        try:
            with socket.create_connection((str(address), t.port), timeout=2 * self.timeout):
                pass
        except OSError as exc:
            return Finding(
                "db-port",
                Severity.FAIL,
                f"{t.endpoint}:{t.port} refuses connections",
                (Evidence(command, str(exc)),),
                "PostgreSQL is not listening there.",
                f"aws rds describe-db-instances --db-instance-identifier {t.instance} (status "
                "must be available); `aws rds start-db-instance` if it is stopped.",
            )
        return Finding(
            "db-port",
            Severity.PASS,
            f"{t.endpoint} ({address}) accepts connections on {t.port}",
            (Evidence(command, "connected"),),
        )

    def _psql(self, user: str) -> Evidence:
        t = self.t
        conninfo = f"host={t.endpoint} port={t.port} dbname=postgres user={user} connect_timeout=5"
        return tool(["psql", "-X", "-w", "-At", conninfo, "-c", LOGIN_SQL], self.env, timeout=15)

    def role_and_login(self) -> list[Finding]:
        t = self.t
        ev = self._psql(t.user)
        out = ev.output
        if ev.returncode == 0:
            fields = out.splitlines()[0].split("|") if out else []
            role = Finding(
                "role",
                Severity.PASS,
                f'"{t.user}" exists and is in rds_ad (the server took the Kerberos line)',
            )
            if len(fields) >= 2 and fields[1] == "t":
                enc = " and encryption" if len(fields) > 2 and fields[2] == "t" else ""
                return [
                    role,
                    Finding(
                        "login",
                        Severity.PASS,
                        f"logged in as {fields[0]} with GSSAPI authentication{enc}",
                        (ev,),
                    ),
                ]
            return [
                role,
                Finding(
                    "login",
                    Severity.FAIL,
                    "logged in, but not by Kerberos",
                    (ev,),
                    "pg_hba let the role in without GSSAPI.",
                    "check the instance's parameter group and pg_hba.",
                ),
            ]
        if "no password supplied" in out or "password authentication failed" in out:
            return [self._role_problem(ev), Finding("login", Severity.SKIP, "not tried: see role")]
        if "does not exist" in out and "role" in out:
            role = Finding(
                "role",
                Severity.FAIL,
                f'the server has no role "{t.user}"',
                (ev,),
                "role names are case-sensitive and must equal the principal.",
                _create_role_sql(t.user),
            )
            return [role, Finding("login", Severity.SKIP, "not tried: see role")]
        cause, fix = explain_krb_error(out, t)
        return [
            Finding(
                "role",
                Severity.SKIP,
                "not known: the login failed before the server looked at the role",
            ),
            Finding("login", Severity.FAIL, "GSSAPI login failed", (ev,), cause, fix),
        ]

    def _role_problem(self, ev: Evidence) -> Finding:
        t = self.t
        local, _, realm = t.user.partition("@")
        variants = {f"{local}@{realm.lower()}", f"{local.lower()}@{realm}", t.user.lower()} - {
            t.user
        }
        for variant in sorted(variants):
            other = self._psql(variant)
            if "GSSAPI authentication failed" in other.output:
                return Finding(
                    "role",
                    Severity.FAIL,
                    f'the role is named "{variant}", not "{t.user}"',
                    (ev, other),
                    f'a role "{variant}" in rds_ad exists (the server tried Kerberos for it), but '
                    "role names are case-sensitive and must equal the ticket's principal "
                    f"{t.user}.",
                    f'as the master user: ALTER ROLE "{variant}" RENAME TO "{t.user}";',
                )
        return Finding(
            "role",
            Severity.FAIL,
            f'the server asked "{t.user}" for a password instead of a Kerberos ticket',
            (ev,),
            "only members of rds_ad log in with Kerberos (pg_hba's +rds_ad line); everyone "
            f'else is asked for a password. Either the role "{t.user}" does not exist with that '
            "exact case, or it is not a member of rds_ad.",
            "as the master user: " + _create_role_sql(t.user),
        )


def _create_role_sql(user: str) -> str:
    return (
        f'GRANT rds_ad TO "{user}"; (first CREATE USER "{user}" WITH LOGIN; if the role '
        "does not exist)"
    )
