"""The seed's step 5 by restore: DB snapshots of real clusters, and instances made from them.

A snapshot of a Kerberos-enabled instance, restored with ``--domain`` through the aws
CLI, logs a user in with her ticket and holds the data as it was at the snapshot; the
final snapshot DeleteDBInstance takes holds the last committed write.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.acceptance.conftest import REALM
from tests.acceptance.test_seed_flow import (
    kinit,
    new_directory_user,
    new_instance,
    psql,
    wait_available,
)
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

SOURCE = "snapsrc"
OTHER = "222222222222"  # the account a snapshot is shared with


def master_sql(instance: dict[str, Any], password: str, sql: str) -> str:
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": password}
    done = psql(
        env, f"host={instance['Endpoint']['Address']} port=5432 dbname=postgres user=master", sql
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def wait_snapshot(stack: StackHandle, sid: str) -> dict[str, Any]:
    rds = stack.client("rds")

    def available() -> Any:
        snap = rds.describe_db_snapshots(DBSnapshotIdentifier=sid)["DBSnapshots"][0]
        assert snap["Status"] != "failed", stack.log_tail()
        return snap if snap["Status"] == "available" else None

    result: dict[str, Any] = stack.wait(f"snapshot {sid} to be available", available, 120)
    return result


def _delete_instance(stack: StackHandle, ident: str) -> None:
    stack.client("rds").delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)


@pytest.fixture(scope="module")
def source(stack: StackHandle, directory: dict[str, Any], rds_role: str) -> dict[str, Any]:
    """A Kerberos-enabled instance with rita's login and a table holding one row."""
    inst, password = new_instance(
        stack,
        SOURCE,
        Domain=directory["DirectoryId"],
        DomainIAMRoleName=rds_role,
    )
    master_sql(
        inst,
        password,
        f'CREATE USER "rita@{REALM}" WITH LOGIN; GRANT rds_ad TO "rita@{REALM}"; '
        "CREATE TABLE notes (v text); INSERT INTO notes VALUES ('before');"
        f'GRANT SELECT ON notes TO "rita@{REALM}";',
    )
    inst["_master_password"] = password
    return inst


def test_a_restored_snapshot_logs_rita_in_with_kerberos(
    stack: StackHandle,
    source: dict[str, Any],
    directory: dict[str, Any],
    rds_role: str,
    kerberos: dict[str, str],
) -> None:
    rds = stack.client("rds")
    made = rds.create_db_snapshot(DBSnapshotIdentifier="snap-one", DBInstanceIdentifier=SOURCE)
    assert made["DBSnapshot"]["Status"] == "creating"
    assert made["DBSnapshot"]["SnapshotType"] == "manual"
    status = rds.describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"][0]
    assert status["DBInstanceStatus"] == "backing-up"
    snap = wait_snapshot(stack, "snap-one")
    assert snap["DBInstanceIdentifier"] == SOURCE and snap["MasterUsername"] == "master"
    assert snap["PercentProgress"] == 100 and "SnapshotCreateTime" in snap
    wait_available(stack, SOURCE)
    master_sql(source, source["_master_password"], "INSERT INTO notes VALUES ('after')")

    # The seed's step 5, restoring: the aws CLI, with the directory and the role.
    out = stack.aws(
        "rds", "restore-db-instance-from-db-snapshot",
        "--db-instance-identifier", "snaprestored",
        "--db-snapshot-identifier", "snap-one",
        "--domain", directory["DirectoryId"],
        "--domain-iam-role-name", rds_role,
    )  # fmt: skip
    assert out["DBInstance"]["DBInstanceStatus"] == "creating"
    restored = wait_available(stack, "snaprestored")
    assert restored["DomainMemberships"][0]["Status"] == "kerberos-enabled"
    assert restored["Endpoint"]["Address"] != source["Endpoint"]["Address"]

    rita_pw = new_directory_user(stack, directory["DirectoryId"], "rita")
    assert kinit(kerberos, f"rita@{REALM}", rita_pw).returncode == 0
    host = restored["Endpoint"]["Address"]
    login = psql(
        kerberos,
        f"host={host} port=5432 dbname=postgres user=rita@{REALM}",
        "SELECT current_user, gss_authenticated FROM pg_stat_gssapi WHERE pid = pg_backend_pid();"
        "SELECT string_agg(v, ',') FROM notes",
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.split() == [f"rita@{REALM}|t", "before"]
    # The master user and its password come from the snapshot, as on RDS.
    assert master_sql(restored, source["_master_password"], "SELECT current_user") == "master"
    _delete_instance(stack, "snaprestored")


def test_the_final_snapshot_keeps_the_last_write(stack: StackHandle) -> None:
    rds = stack.client("rds")
    inst, password = new_instance(stack, "finalsrc")
    master_sql(inst, password, "CREATE TABLE t AS SELECT 'last write' AS v")
    out = rds.delete_db_instance(
        DBInstanceIdentifier="finalsrc", FinalDBSnapshotIdentifier="finalsrc-final"
    )
    assert out["DBInstance"]["DBInstanceStatus"] == "deleting"

    def gone() -> bool:
        try:
            rds.describe_db_instances(DBInstanceIdentifier="finalsrc")
        except rds.exceptions.DBInstanceNotFoundFault:
            return True
        return False

    stack.wait("the instance to be deleted", gone, 120)
    wait_snapshot(stack, "finalsrc-final")
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="finalback", DBSnapshotIdentifier="finalsrc-final"
    )
    back = wait_available(stack, "finalback")
    assert back["DomainMemberships"] == []
    assert master_sql(back, password, "SELECT v FROM t") == "last write"
    _delete_instance(stack, "finalback")


