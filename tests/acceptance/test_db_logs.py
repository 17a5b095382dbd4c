"""describe-db-log-files and download-db-log-file-portion over an instance's real
PostgreSQL logs, through the aws CLI: a failed GSSAPI login is there in PostgreSQL's own
words, and the CLI pages a whole file (--starting-token 0) as it does against RDS. With
the postgresql export on, the same logs are in CloudWatch Logs, in RDS's log group."""

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

    # Exported to CloudWatch Logs: RDS's group, one stream named after the instance.
    bad = stack.aws(
        "rds",
        "modify-db-instance",
        "--db-instance-identifier",
        "logsdb",
        "--cloudwatch-logs-export-configuration",
        "EnableLogTypes=audit",
        check=False,
    )
    assert "(InvalidParameterCombination)" in bad.stderr, bad.stderr
    shown = stack.aws("rds", "modify-db-instance", "--db-instance-identifier", "logsdb",
                      "--cloudwatch-logs-export-configuration",
                      "EnableLogTypes=postgresql")["DBInstance"]  # fmt: skip
    assert shown["EnabledCloudwatchLogsExports"] == ["postgresql"]
    group = "/aws/rds/instance/logsdb/postgresql"
    groups = stack.aws("logs", "describe-log-groups", "--log-group-name-prefix", "/aws/rds/")
    assert group in [g["logGroupName"] for g in groups["logGroups"]]
    streams = stack.aws("logs", "describe-log-streams", "--log-group-name", group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["logsdb"]
    found = stack.aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern",
                      '"GSSAPI authentication failed"')["events"]  # fmt: skip
    assert any(victim in e["message"] for e in found), found
    tail = stack.aws("logs", "get-log-events", "--log-group-name", group, "--log-stream-name",
                     "logsdb", "--limit", "5")["events"]  # fmt: skip
    assert 0 < len(tail) <= 5 and all(e["timestamp"] > 0 for e in tail)
    stack.client("rds").delete_db_instance(DBInstanceIdentifier="logsdb", SkipFinalSnapshot=True)
