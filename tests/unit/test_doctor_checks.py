"""The doctor's checks with the real tools faked at the subprocess seam (engines._exec)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from pgrealm.client.doctor import Doctor, Severity, Target
from pgrealm.client.doctor.database import DatabaseChecks
from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.engines import _exec

REALM = "CORP.EXAMPLE.COM"
HOST = "db1.abc.us-east-1.rds.pgrealm.internal"
SPN = f"postgres/{HOST}@{REALM}"
Tools = dict[str, Callable[[Sequence[str]], tuple[int, str, str]]]


def target(keytab: Path | None = None) -> Target:
    return Target(
        f"alice@{REALM}",
        REALM,
        "corp.example.com",
        "d-1",
        ("127.70.0.4",),
        "db1",
        HOST,
        5432,
        keytab,
    )


@pytest.fixture
def tools(monkeypatch: pytest.MonkeyPatch) -> Tools:
    """Answers by tool name; argv[0] picks the handler."""
    table: Tools = {}

    def fake(
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        timeout: float,
        input: str | None,
        cwd: str | None,
        user: str | None,
    ) -> _exec.Completed:
        code, out, err = table[argv[0]](argv)
        return _exec.Completed(tuple(argv), code, out, err)

    monkeypatch.setattr(_exec, "runner", fake)
    return table


def test_lower_case_realm_is_named(tmp_path: Path) -> None:
    conf = tmp_path / "krb5.conf"
    conf.write_text(render_krb5_conf(REALM, ["127.70.0.4"]).replace(REALM, REALM.lower()))
    finding = Doctor(target(), {"KRB5_CONFIG": str(conf)}).krb5_conf()
    assert finding.severity is Severity.FAIL and "case-sensitive" in finding.cause


def test_missing_krb5_conf(tmp_path: Path) -> None:
    finding = Doctor(target(), {"KRB5_CONFIG": str(tmp_path / "none")}).krb5_conf()
    assert finding.severity is Severity.FAIL and "krb5-conf" in finding.fix


def test_missing_ticket_says_kinit(tools: Tools) -> None:
    tools["klist"] = lambda argv: (1, "", "klist: No credentials cache found")
    finding = Doctor(target(), {}).ticket()
    assert finding.severity is Severity.FAIL and f"kinit alice@{REALM}" in finding.fix


def test_ticket_of_another_case_is_named(tools: Tools) -> None:
    tools["klist"] = lambda argv: (0, "Default principal: alice@corp.example.com\n", "")
    finding = Doctor(target(), {}).ticket()
    assert finding.severity is Severity.FAIL and "case-sensitive" in finding.cause


def test_stale_keytab(tools: Tools, tmp_path: Path) -> None:
    keytab = tmp_path / "krb5.keytab"
    keytab.write_bytes(b"")
    tools["kvno"] = lambda argv: (0, f"{SPN}: kvno = 3\n", "")
    tools["klist"] = lambda argv: (0, f"KVNO Principal\n---- ---\n   2 {SPN}\n", "")
    doctor = Doctor(target(keytab), {})
    doctor.facts.has_ticket = True
    finding = doctor.spn()
    assert finding.severity is Severity.FAIL and "stale keytab" in finding.summary


def test_clock_skew_over_five_minutes() -> None:
    doctor = Doctor(target(), {})
    doctor.facts.kdc_times.append(("127.70.0.4", 1000.0, 1000.0 + 601))
    finding = doctor.clock()
    assert finding.severity is Severity.FAIL and "10 min 1 s ahead" in finding.summary


def test_password_request_means_no_rds_ad(tools: Tools) -> None:
    tools["psql"] = lambda argv: (2, "", "psql: error: fe_sendauth: no password supplied")
    role, login = DatabaseChecks(target(), {}, 1.0).role_and_login()
    assert role.severity is Severity.FAIL and "rds_ad" in role.cause
    assert login.severity is Severity.SKIP


def test_role_in_another_case_is_found(tools: Tools) -> None:
    def psql(argv: Sequence[str]) -> tuple[int, str, str]:
        if f"user=alice@{REALM.lower()}" in argv[4]:
            return 2, "", 'FATAL:  GSSAPI authentication failed for user "alice@corp..."'
        return 2, "", "fe_sendauth: no password supplied"

    tools["psql"] = psql
    role, _ = DatabaseChecks(target(), {}, 1.0).role_and_login()
    assert role.severity is Severity.FAIL and "ALTER ROLE" in role.fix


def test_gssapi_login_passes(tools: Tools) -> None:
    tools["psql"] = lambda argv: (0, f"alice@{REALM}|t|t\n", "")
    role, login = DatabaseChecks(target(), {}, 1.0).role_and_login()
    assert role.severity is login.severity is Severity.PASS