def test_deleted_snapshot_is_gone_with_its_files(
    stack: StackHandle, source: dict[str, Any]
) -> None:
    rds = stack.client("rds")
    rds.create_db_snapshot(DBSnapshotIdentifier="snap-gone", DBInstanceIdentifier=SOURCE)
    wait_snapshot(stack, "snap-gone")
    files = stack.home / "snapshots" / f"{stack.account}-us-east-1-snap-gone"
    assert (files / "base.tar.gz").is_file()
    out = rds.delete_db_snapshot(DBSnapshotIdentifier="snap-gone")
    assert out["DBSnapshot"]["Status"] == "deleted"
    with pytest.raises(rds.exceptions.DBSnapshotNotFoundFault):
        rds.describe_db_snapshots(DBSnapshotIdentifier="snap-gone")
    stack.wait("the snapshot's files to be removed", lambda: not files.exists(), 30)
    wait_available(stack, SOURCE)


def _code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return str(caught.value.response["Error"]["Code"])


def test_snapshot_requests_rds_refuses(stack: StackHandle, source: dict[str, Any]) -> None:
    rds = stack.client("rds")
    create, restore = rds.create_db_snapshot, rds.restore_db_instance_from_db_snapshot
    assert _code(create, DBSnapshotIdentifier="x", DBInstanceIdentifier="nosuch") == (
        "DBInstanceNotFound"
    )
    assert _code(create, DBSnapshotIdentifier="1-bad--id", DBInstanceIdentifier=SOURCE) == (
        "InvalidParameterValue"
    )
    assert _code(restore, DBInstanceIdentifier="r1", DBSnapshotIdentifier="nosuch") == (
        "DBSnapshotNotFound"
    )
    assert _code(rds.delete_db_snapshot, DBSnapshotIdentifier="nosuch") == "DBSnapshotNotFound"
    assert (
        _code(
            rds.delete_db_instance,
            DBInstanceIdentifier=SOURCE,
            SkipFinalSnapshot=True,
            FinalDBSnapshotIdentifier="both",
        )
        == "InvalidParameterCombination"
    )
    assert (
        _code(rds.describe_db_snapshots, Filters=[{"Name": "colour", "Values": ["blue"]}])
        == "InvalidParameterValue"
    )
    rds.create_db_snapshot(DBSnapshotIdentifier="snap-dup", DBInstanceIdentifier=SOURCE)
    wait_snapshot(stack, "snap-dup")
    assert _code(create, DBSnapshotIdentifier="SNAP-DUP", DBInstanceIdentifier=SOURCE) == (
        "DBSnapshotAlreadyExists"
    )
    assert _code(restore, DBInstanceIdentifier=SOURCE, DBSnapshotIdentifier="snap-dup") == (
        "DBInstanceAlreadyExists"
    )
    mine = rds.describe_db_snapshots(Filters=[{"Name": "db-instance-id", "Values": [SOURCE]}])[
        "DBSnapshots"
    ]
    assert "snap-dup" in {s["DBSnapshotIdentifier"] for s in mine}
    assert all(s["DBInstanceIdentifier"] == SOURCE for s in mine)
    rds.delete_db_snapshot(DBSnapshotIdentifier="snap-dup")


