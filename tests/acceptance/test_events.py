"""describe-events through the aws CLI: an instance's life, and its Kerberos membership,
as events a script can wait on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.test_seed_flow import new_instance
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def _messages(stack: StackHandle, ident: str, *extra: str) -> list[str]:
    out = stack.aws(
        "rds",
        "describe-events",
        "--source-type",
        "db-instance",
        "--source-identifier",
        ident,
        *extra,
    )
    return [e["Message"] for e in out["Events"]]


def test_an_instances_life_is_in_its_events(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> None:
    did = directory["DirectoryId"]
    new_instance(stack, "evented", BackupRetentionPeriod=0, Domain=did, DomainIAMRoleName=rds_role)
    rds = stack.client("rds")
    rds.reboot_db_instance(DBInstanceIdentifier="evented")
    stack.wait(
        "the reboot",
        lambda: "DB instance restarted" in _messages(stack, "evented"),
    )
    # One change made it available and kerberos-enabled: its events, in that order.
    assert _messages(stack, "evented")[:3] == [
        "DB instance created",
        f"Kerberos authentication enabled with domain {did}",
        "DB instance restarted",
    ]
    failures = _messages(stack, "evented", "--event-categories", "failure")
    assert failures == []
    categories = stack.aws("rds", "describe-event-categories", "--source-type", "db-instance")
    assert "configuration change" in categories["EventCategoriesMapList"][0]["EventCategories"]
    refused = stack.aws("rds", "describe-events", "--source-identifier", "evented", check=False)
    assert refused.returncode != 0 and "InvalidParameterCombination" in refused.stderr
    rds.delete_db_instance(DBInstanceIdentifier="evented", SkipFinalSnapshot=True)
    stack.wait("the deletion event", lambda: "DB instance deleted" in _messages(stack, "evented"))
