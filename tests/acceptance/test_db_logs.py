"""describe-db-log-files and download-db-log-file-portion over an instance's real
PostgreSQL logs, through the aws CLI: a failed GSSAPI login is there in PostgreSQL's own
words, and the CLI pages a whole file (--starting-token 0) as it does against RDS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.acceptance.conftest import REALM, joined_instance
from tests.acceptance.test_seed_flow import kinit, new_directory_user, psql
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def test_a_failed_gssapi_login_is_in_the_instance_logs(
    stack: StackHandle, directory: dict[str, Any], rds_role: str, tmp_path: Path
) -> None:
    endpoint, master = joined_instance(stack, directory, rds_role, "logsdb")
    victim = f"mallory@{REALM}"
    made = psql(
        {"PATH": "/usr/bin:/bin", "PGPASSWORD": master},
        f"host={endpoint} port=5432 dbname=postgres user=master",
        f'CREATE USER "{victim}" WITH LOGIN; GRANT rds_ad TO "{victim}";',
    )
    assert made.returncode == 0, made.stderr
    # logan's ticket, offered as mallory: PostgreSQL refuses it.
    password = new_directory_user(stack, directory["DirectoryId"], "logan")
    conf = tmp_path / "krb5.conf"
    conf.write_text(render_krb5_conf(REALM, stack.kdcs(directory), [endpoint]))
    env = {"KRB5_CONFIG": str(conf), "KRB5CCNAME": f"FILE:{tmp_path}/cc", "PATH": "/usr/bin:/bin"}
    assert kinit(env, f"logan@{REALM}", password).returncode == 0
    refused = psql(env, f"host={endpoint} port=5432 dbname=postgres user={victim}", "SELECT 1")
    assert refused.returncode != 0

    files = stack.aws("rds", "describe-db-log-files", "--db-instance-identifier", "logsdb")[
        "DescribeDBLogFiles"
    ]
    assert files and all(f["LogFileName"].startswith("error/postgresql.log.") for f in files)
    newest = max(files, key=lambda f: f["LogFileName"])["LogFileName"]
    whole = stack.aws(
        "rds", "download-db-log-file-portion", "--db-instance-identifier", "logsdb",
        "--log-file-name", newest, "--starting-token", "0", "--output", "text", check=False,
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    assert f'GSSAPI authentication failed for user "{victim}"' in whole.stdout, whole.stdout[-2000:]

    first = stack.client("rds").download_db_log_file_portion(
        DBInstanceIdentifier="logsdb", LogFileName=newest, Marker="0", NumberOfLines=1
    )
    assert first["Marker"] == "1" and first["AdditionalDataPending"] is True
    missing = stack.aws(
        "rds", "download-db-log-file-portion", "--db-instance-identifier", "logsdb",
        "--log-file-name", "error/postgresql.log.1999-01-01-00", check=False,
    )  # fmt: skip
    assert "(DBLogFileNotFoundFault)" in missing.stderr
    stack.client("rds").delete_db_instance(DBInstanceIdentifier="logsdb", SkipFinalSnapshot=True)