def test_point_in_time_restore_stops_at_the_moment_asked(
    stack: StackHandle, source: dict[str, Any]
) -> None:
    rds = stack.client("rds")
    desc = rds.describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"][0]
    assert desc["BackupRetentionPeriod"] == 1 and "LatestRestorableTime" in desc
    (backups,) = stack.aws(
        "rds", "describe-db-instance-automated-backups", "--db-instance-identifier", SOURCE
    )["DBInstanceAutomatedBackups"]
    assert backups["Status"] == "active" and backups["DbiResourceId"] == desc["DbiResourceId"]
    assert backups["RestoreWindow"]["EarliestTime"] <= backups["RestoreWindow"]["LatestTime"]
    password = source["_master_password"]
    master_sql(source, password, "CREATE TABLE moments AS SELECT 'kept' AS v")
    now_sql = "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    moment = datetime.fromisoformat(master_sql(source, password, now_sql)).replace(tzinfo=UTC)
    time.sleep(1.5)
    master_sql(source, password, "INSERT INTO moments VALUES ('too late')")

    out = stack.aws(
        "rds", "restore-db-instance-to-point-in-time",
        "--source-db-instance-identifier", SOURCE,
        "--target-db-instance-identifier", "pitrback",
        "--restore-time", moment.isoformat(),
    )  # fmt: skip
    assert out["DBInstance"]["DBInstanceStatus"] == "creating"
    back = wait_available(stack, "pitrback")
    assert master_sql(back, password, "SELECT string_agg(v, ',') FROM moments") == "kept"
    assert master_sql(back, password, "SELECT pg_is_in_recovery()") == "f"
    master_sql(back, password, "INSERT INTO moments VALUES ('writable')")

    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=SOURCE,
        TargetDBInstanceIdentifier="pitrlatest",
        UseLatestRestorableTime=True,
    )
    latest = wait_available(stack, "pitrlatest")
    rows = master_sql(latest, password, "SELECT string_agg(v, ',' ORDER BY v) FROM moments")
    assert rows == "kept,too late"
    _delete_instance(stack, "pitrback")
    _delete_instance(stack, "pitrlatest")


def test_point_in_time_requests_rds_refuses(stack: StackHandle, source: dict[str, Any]) -> None:
    rds = stack.client("rds")
    restore = rds.restore_db_instance_to_point_in_time
    assert _code(
        restore, SourceDBInstanceIdentifier=SOURCE, TargetDBInstanceIdentifier="p1",
        RestoreTime=datetime(2001, 1, 1, tzinfo=UTC),
    ) == "InvalidRestoreFault"  # fmt: skip
    assert _code(
        restore, SourceDBInstanceIdentifier=SOURCE, TargetDBInstanceIdentifier="p1",
        RestoreTime=datetime.now(UTC), UseLatestRestorableTime=True,
    ) == "InvalidParameterCombination"  # fmt: skip
    assert _code(
        restore, SourceDBInstanceIdentifier="nosuch", TargetDBInstanceIdentifier="p1",
        UseLatestRestorableTime=True,
    ) == "DBInstanceNotFound"  # fmt: skip
    new_instance(stack, "nobackups", BackupRetentionPeriod=0)
    assert _code(
        restore, SourceDBInstanceIdentifier="nobackups", TargetDBInstanceIdentifier="p1",
        UseLatestRestorableTime=True,
    ) == "PointInTimeRestoreNotEnabled"  # fmt: skip
    assert _code(
        rds.describe_db_instance_automated_backups, DBInstanceIdentifier="nobackups"
    ) == "DBInstanceAutomatedBackupNotFound"  # fmt: skip
    assert _code(
        rds.modify_db_instance, DBInstanceIdentifier="nobackups", BackupRetentionPeriod=36
    ) == "InvalidParameterValue"  # fmt: skip
    assert _code(
        restore, SourceDBInstanceIdentifier=SOURCE, TargetDBInstanceIdentifier="p1",
        UseLatestRestorableTime=True, BackupRetentionPeriod=36,
    ) == "InvalidParameterValue"  # fmt: skip

    # Turned on later, automated backups start at once: archive_mode is already on.
    stack.aws(
        "rds", "modify-db-instance", "--db-instance-identifier", "nobackups",
        "--backup-retention-period", "3",
    )  # fmt: skip
    stack.wait(
        "the first automated backup",
        lambda: "LatestRestorableTime" in wait_available(stack, "nobackups"),
        60,
    )
    _delete_instance(stack, "nobackups")


