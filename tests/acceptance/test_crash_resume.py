"""A server killed in the middle of a creation finishes the job after it starts again."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.acceptance.conftest import new_password
from tests.acceptance.test_seed_flow import wait_available
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
