"""The PostgreSQL engine against a real postgres 15 and a real MIT KDC: RDS-style roles,
SCRAM for the master user, Kerberos-only for rds_ad members, never running as root.

The service principal's host name reaches the instance through libpq's ``hostaddr``, so
the test touches neither /etc/hosts nor DNS.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgrealm.engines import postgres as pg
from pgrealm.engines.krb5.mitkdc import MitRealm
from pgrealm.engines.postgres.spec import BIN_DIR
from tests.fixtures.addresses import top_address
from tests.fixtures.mitkdc import (  # noqa: F401
    clean_environ,
    mit_realm,
    require_root_tools,
    timeout_mult,
    wait_for,
)

pytestmark = pytest.mark.acceptance

PG_ADDRESS = top_address(2)
PG_HOST = "db.test.internal"
OS_USER = "pgrealm"
MASTER, MASTER_PW = "master", "M4ster'pw\\with-quote"
ALICE_PW, BOB_PW = "alice-Pw-1", "bob-Pw-1"


@pytest.fixture(scope="module")
def instance(
    mit_realm: MitRealm,  # noqa: F811  (the fixture, imported above)
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[pg.PgSpec]:
    """A running, bootstrapped instance with realm and keytab; stopped in finally."""
    require_root_tools(str(BIN_DIR / "postgres"), "/usr/bin/setpriv")
    # pytest's tmp dirs are 0700 root: the OS user could not reach a home inside them.
    base = Path(tempfile.mkdtemp(prefix="pgrealm-pg-"))
    base.chmod(0o755)
    spec = pg.PgSpec(home=base / "db1", address=PG_ADDRESS, realm=mit_realm.realm)
    proc: subprocess.Popen[bytes] | None = None
    try:
        pg.init_cluster(spec)
        service = f"postgres/{PG_HOST}"
        mit_realm.add_principal(service)
        staged = mit_realm.home / "service.keytab"
        mit_realm.export_keytab(service, staged)
        pg.install_keytab(spec, staged.read_bytes())
        proc = _start(spec)
        wait_for(lambda: proc.poll() is not None or pg.is_ready(spec), "postgres", 30)
        assert proc.poll() is None, _server_log(spec)
        pg.bootstrap_roles(spec, MASTER, MASTER_PW)
        yield spec
    finally:
        pg.stop(spec)
        if proc is not None:
            proc.wait(timeout=30 * timeout_mult())
        keep = tmp_path_factory.mktemp("pg-logs")
        if (spec.home / "log").exists():
            shutil.copytree(spec.home / "log", keep / "log", dirs_exist_ok=True)
        shutil.rmtree(base, ignore_errors=True)


def _server_log(spec: pg.PgSpec) -> str:
    files = sorted((spec.home / "log").glob("postgresql.log.*"))
    return files[-1].read_text()[-3000:] if files else (spec.home / "stderr.log").read_text()


def _start(spec: pg.PgSpec) -> subprocess.Popen[bytes]:
    # What the supervisor does: detached, new session, as the OS user with its groups only.
    with (spec.home / "stderr.log").open("wb") as err:
        return subprocess.Popen(
            pg.postmaster_argv(spec),
            env=pg.postmaster_env(spec),
            cwd=str(spec.home),
            user=OS_USER,
            group=OS_USER,
            extra_groups=[],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def psql(
    conninfo: str, sql: str, *, env: dict[str, str] | None = None, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    full = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PGCONNECT_TIMEOUT": "10"}
    full.update(env or {})
    if password is not None:
        full["PGPASSWORD"] = password  # env of our own client process, never argv
    argv = [str(BIN_DIR / "psql"), "-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1", conninfo]
    return subprocess.run(
        argv, input=sql, env=full, capture_output=True, text=True, timeout=60, check=False
    )


def _conninfo(user: str, **extra: str) -> str:
    parts = {"host": PG_HOST, "hostaddr": PG_ADDRESS, "port": "5432", "dbname": "postgres"}
    parts["user"] = user
    parts.update(extra)
    return " ".join(f"{k}={v}" for k, v in parts.items())


@pytest.fixture(scope="module")
def krb_users(instance: pg.PgSpec, mit_realm: MitRealm) -> dict[str, dict[str, str]]:  # noqa: F811
    """alice (rds_ad) and bob (LOGIN, no rds_ad), created by the master; a ticket each."""
    alice, bob = f"alice@{mit_realm.realm}", f"bob@{mit_realm.realm}"
    sql = (
        f'CREATE USER "{alice}" WITH LOGIN;\nGRANT rds_ad TO "{alice}";\n'
        f'CREATE USER "{bob}" WITH LOGIN;\n'
    )
    done = psql(_conninfo(MASTER, gssencmode="disable"), sql, password=MASTER_PW)
    assert done.returncode == 0, done.stderr
    envs = {}
    for name, pw in (("alice", ALICE_PW), ("bob", BOB_PW)):
        mit_realm.add_principal(name, pw)
        ccache = mit_realm.home / f"ccache.{name}"
        mit_realm.kinit(name, pw, ccache)
        envs[name] = {"KRB5_CONFIG": str(mit_realm.krb5_conf), "KRB5CCNAME": f"FILE:{ccache}"}
    return envs


def _no_ticket_env(mit_realm: MitRealm) -> dict[str, str]:  # noqa: F811
    missing = mit_realm.home / "ccache.none"
    return {"KRB5_CONFIG": str(mit_realm.krb5_conf), "KRB5CCNAME": f"FILE:{missing}"}


def test_postgres_never_runs_as_root(instance: pg.PgSpec) -> None:
    pid = pg.postmaster_pid(instance)
    assert pid is not None
    ps = subprocess.run(
        ["ps", "-o", "pid=,ppid=,user=,group=,args=", "-e"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    mine = [line.split(None, 4) for line in ps]
    procs = [p for p in mine if p[0] == str(pid) or p[1] == str(pid)]
    assert len(procs) >= 3, procs  # postmaster, checkpointer, logger, ...
    assert all(p[2] == OS_USER and p[3] == OS_USER for p in procs), procs


def test_master_uses_scram_and_is_not_superuser(instance: pg.PgSpec) -> None:
    sql = (
        "SELECT rolsuper, rolcreaterole, rolcreatedb,"
        " pg_has_role(current_user, 'rds_superuser', 'USAGE'),"
        " pg_has_role(current_user, 'rds_ad', 'MEMBER')"
        " FROM pg_roles WHERE rolname = current_user;"
    )
    done = psql(_conninfo(MASTER, gssencmode="disable"), sql, password=MASTER_PW)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "f|t|t|t|f"
    stored = pg.run_sql(instance, "SELECT rolpassword FROM pg_authid WHERE rolname = 'master';")
    assert stored.startswith("SCRAM-SHA-256$4096:")
    assert pg.verify_password(stored.strip(), MASTER_PW)


def test_wrong_password_and_rdsadmin_over_tcp_refused(instance: pg.PgSpec) -> None:
    bad = psql(_conninfo(MASTER, gssencmode="disable"), "SELECT 1;", password="nope")
    assert bad.returncode != 0 and "password authentication failed" in bad.stderr
    admin = psql(_conninfo(pg.INTERNAL_SUPERUSER, gssencmode="disable"), "SELECT 1;")
    assert admin.returncode != 0 and "rejects connection" in admin.stderr


def test_rds_ad_member_logs_in_with_kerberos(
    krb_users: dict[str, dict[str, str]],
    mit_realm: MitRealm,  # noqa: F811
) -> None:
    sql = "SELECT gss_authenticated, encrypted FROM pg_stat_gssapi WHERE pid = pg_backend_pid();"
    done = psql(_conninfo(f"alice@{mit_realm.realm}"), sql, env=krb_users["alice"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "t|t"
    plain = psql(
        _conninfo(f"alice@{mit_realm.realm}", gssencmode="disable"), sql, env=krb_users["alice"]
    )
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "t|f"


def test_rds_ad_member_cannot_use_a_password(
    krb_users: dict[str, dict[str, str]],
    mit_realm: MitRealm,  # noqa: F811
) -> None:
    # Even with a password set on the role, the gss line matches first and does not fall through.
    pg_sql = f"ALTER ROLE \"alice@{mit_realm.realm}\" PASSWORD 'alice-db-pw';"
    done = psql(_conninfo(MASTER, gssencmode="disable"), pg_sql, password=MASTER_PW)
    assert done.returncode == 0, done.stderr
    done = psql(
        _conninfo(f"alice@{mit_realm.realm}"),
        "SELECT 1;",
        env=_no_ticket_env(mit_realm),
        password="alice-db-pw",
    )
    # The server demanded GSSAPI, which the ticketless client cannot do; it never asked
    # for the password.
    assert done.returncode != 0
    assert "GSSAPI continuation error" in done.stderr, done.stderr


def test_principal_without_rds_ad_cannot_use_kerberos(
    krb_users: dict[str, dict[str, str]],
    mit_realm: MitRealm,  # noqa: F811
) -> None:
    done = psql(_conninfo(f"bob@{mit_realm.realm}"), "SELECT 1;", env=krb_users["bob"])
    assert done.returncode != 0
    assert "no password supplied" in done.stderr, done.stderr


def test_steps_are_idempotent(instance: pg.PgSpec) -> None:
    pg.init_cluster(instance)
    pg.write_config(instance)
    pg.reload(instance)
    pg.bootstrap_roles(instance, MASTER, MASTER_PW)
    conf = (instance.home / "data" / "postgresql.conf").read_text()
    assert conf.count("include = 'pgrealm.conf'") == 1
    pg.set_master_password(instance, MASTER, "N3w-master")
    ok = psql(_conninfo(MASTER, gssencmode="disable"), "SELECT 1;", password="N3w-master")
    assert ok.returncode == 0, ok.stderr
    pg.set_master_password(instance, MASTER, MASTER_PW)
    shown = pg.run_sql(instance, "SHOW listen_addresses; SHOW krb_server_keyfile;")
    assert shown.split() == [PG_ADDRESS, str(instance.home / "keytab")]
