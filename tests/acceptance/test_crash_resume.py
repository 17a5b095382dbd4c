"""A server killed in the middle of a creation finishes the job after it starts again."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.acceptance.conftest import new_password
from tests.acceptance.test_seed_flow import new_instance, wait_available
from tests.acceptance.test_snapshots import master_sql, wait_snapshot
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def test_instance_creation_survives_a_server_crash(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> None:
    rds = stack.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="crashdb",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="master",
        MasterUserPassword=new_password(),
        AllocatedStorage=20,
        Domain=directory["DirectoryId"],
        DomainIAMRoleName=rds_role,
    )
    time.sleep(0.5)  # in the middle of the steps (initdb takes longer than this)
    stack.kill()
    stack.start()
    inst = wait_available(stack, "crashdb")
    assert inst["DomainMemberships"][0]["Status"] == "kerberos-enabled"
    rds.delete_db_instance(DBInstanceIdentifier="crashdb", SkipFinalSnapshot=True)


def test_snapshots_survive_server_crashes(stack: StackHandle) -> None:
    rds = stack.client("rds")
    inst, password = new_instance(stack, "crashsnap")
    master_sql(inst, password, "CREATE TABLE t AS SELECT 'committed' AS v")
    rds.create_db_snapshot(DBSnapshotIdentifier="crash-one", DBInstanceIdentifier="crashsnap")
    time.sleep(0.2)  # pg_basebackup under way
    stack.kill()
    stack.start()
    wait_snapshot(stack, "crash-one")

    rds.delete_db_instance(DBInstanceIdentifier="crashsnap", FinalDBSnapshotIdentifier="crash-last")
    time.sleep(0.2)
    stack.kill()
    stack.start()
    wait_snapshot(stack, "crash-last")
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="crashback", DBSnapshotIdentifier="crash-last"
    )
    back = wait_available(stack, "crashback")
    assert master_sql(back, password, "SELECT v FROM t") == "committed"
    rds.delete_db_instance(DBInstanceIdentifier="crashback", SkipFinalSnapshot=True)


def test_running_processes_are_adopted_not_duplicated(
    stack: StackHandle, directory: dict[str, Any]
) -> None:
    before = _samba_pids(stack)
    stack.kill()
    stack.start()
    time.sleep(2)
    assert _samba_pids(stack) == before
    desc = stack.client("ds").describe_directories(DirectoryIds=[directory["DirectoryId"]])[
        "DirectoryDescriptions"
    ][0]
    assert desc["Stage"] == "Active"


def _samba_pids(stack: StackHandle) -> set[int]:
    from pgrealm.store import Store

    docs = Store(stack.home / "state.db").list("process")
    return {int(d["pid"]) for d in docs if "/dc" in d["name"]}


def test_directory_creation_survives_a_server_crash_then_deletes(stack: StackHandle) -> None:
    ds = stack.client("ds")
    subnets = stack.client("ec2").describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    directory_id = ds.create_microsoft_ad(
        Name="crash.example.com",
        Password=new_password(),
        VpcSettings={
            "VpcId": subnets[0]["VpcId"],
            "SubnetIds": [subnets[2]["SubnetId"], subnets[3]["SubnetId"]],
        },
    )["DirectoryId"]
    time.sleep(2)  # samba-tool domain provision is under way
    stack.kill()
    stack.start()

    def stage() -> str:
        desc = ds.describe_directories(DirectoryIds=[directory_id])["DirectoryDescriptions"][0]
        return str(desc["Stage"])

    assert stack.wait("the directory to be Active", lambda: stage() in ("Active", "Failed"), 240)
    assert stage() == "Active"
    ds.delete_directory(DirectoryId=directory_id)
    assert stage() == "Deleting"

    def gone() -> bool:
        try:
            stage()
        except ds.exceptions.EntityDoesNotExistException:
            return True
        return False

    stack.wait("the directory to be deleted", gone, 60)
    assert not (stack.home / "directories" / directory_id).exists()
    assert not [n for n in _samba_pids_by_name(stack) if n.startswith(directory_id)]


def _samba_pids_by_name(stack: StackHandle) -> list[str]:
    from pgrealm.store import Store

    return [d["name"] for d in Store(stack.home / "state.db").list("process")]
