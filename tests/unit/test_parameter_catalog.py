"""DB parameter values are checked as RDS checks them, against the setting's type and
limits from PostgreSQL's catalog."""

from __future__ import annotations

from pgrealm.model.parameters import Setting, is_true, value_problem

WORK_MEM = Setting("work_mem", "user", "INTEGER", "64", "2147483647", "query workspace")
CASEINS = Setting("krb_caseins_users", "sighup", "BOOLEAN", "", "", "case-insensitive")
BUFFERS = Setting("shared_buffers", "postmaster", "INTEGER", "16", "1073741823", "buffers")


def test_values_inside_the_limits_pass() -> None:
    assert value_problem(WORK_MEM, "8192") is None
    assert value_problem(CASEINS, "1") is None and value_problem(CASEINS, "off") is None


def test_values_outside_are_refused_in_rds_words() -> None:
    assert value_problem(WORK_MEM, "1") == (
        "Invalid parameter value: 1 for: work_mem allowed values are: 64-2147483647"
    )
    assert value_problem(WORK_MEM, "8MB")  # RDS takes the base unit only
    assert value_problem(CASEINS, "maybe")


def test_what_rds_shows_of_a_setting() -> None:
    assert BUFFERS.static and not WORK_MEM.static
    assert (CASEINS.data_type, CASEINS.allowed_values) == ("boolean", "0,1")
    assert WORK_MEM.allowed_values == "64-2147483647"
    assert is_true("1") and is_true("ON") and not is_true("0")
