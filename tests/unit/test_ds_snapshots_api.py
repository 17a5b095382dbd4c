"""CreateSnapshot, DescribeSnapshots, DeleteSnapshot, RestoreFromSnapshot and
GetSnapshotLimits against a real Store (the backup and the restore are the reconciler's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.services.ds.service import KIND
from pgrealm.services.ds.snapshots import MANUAL_SNAPSHOT_LIMIT
from pgrealm.services.errors import ServiceError
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER = "111111111111"


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


def snapshot(stack: DsStack, did: str) -> str:
    return str(stack.ds.create_snapshot(stack.ctx(OWNER), {"DirectoryId": did})["SnapshotId"])


def test_a_snapshot_is_creating_then_restorable_once_completed(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    ctx = stack.ctx(OWNER)
    sid = snapshot(stack, did)
    [shown] = stack.ds.describe_snapshots(ctx, {"DirectoryId": did})["Snapshots"]
    assert (shown["SnapshotId"], shown["Status"], shown["Type"]) == (sid, "Creating", "Manual")
    with pytest.raises(ServiceError) as exc:
        stack.ds.restore_from_snapshot(ctx, {"SnapshotId": sid})
    assert exc.value.shape == "ClientException"

    def completed(d: dict[str, Any]) -> None:
        d["snapshots"][0]["Status"] = "Completed"

    stack.store.update(KIND, OWNER, REGION, did, completed)
    stack.ds.restore_from_snapshot(ctx, {"SnapshotId": sid})
    doc = stack.store.get(KIND, OWNER, REGION, did)
    assert doc["aws"]["Stage"] == "Restoring" and doc["restoring"] == sid
    with pytest.raises(ServiceError) as busy:
        stack.ds.delete_snapshot(ctx, {"SnapshotId": sid})
    assert busy.value.shape == "ClientException"


def test_the_manual_snapshot_quota(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    for _ in range(MANUAL_SNAPSHOT_LIMIT):
        snapshot(stack, did)
    with pytest.raises(ServiceError) as exc:
        snapshot(stack, did)
    assert exc.value.shape == "SnapshotLimitExceededException"
    limits = stack.ds.get_snapshot_limits(stack.ctx(OWNER), {"DirectoryId": did})
    assert limits["SnapshotLimits"]["ManualSnapshotsLimitReached"] is True


def test_delete_and_unknown_snapshots(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    ctx = stack.ctx(OWNER)
    sid = snapshot(stack, did)
    stack.ds.delete_snapshot(ctx, {"SnapshotId": sid})
    assert stack.ds.describe_snapshots(ctx, {"DirectoryId": did})["Snapshots"] == []
    assert stack.store.get(KIND, OWNER, REGION, did)["snapshot_files_to_remove"] == [sid]
    for call in (stack.ds.delete_snapshot, stack.ds.restore_from_snapshot):
        with pytest.raises(ServiceError) as exc:
            call(ctx, {"SnapshotId": sid})
        assert exc.value.shape == "EntityDoesNotExistException"
