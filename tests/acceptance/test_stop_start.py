"""stop-db-instance and start-db-instance through the aws CLI, with RDS's statuses and
refusals; a Kerberos login works again after the start."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.acceptance.conftest import REALM
from tests.acceptance.test_seed_flow import kinit, new_directory_user, new_instance, psql
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def _status(stack: StackHandle, ident: str) -> str:
    rds = stack.client("rds")
    return str(
        rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]["DBInstanceStatus"]
    )


def test_stop_and_start_keep_the_data_and_the_kerberos_login(
    stack: StackHandle, directory: dict[str, Any], rds_role: str, kerberos: dict[str, str]
) -> None:
    did = directory["DirectoryId"]
    inst, password = new_instance(
        stack, "sleeper", BackupRetentionPeriod=0, Domain=did, DomainIAMRoleName=rds_role
    )
    host = inst["Endpoint"]["Address"]
    master = {"PATH": os.environ["PATH"], "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}
    master_db = f"host={host} port=5432 dbname=postgres user=master"
    una_pw = new_directory_user(stack, did, "una")
    sql = (
        f'CREATE USER "una@{REALM}" WITH LOGIN; GRANT rds_ad TO "una@{REALM}"; '
        "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42);"
    )
    assert psql(master, master_db, sql).returncode == 0

    refused = stack.aws(
        "rds", "start-db-instance", "--db-instance-identifier", "sleeper", check=False
    )
    assert refused.returncode != 0 and "InvalidDBInstanceState" in refused.stderr
    out = stack.aws("rds", "stop-db-instance", "--db-instance-identifier", "sleeper")
    assert out["DBInstance"]["DBInstanceStatus"] == "stopping"
    stack.wait("sleeper to stop", lambda: _status(stack, "sleeper") == "stopped")
    assert psql(master, master_db, "SELECT 1").returncode != 0  # nothing listens
    for command in ("stop-db-instance", "reboot-db-instance", "modify-db-instance"):
        args = ["--db-instance-identifier", "sleeper"]
        if command == "modify-db-instance":
            args += ["--backup-retention-period", "0"]
        done = stack.aws("rds", command, *args, check=False)
        assert done.returncode != 0 and "InvalidDBInstanceState" in done.stderr, command

    out = stack.aws("rds", "start-db-instance", "--db-instance-identifier", "sleeper")
    assert out["DBInstance"]["DBInstanceStatus"] == "starting"
    stack.wait("sleeper to start", lambda: _status(stack, "sleeper") == "available")
    assert psql(master, master_db, "SELECT n FROM kept").stdout.strip() == "42"
    assert kinit(kerberos, f"una@{REALM}", una_pw).returncode == 0
    una = f"host={host} port=5432 dbname=postgres user=una@{REALM}"
    login = psql(
        kerberos, una, "SELECT gss_authenticated FROM pg_stat_gssapi WHERE pid = pg_backend_pid()"
    )
    assert login.stdout.strip() == "t", login.stderr
    stack.client("rds").delete_db_instance(DBInstanceIdentifier="sleeper", SkipFinalSnapshot=True)