def test_a_copy_outlives_its_source_snapshot(stack: StackHandle, source: dict[str, Any]) -> None:
    rds = stack.client("rds")
    rds.create_db_snapshot(
        DBSnapshotIdentifier="snap-orig",
        DBInstanceIdentifier=SOURCE,
        Tags=[{"Key": "kept", "Value": "yes"}],
    )
    orig = wait_snapshot(stack, "snap-orig")
    out = stack.aws(
        "rds", "copy-db-snapshot",
        "--source-db-snapshot-identifier", orig["DBSnapshotArn"],
        "--target-db-snapshot-identifier", "snap-copy", "--copy-tags",
    )  # fmt: skip
    assert out["DBSnapshot"]["Status"] == "creating"
    copy = wait_snapshot(stack, "snap-copy")
    assert copy["SourceDBSnapshotIdentifier"] == orig["DBSnapshotArn"]
    assert copy["OriginalSnapshotCreateTime"] == orig["SnapshotCreateTime"]
    assert copy["TagList"] == [{"Key": "kept", "Value": "yes"}]
    rds.delete_db_snapshot(DBSnapshotIdentifier="snap-orig")
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="copyback", DBSnapshotIdentifier="snap-copy"
    )
    back = wait_available(stack, "copyback")
    assert master_sql(back, source["_master_password"], "SELECT count(*) > 0 FROM notes") == "t"
    _delete_instance(stack, "copyback")
    rds.delete_db_snapshot(DBSnapshotIdentifier="snap-copy")


def test_a_snapshot_shared_with_another_account_restores_there(
    stack: StackHandle, source: dict[str, Any]
) -> None:
    owner, other = stack.client("rds"), stack.client("rds", account=OTHER)
    owner.create_db_snapshot(DBSnapshotIdentifier="snap-shared", DBInstanceIdentifier=SOURCE)
    arn = wait_snapshot(stack, "snap-shared")["DBSnapshotArn"]
    with pytest.raises(other.exceptions.DBSnapshotNotFoundFault):  # not shared yet
        other.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="theirs", DBSnapshotIdentifier=arn
        )
    shared = owner.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="snap-shared", AttributeName="restore", ValuesToAdd=[OTHER]
    )["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
    assert shared == [{"AttributeName": "restore", "AttributeValues": [OTHER]}]
    seen = other.describe_db_snapshots(SnapshotType="shared")["DBSnapshots"]
    assert [(s["DBSnapshotIdentifier"], s["SnapshotType"]) for s in seen] == [(arn, "shared")]
    assert other.describe_db_snapshots()["DBSnapshots"] == []  # its own: none

    other.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="theirs", DBSnapshotIdentifier=arn
    )
    theirs = wait_available(stack, "theirs", account=OTHER)
    assert theirs["DBInstanceArn"].split(":")[4] == OTHER
    assert master_sql(theirs, source["_master_password"], "SELECT count(*) > 0 FROM notes") == "t"
    other.delete_db_instance(DBInstanceIdentifier="theirs", SkipFinalSnapshot=True)
    owner.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="snap-shared", AttributeName="restore", ValuesToRemove=[OTHER]
    )
    assert other.describe_db_snapshots(IncludeShared=True)["DBSnapshots"] == []
    assert _code(
        owner.modify_db_snapshot_attribute, DBSnapshotIdentifier="snap-shared",
        AttributeName="restore", ValuesToAdd=["not-an-account"],
    ) == "InvalidParameterValue"  # fmt: skip


def test_backups_retained_after_the_instance_restore_it(stack: StackHandle) -> None:
    rds = stack.client("rds")
    inst, password = new_instance(stack, "keeper")
    resource = inst["DbiResourceId"]
    master_sql(inst, password, "CREATE TABLE kept AS SELECT 'last words' AS v")
    rds.delete_db_instance(
        DBInstanceIdentifier="keeper", SkipFinalSnapshot=True, DeleteAutomatedBackups=False
    )

    def retained() -> Any:
        try:
            found = rds.describe_db_instance_automated_backups(DbiResourceId=resource)
        except rds.exceptions.DBInstanceAutomatedBackupNotFoundFault:
            return None  # between the instance's end and the record of its backups
        statuses = [b["Status"] for b in found["DBInstanceAutomatedBackups"]]
        return found["DBInstanceAutomatedBackups"][0] if statuses == ["retained"] else None

    backup = stack.wait("the backups to be retained", retained, 60)
    assert backup["DBInstanceIdentifier"] == "keeper"
    rds.restore_db_instance_to_point_in_time(
        SourceDbiResourceId=resource,
        TargetDBInstanceIdentifier="keeperback",
        UseLatestRestorableTime=True,
        BackupRetentionPeriod=0,
    )
    back = wait_available(stack, "keeperback")
    assert master_sql(back, password, "SELECT v FROM kept") == "last words"

    out = stack.aws("rds", "delete-db-instance-automated-backup", "--dbi-resource-id", resource)
    assert out["DBInstanceAutomatedBackup"]["Status"] == "deleting"
    with pytest.raises(rds.exceptions.DBInstanceAutomatedBackupNotFoundFault):
        rds.describe_db_instance_automated_backups(DbiResourceId=resource)
    root = stack.home / "retained-backups" / f"{stack.account}-us-east-1-{resource}"
    stack.wait("the retained files to be removed", lambda: not root.exists(), 30)
    _delete_instance(stack, "keeperback")
