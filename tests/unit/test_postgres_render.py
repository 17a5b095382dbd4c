"""Pure rendering and SQL-building logic of the PostgreSQL engine (no postgres needed)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pgrealm.engines import _exec
from pgrealm.engines import postgres as pg
from pgrealm.engines.postgres import roles, scram
from pgrealm.engines.postgres.conf import quote_conf_value

HOME = Path("/srv/pgrealm/db-1")

# Made by PostgreSQL 15 itself (SET password_encryption = 'scram-sha-256'; CREATE ROLE ...).
PG_VERIFIER_PENCIL = (
    "SCRAM-SHA-256$4096:A+DZJMuJ1kWzUMYO3qLzJg==$9dY9qCv0oujyvbgxOtzbtB4XFqdyQjDz1RGav7PDivo="
    ":eFfFgpTAduGxITWpf2ENVlWiHP3GWdKduDzRYH2liSM="
)
# Password "I\u2168\u00adx": SASLprep drops the soft hyphen and NFKC turns U+2168 into "IX".
PG_VERIFIER_SASLPREP = (
    "SCRAM-SHA-256$4096:7UtG/WWCsqInXGrhw2Iakw==$4y+MpgRdTomeKvqbBCqFAtNC2fmybcsCYFkJiIpaCy0="
    ":YoBo7qy1kP4FfW8xGirCGeHS3qjCHsj0qv44pnKibt8="
)


def _spec(**kw: object) -> pg.PgSpec:
    return pg.PgSpec(home=HOME, address="127.250.0.2", **kw)  # type: ignore[arg-type]


def _rules(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line and not line.startswith("#")]


def test_hba_with_realm_is_rds_layout() -> None:
    rules = _rules(pg.render_hba(_spec(realm="CORP.EXAMPLE.COM")))
    gss = ["gss", "include_realm=1"]  # any realm: users of trusted forests (hba.py)
    assert rules == [
        ["local", "all", "rdsadmin", "peer", "map=pgrealm"],
        ["local", "replication", "rdsadmin", "peer", "map=pgrealm"],
        ["host", "all", "rdsadmin", "0.0.0.0/0", "reject"],
        ["host", "all", "rdsadmin", "::/0", "reject"],
        ["host", "all", "+rds_ad", "0.0.0.0/0", *gss],
        ["host", "all", "+rds_ad", "::/0", *gss],
        ["host", "all", "all", "0.0.0.0/0", "scram-sha-256"],
        ["host", "all", "all", "::/0", "scram-sha-256"],
    ]
    assert pg.render_hba(_spec()).startswith("# managed by pgrealm")


def test_hba_without_realm_has_no_gss() -> None:
    text = pg.render_hba(_spec())
    assert "gss" not in text and "rds_ad" not in text
    assert [r[-1] for r in _rules(text)][-2:] == ["scram-sha-256", "scram-sha-256"]


def test_hba_refuses_a_realm_that_could_inject() -> None:
    with pytest.raises(ValueError):
        pg.render_hba(_spec(realm="CORP.COM\nhost all all 0.0.0.0/0 trust"))


def test_ident_maps_only_the_os_user() -> None:
    assert _rules(pg.render_ident(_spec(os_user="pgx"))) == [["pgrealm", "pgx", "rdsadmin"]]


def _settings(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.split(" = ", 1)
            out[key] = value
    return out


def test_conf_with_realm() -> None:
    conf = _settings(pg.render_conf(_spec(realm="CORP.EXAMPLE.COM", port=5433)))
    assert conf["listen_addresses"] == "'127.250.0.2'"
    assert conf["port"] == "5433"
    assert conf["unix_socket_directories"] == f"'{HOME}/socket'"
    assert conf["password_encryption"] == "'scram-sha-256'"
    assert conf["krb_server_keyfile"] == f"'{HOME}/keytab'"
    assert conf["krb_caseins_users"] == "off"
    assert conf["log_directory"] == f"'{HOME}/log'"
    assert conf["log_connections"] == "'off'"


def test_conf_without_realm_has_no_kerberos() -> None:
    conf = _settings(pg.render_conf(_spec()))
    assert "krb_server_keyfile" not in conf and "krb_caseins_users" not in conf


def test_parameters_override_defaults_but_not_managed_settings() -> None:
    params = {"work_mem": "8MB", "port": "1", "log_line_prefix": "%m ", "app.x": "it's\\"}
    text = pg.render_conf(_spec(realm="R.COM", krb_caseins_users=True, parameters=params))
    lines = [ln for ln in text.splitlines() if " = " in ln]
    assert "work_mem = '8MB'" in lines
    assert "app.x = 'it''s\\\\'" in lines
    assert "port = 1" not in text and "port = '1'" not in text
    assert "krb_caseins_users = on" in lines
    # Last one wins in postgresql.conf: the group's prefix comes after pgrealm's default.
    prefixes = [ln for ln in lines if ln.startswith("log_line_prefix")]
    assert prefixes[-1] == "log_line_prefix = '%m '"


def test_conf_rejects_bad_names_and_multiline_values() -> None:
    with pytest.raises(ValueError):
        pg.render_conf(_spec(parameters={"work_mem = 1\nport": "2"}))
    with pytest.raises(ValueError):
        quote_conf_value("a\nport = 1")


def test_scram_verifier_matches_postgres() -> None:
    assert scram.verify_password(PG_VERIFIER_PENCIL, "pencil")
    assert not scram.verify_password(PG_VERIFIER_PENCIL, "pencil ")
    assert scram.verify_password(PG_VERIFIER_SASLPREP, "I\u2168\u00adx")
    salt = base64.b64decode("A+DZJMuJ1kWzUMYO3qLzJg==")  # the salt in the vector
    assert scram.scram_verifier("pencil", salt=salt) == PG_VERIFIER_PENCIL


def test_scram_verifier_format_and_random_salt() -> None:
    one, two = scram.scram_verifier("pw"), scram.scram_verifier("pw")
    assert one != two
    assert one.startswith("SCRAM-SHA-256$4096:") and one.count("$") == 2
    assert scram.verify_password(one, "pw") and scram.verify_password(two, "pw")
    assert not scram.verify_password("md5abc", "pw")


def test_saslprep_falls_back_to_raw_when_prohibited() -> None:
    assert scram.saslprep("a\u0007b") == b"a\x07b"  # control character: prohibited
    assert scram.saslprep("a\u00a0b") == b"a b"  # non-ASCII space maps to space


def test_quoting() -> None:
    assert pg.quote_ident('we"ird Name') == '"we""ird Name"'
    assert pg.quote_literal("it's") == "'it''s'"
    assert pg.quote_literal("a\\b'") == "E'a\\\\b'''"


def test_bootstrap_sql_is_rds_layout_and_never_holds_the_password() -> None:
    verifier = scram.scram_verifier("S3cret!")
    sql = roles.bootstrap_sql("Master", verifier, existing=set())
    assert "S3cret" not in sql
    assert "CREATE ROLE rds_superuser NOLOGIN;" in sql
    assert "CREATE ROLE rds_ad NOLOGIN;" in sql
    assert 'CREATE ROLE "Master";' in sql
    assert "NOSUPERUSER CREATEDB CREATEROLE" in sql
    assert 'GRANT rds_superuser TO "Master" WITH ADMIN OPTION;' in sql
    assert "TO rds_ad" not in sql and "rds_ad TO rds_superuser" not in sql
    assert 'ALTER DATABASE postgres OWNER TO "Master";' in sql
    again = roles.bootstrap_sql("Master", verifier, existing={"rds_superuser", "rds_ad", "Master"})
    assert "CREATE ROLE" not in again


def test_bootstrap_roles_runs_psql_as_os_user_with_sql_on_stdin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[list[str], str | None]] = []

    def fake(
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        timeout: float,
        input: str | None,
        cwd: str | None,
        user: str | None,
    ) -> _exec.Completed:
        calls.append((list(argv), input))
        return _exec.Completed(tuple(argv), 0, "", "")

    monkeypatch.setattr(_exec, "runner", fake)
    pg.bootstrap_roles(_spec(os_user="pgx"), "master", "Sup3r-secret")
    assert len(calls) == 2
    for argv, stdin in calls:
        assert argv[:4] == ["setpriv", "--reuid=pgx", "--regid=pgx", "--init-groups"]
        assert ["-U", "rdsadmin"] == argv[argv.index("-U") : argv.index("-U") + 2]
        assert all("Sup3r" not in a for a in argv)
        assert stdin is not None and "Sup3r" not in stdin


def test_reserved_master_names_are_refused() -> None:
    with pytest.raises(Exception, match="reserved"):
        pg.bootstrap_roles(_spec(), "rdsadmin", "x")


def test_postmaster_argv_and_exports() -> None:
    assert pg.postmaster_argv(_spec()) == [
        "/usr/lib/postgresql/15/bin/postgres",
        "-D",
        f"{HOME}/data",
    ]
    assert sorted(pg.__all__) == pg.__all__
    for name in pg.__all__:
        assert hasattr(pg, name)


def test_automated_backups_archive_gzipped_wal_and_a_group_cannot_turn_it_off() -> None:
    archive = HOME / "wal-archive"
    conf = pg.render_conf(
        _spec(wal_archive=archive, parameters={"archive_mode": "off", "archive_command": "true"})
    )
    assert "archive_mode = on\n" in conf and "archive_mode = 'off'" not in conf
    assert f"gzip -c %p > {archive}/%f.gz.tmp && mv {archive}/%f.gz.tmp {archive}/%f.gz" in conf
    assert "archive_timeout = 300\n" in conf
    assert "archive_command = 'true'" in pg.render_conf(_spec())  # on, discarding


def test_point_in_time_recovery_replays_the_source_archive_then_promotes() -> None:
    source = Path("/var/lib/pgrealm/instances/src/wal-archive")
    recovery = pg.Recovery(archive=source, target_time="2026-11-25T12:00:00+00:00")
    conf = pg.render_conf(_spec(recovery=recovery))
    assert f"restore_command = 'gunzip -c {source}/%f.gz > %p'" in conf
    assert "recovery_target_time = '2026-11-25T12:00:00+00:00'" in conf
    assert "recovery_target_action = 'promote'" in conf


def test_a_multi_az_primary_waits_for_its_standby_and_only_for_it() -> None:
    standby = pg.render_conf(_spec(primary="10.0.1.5", multi_az_standby=True))
    assert "application_name=rds_multiaz_standby" in standby
    replica = pg.render_conf(_spec(primary="10.0.1.5"))
    assert "application_name" not in replica  # a read replica's commits are never waited for
    primary = pg.render_conf(_spec(synchronous=True, replicas=("10.0.2.5",)))
    assert "synchronous_standby_names = 'rds_multiaz_standby'\n" in primary
    assert "synchronous_standby_names" not in pg.render_conf(_spec(replicas=("10.0.2.5",)))
    # A parameter group cannot make commits stop waiting, or wait for a read replica.
    grouped = pg.render_conf(_spec(synchronous=True, parameters={"synchronous_standby_names": "*"}))
    assert "synchronous_standby_names = '*'" not in grouped
