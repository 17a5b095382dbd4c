"""Directory snapshots (CreateSnapshot, DescribeSnapshots, DeleteSnapshot,
RestoreFromSnapshot, GetSnapshotLimits), mixed into ``DsService``.

A snapshot is a real backup of the directory's first DC (engines/samba/backup.py), which
the directory reconciler takes (Creating -> Completed or Failed). Restoring moves the
directory to Restoring: the reconciler puts the backup back into that DC, joins the
others again from it, and the directory is Active as it was at the snapshot's moment.
AWS's default quota is five manual snapshots per directory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgrealm.model.directory import DirectoryStage, now, set_stage
from pgrealm.services.base import new_id
from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.ds.rules import require_own_directory
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["MANUAL_SNAPSHOT_LIMIT", "SnapshotsMixin"]

MANUAL_SNAPSHOT_LIMIT = 5
_KIND = Kind.DIRECTORY


class SnapshotsMixin(DsMixin):
    def create_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id = params["DirectoryId"]
        snapshot_id = new_id("s-", 10)
        with self.store.transaction():
            doc = self._active(ctx, directory_id)
            require_own_directory(doc, "A snapshot")
            if len(doc.get("snapshots", [])) >= MANUAL_SNAPSHOT_LIMIT:
                raise ServiceError(
                    "SnapshotLimitExceededException",
                    f"Directory {directory_id} has reached its limit of "
                    f"{MANUAL_SNAPSHOT_LIMIT} manual snapshots.",
                )
            doc.setdefault("snapshots", []).append(
                {
                    "DirectoryId": directory_id,
                    "SnapshotId": snapshot_id,
                    "Type": "Manual",
                    "Name": params.get("Name"),
                    "Status": "Creating",
                    "StartTime": now().isoformat(),
                }
            )
            self.store.put(_KIND, ctx.account_id, ctx.region, directory_id, doc)
        self.kick()
        return {"SnapshotId": snapshot_id}

    def describe_snapshots(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        snapshots = self._listed(ctx, params, "snapshots", "SnapshotIds")
        shown = [
            {k: v for k, v in {**s, "StartTime": datetime.fromisoformat(s["StartTime"])}.items()
             if v is not None}
            for s in snapshots
        ]  # fmt: skip
        return page("ds", "DescribeSnapshots", shown, params)

    def delete_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc, snapshot = self._snapshot(ctx, params["SnapshotId"])
        if (
            doc["aws"]["Stage"] == DirectoryStage.RESTORING
            and doc.get("restoring") == (snapshot["SnapshotId"])
        ):
            raise ServiceError(
                "ClientException", f"Snapshot {snapshot['SnapshotId']} is being restored."
            )

        def drop(d: Doc) -> None:
            d["snapshots"] = [
                s for s in d.get("snapshots", []) if s["SnapshotId"] != snapshot["SnapshotId"]
            ]
            d.setdefault("snapshot_files_to_remove", []).append(snapshot["SnapshotId"])

        self.store.update(_KIND, ctx.account_id, ctx.region, doc["aws"]["DirectoryId"], drop)
        self.kick()
        return {"SnapshotId": snapshot["SnapshotId"]}

    def restore_from_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc, snapshot = self._snapshot(ctx, params["SnapshotId"])
        if snapshot["Status"] != "Completed":
            raise ServiceError(
                "ClientException",
                f"Snapshot {snapshot['SnapshotId']} is {snapshot['Status']}: only a Completed "
                "snapshot can be restored.",
            )
        if doc["aws"]["Stage"] not in ("Active", "Impaired", "RestoreFailed"):
            raise ServiceError(
                "ClientException",
                f"Directory {doc['aws']['DirectoryId']} cannot be restored while it is "
                f"{doc['aws']['Stage']}.",
            )

        def restore(d: Doc) -> None:
            d["restoring"] = snapshot["SnapshotId"]
            set_stage(d, DirectoryStage.RESTORING)

        self.store.update(_KIND, ctx.account_id, ctx.region, doc["aws"]["DirectoryId"], restore)
        self.kick()
        return {}

    def get_snapshot_limits(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.get_directory(ctx, params["DirectoryId"])
        count = len(doc.get("snapshots", []))
        return {
            "SnapshotLimits": {
                "ManualSnapshotsLimit": MANUAL_SNAPSHOT_LIMIT,
                "ManualSnapshotsCurrentCount": count,
                "ManualSnapshotsLimitReached": count >= MANUAL_SNAPSHOT_LIMIT,
            }
        }

    def _snapshot(self, ctx: RequestContext, snapshot_id: str) -> tuple[Doc, Doc]:
        for doc in self.store.list(_KIND, ctx.account_id, ctx.region):
            for snapshot in doc.get("snapshots", []):
                if snapshot["SnapshotId"] == snapshot_id:
                    return doc, snapshot
        raise ServiceError("EntityDoesNotExistException", f"Snapshot {snapshot_id} does not exist.")
