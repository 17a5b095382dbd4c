"""A DB instance's status moves only as RDS's table allows."""

from __future__ import annotations

from pgrealm.model.rds import InstanceStatus, move_instance


def test_an_instance_marked_for_deletion_is_not_brought_back() -> None:
    doc = {"aws": {"DBInstanceIdentifier": "db1", "DBInstanceStatus": "deleting"}}
    assert not move_instance(doc, InstanceStatus.AVAILABLE)
    assert doc["aws"]["DBInstanceStatus"] == "deleting"
    doc["aws"]["DBInstanceStatus"] = "creating"
    assert move_instance(doc, InstanceStatus.BACKING_UP)
    assert not move_instance(
        {"aws": {**doc["aws"], "DBInstanceStatus": "failed"}}, InstanceStatus.AVAILABLE
    )
