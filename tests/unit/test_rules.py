"""Rules the service models cannot express: Admin passwords (seed step 1), RDS names."""

from __future__ import annotations

import pytest

from pgrealm.services.ds.rules import admin_password_problem
from pgrealm.services.rds import rules


@pytest.mark.parametrize("password", ["Passw0rd!", "abcDEF123", "x" * 60 + "A1b!"])
def test_good_admin_passwords(password: str) -> None:
    assert admin_password_problem(password) is None


@pytest.mark.parametrize(
    "password, words",
    [
        ("Sh0rt!", "8 to 64"),
        ("A1!" + "a" * 62, "8 to 64"),
        ("onlylowercase", "three of the following"),
        ("MyAdmin123", "admin"),
        ("xxADMINxx1a", "admin"),
    ],
)
def test_bad_admin_passwords(password: str, words: str) -> None:
    problem = admin_password_problem(password)
    assert problem is not None and words in problem


def test_rds_names_and_passwords() -> None:
    assert rules.identifier_problem("mydb-1") is None
    assert rules.identifier_problem("1db") and rules.identifier_problem("a--b")
    assert rules.master_username_problem("master") is None
    assert rules.master_username_problem("postgres") is None  # the console's default
    assert rules.master_username_problem("Postgres_2") is None
    assert rules.master_username_problem("m" * 63) is None
    for reserved in ("rdsadmin", "admin", "user", "select", "rds_superuser"):
        assert "reserved word" in (rules.master_username_problem(reserved) or ""), reserved
    assert '"pg_" are reserved' in (rules.master_username_problem("pg_dba") or "")
    for bad in ("m" * 64, "1master", "mas-ter", ""):
        assert "not a valid identifier" in (rules.master_username_problem(bad) or ""), bad
    assert rules.master_password_problem("has/slash1") and rules.master_password_problem("short")
    assert rules.master_password_problem("Good-pass1") is None


def test_snapshot_identifiers() -> None:
    assert rules.snapshot_identifier_problem("mydb-final-2026") is None
    assert rules.snapshot_identifier_problem("s" * 255) is None
    for bad in ("s" * 256, "1snap", "snap-", "a--b", "snap_1", ""):
        assert rules.snapshot_identifier_problem(bad), bad


def test_random_passwords_pass_every_rule() -> None:
    from pgrealm.passwords import random_password

    for _ in range(50):
        password = random_password()
        assert admin_password_problem(password) is None
        assert rules.master_password_problem(password) is None
