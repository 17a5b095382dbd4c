"""RDS DB snapshots: CreateDBSnapshot, DescribeDBSnapshots, DeleteDBSnapshot, and the
final snapshot DeleteDBInstance takes when asked for one.

A snapshot is one store document of kind ``db_snapshot`` holding the ``DBSnapshot``
shape; the db-snapshot reconciler copies the instance's cluster (see
:mod:`pgrealm.engines.postgres.snapshot`). RestoreDBInstanceFromDBSnapshot, which makes
an instance, lives with the other instance operations in ``service.py``.

Status, as RDS shows it:

    snapshot:  creating -> available | failed;  DeleteDBSnapshot answers "deleted"
    instance:  available -> backing-up -> available   (while its snapshot is taken)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pgrealm.model.rds import InstanceStatus, SnapshotStatus, move_instance
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.services.pagination import page
from pgrealm.services.rds import rules
from pgrealm.services.rds.filters import filter_tests, one
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["SNAPSHOT", "SnapshotStatus", "SnapshotsMixin", "snapshot_key"]

log = logging.getLogger(__name__)

SNAPSHOT = Kind.DB_SNAPSHOT
_INSTANCE = Kind.DB_INSTANCE
_ARN = re.compile(r"^arn:aws:rds:(?P<region>[^:]+):(?P<account>\d{12}):snapshot:(?P<name>.+)$")
_ACCOUNT = re.compile(r"^\d{12}$")
_SHARE_LIMIT = 20  # accounts a manual snapshot can be shared with
_FILTERS = {
    "db-instance-id": one("DBInstanceIdentifier"),
    "db-snapshot-id": one("DBSnapshotIdentifier"),
    "dbi-resource-id": one("DbiResourceId"),
    "snapshot-type": one("SnapshotType"),
    "engine": one("Engine"),
}


class SnapshotsMixin:
    """The DB snapshot operations, mixed into ``RdsService``."""

    store: Store
    kick: Any

    # -- operations ------------------------------------------------------------------------
    def create_db_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["DBInstanceIdentifier"].lower()
        instance = self._source_instance(ctx, ident)
        if instance["aws"]["DBInstanceStatus"] != InstanceStatus.AVAILABLE:
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"Cannot create a snapshot because the database instance {ident} is not "
                "currently in the available state.",
            )
        doc = self._new_snapshot(ctx, params["DBSnapshotIdentifier"], instance, params)

        def backing_up(d: Doc) -> None:
            move_instance(d, InstanceStatus.BACKING_UP)

        self.store.update(_INSTANCE, ctx.account_id, ctx.region, ident, backing_up)
        self.kick()
        return {"DBSnapshot": describe_snapshot(doc)}

    def describe_db_snapshots(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("DBSnapshotIdentifier")
        if wanted:
            return {"DBSnapshots": [describe_snapshot(self._snapshot(ctx, wanted))]}
        tests = _filter_tests(params)
        docs = self.store.list(SNAPSHOT, ctx.account_id, ctx.region)
        if params.get("IncludeShared") or params.get("SnapshotType") == "shared":
            docs += self._shared_with(ctx)
        shapes = [describe_snapshot(d) for d in docs]
        return page(
            "rds", "DescribeDBSnapshots", [s for s in shapes if all(t(s) for t in tests)], params
        )

    def _shared_with(self, ctx: RequestContext) -> list[Doc]:
        """Other accounts' snapshots shared with the caller, as the caller sees them: by
        ARN, of type shared."""
        out = []
        for doc in self.store.list(SNAPSHOT, None, ctx.region):
            accounts = set(doc.get("restore_accounts", []))
            if snapshot_key(doc)[0] == ctx.account_id or doc["desired"] != "present":
                continue
            if accounts & {ctx.account_id, "all"}:
                aws = {**doc["aws"], "SnapshotType": "shared"}
                aws["DBSnapshotIdentifier"] = aws["DBSnapshotArn"]
                out.append({**doc, "aws": aws})
        return out

    def copy_db_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """A copy in the caller's account: of its own snapshot (by identifier or ARN), or of
        one another account shared with it (by ARN)."""
        source = self.available_snapshot(ctx, params["SourceDBSnapshotIdentifier"])
        sid = params["TargetDBSnapshotIdentifier"]
        problem = rules.snapshot_identifier_problem(sid)
        if problem:
            raise CommonError("InvalidParameterValue", problem)
        sid = sid.lower()
        aws = {
            **source["aws"],
            "DBSnapshotIdentifier": sid,
            "DBSnapshotArn": f"arn:aws:rds:{ctx.region}:{ctx.account_id}:snapshot:{sid}",
            "Status": SnapshotStatus.CREATING,
            "PercentProgress": 0,
            "SnapshotType": "manual",
            "SourceDBSnapshotIdentifier": source["aws"]["DBSnapshotArn"],
            "TagList": (source["aws"].get("TagList", []) if params.get("CopyTags") else [])
            + list(params.get("Tags") or []),
        }
        aws.pop("SnapshotCreateTime", None)
        doc = {
            **source,
            "aws": aws,
            "desired": "present",
            "copy_of": snapshot_key(source),  # perhaps another account's, shared
        }
        doc.pop("attempts", None)
        doc.pop("restore_accounts", None)  # a copy is not shared
        if not self.store.insert(SNAPSHOT, ctx.account_id, ctx.region, sid, doc):
            raise ServiceError(
                "DBSnapshotAlreadyExistsFault", f"Cannot copy the snapshot because a snapshot "
                f"with the identifier {sid} already exists."
            )  # fmt: skip
        self.kick()
        return {"DBSnapshot": describe_snapshot(doc)}

    def delete_db_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._snapshot(ctx, params["DBSnapshotIdentifier"])
        sid = doc["aws"]["DBSnapshotIdentifier"]
        if doc["aws"]["Status"] not in (SnapshotStatus.AVAILABLE, SnapshotStatus.FAILED):
            raise ServiceError(
                "InvalidDBSnapshotStateFault",
                f"Cannot delete the snapshot because it is in the {doc['aws']['Status']} state.",
            )
        if self._restores_from(ctx, sid) or self._copies_from(ctx, sid):
            raise ServiceError(
                "InvalidDBSnapshotStateFault",
                f"Cannot delete the snapshot {sid}: it is being restored or copied from.",
            )

        def mark(d: Doc) -> None:
            d["desired"] = "absent"

        self.store.update(SNAPSHOT, ctx.account_id, ctx.region, sid, mark)
        self.kick()
        shown = describe_snapshot(doc)
        shown["Status"] = SnapshotStatus.DELETED
        return {"DBSnapshot": shown}

    # -- used by DeleteDBInstance and RestoreDBInstanceFromDBSnapshot -----------------------
    def final_snapshot(self, ctx: RequestContext, instance: Doc, params: dict[str, Any]) -> Doc:
        """Record the snapshot DeleteDBInstance takes before the instance goes."""
        return self._new_snapshot(ctx, params["FinalDBSnapshotIdentifier"], instance, {})

    def modify_db_snapshot_attribute(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Share a snapshot: the accounts (or "all") that may restore it."""
        if params["AttributeName"] != "restore":
            raise CommonError(
                "InvalidParameterValue",
                f"Invalid snapshot attribute: {params['AttributeName']}; only restore is.",
            )
        doc = self._snapshot(ctx, params["DBSnapshotIdentifier"])
        if doc["aws"]["Status"] != SnapshotStatus.AVAILABLE:
            raise ServiceError(
                "InvalidDBSnapshotStateFault", "Only an available snapshot can be shared."
            )
        for value in params.get("ValuesToAdd") or []:
            if value != "all" and not _ACCOUNT.match(value):
                raise CommonError("InvalidParameterValue", f"Invalid account id: {value}")
        accounts = set(doc.get("restore_accounts", [])) | set(params.get("ValuesToAdd") or [])
        accounts -= set(params.get("ValuesToRemove") or [])
        if len(accounts - {"all"}) > _SHARE_LIMIT:
            raise ServiceError(
                "SharedSnapshotQuotaExceededFault",
                f"A snapshot can be shared with at most {_SHARE_LIMIT} accounts.",
            )
        sid = doc["aws"]["DBSnapshotIdentifier"]
        self.store.update(
            SNAPSHOT, ctx.account_id, ctx.region, sid,
            lambda d: d.__setitem__("restore_accounts", sorted(accounts)),
        )  # fmt: skip
        return {"DBSnapshotAttributesResult": _attributes(sid, sorted(accounts))}

    def describe_db_snapshot_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._snapshot(ctx, params["DBSnapshotIdentifier"])
        sid = doc["aws"]["DBSnapshotIdentifier"]
        return {"DBSnapshotAttributesResult": _attributes(sid, doc.get("restore_accounts", []))}

    def available_snapshot(self, ctx: RequestContext, sid: str) -> Doc:
        """The snapshot ``sid`` to restore: the caller's own, or by its ARN one another
        account shared with the caller."""
        doc = self._by_arn(ctx, sid) if sid.startswith("arn:") else self._snapshot(ctx, sid)
        if doc["aws"]["Status"] != SnapshotStatus.AVAILABLE:
            raise ServiceError(
                "InvalidDBSnapshotStateFault",
                f"Snapshot {doc['aws']['DBSnapshotIdentifier']} is not in available state.",
            )
        return doc

    # -- helpers ----------------------------------------------------------------------------
    def _new_snapshot(
        self, ctx: RequestContext, sid: str, instance: Doc, params: dict[str, Any]
    ) -> Doc:
        problem = rules.snapshot_identifier_problem(sid)
        if problem:
            raise CommonError("InvalidParameterValue", problem)
        sid = sid.lower()
        source = instance["aws"]
        aws = {
            "DBSnapshotIdentifier": sid,
            "DBInstanceIdentifier": source["DBInstanceIdentifier"],
            "Engine": source["Engine"],
            "EngineVersion": source["EngineVersion"],
            "AllocatedStorage": source["AllocatedStorage"],
            "Status": SnapshotStatus.CREATING,
            "Port": source["Endpoint"]["Port"],
            "AvailabilityZone": source["AvailabilityZone"],
            "VpcId": source["DBSubnetGroup"]["VpcId"],
            "InstanceCreateTime": source.get("InstanceCreateTime"),
            "MasterUsername": source["MasterUsername"],
            "LicenseModel": source["LicenseModel"],
            "SnapshotType": "manual",
            "PercentProgress": 0,
            "StorageType": source["StorageType"],
            "Encrypted": source["StorageEncrypted"],
            "DBSnapshotArn": f"arn:aws:rds:{ctx.region}:{ctx.account_id}:snapshot:{sid}",
            "IAMDatabaseAuthenticationEnabled": source["IAMDatabaseAuthenticationEnabled"],
            "ProcessorFeatures": [],
            "DbiResourceId": source["DbiResourceId"],
            "TagList": params.get("Tags", []),
            "SnapshotTarget": "region",
        }
        doc = {
            "aws": aws,
            "desired": "present",
            "source": [ctx.account_id, ctx.region, source["DBInstanceIdentifier"]],
            "instance_class": source["DBInstanceClass"],
            "db_name": source.get("DBName"),
        }
        if not self.store.insert(SNAPSHOT, ctx.account_id, ctx.region, sid, doc):
            raise ServiceError(
                "DBSnapshotAlreadyExistsFault", f"Cannot create the snapshot because a snapshot "
                f"with the identifier {sid} already exists."
            )  # fmt: skip
        log.info("db snapshot %s of %s requested", sid, source["DBInstanceIdentifier"])
        return doc

    def _by_arn(self, ctx: RequestContext, arn: str) -> Doc:
        """The caller's snapshot, or another account's that is shared with the caller."""
        match = _ARN.match(arn)
        if match is None or match["region"] != ctx.region:
            raise ServiceError("DBSnapshotNotFoundFault", f"DBSnapshot {arn} not found.")
        if match["account"] == ctx.account_id:
            return self._snapshot(ctx, match["name"])
        doc = self.store.get(SNAPSHOT, match["account"], ctx.region, match["name"].lower())
        shared = (
            doc is not None
            and doc["desired"] == "present"
            and ({ctx.account_id, "all"} & set(doc.get("restore_accounts", [])))
        )
        if not shared or doc is None:
            raise ServiceError("DBSnapshotNotFoundFault", f"DBSnapshot {arn} not found.")
        return doc

    def _snapshot(self, ctx: RequestContext, sid: str) -> Doc:
        doc = self.store.get(SNAPSHOT, ctx.account_id, ctx.region, sid.lower())
        if doc is None or doc["desired"] == "absent":
            raise ServiceError("DBSnapshotNotFoundFault", f"DBSnapshot {sid} not found.")
        return doc

    def _source_instance(self, ctx: RequestContext, ident: str) -> Doc:
        doc = self.store.get(_INSTANCE, ctx.account_id, ctx.region, ident)
        if doc is None:
            raise ServiceError("DBInstanceNotFoundFault", f"DBInstance {ident} not found.")
        return doc

    def _copies_from(self, ctx: RequestContext, sid: str) -> bool:
        key = [ctx.account_id, ctx.region, sid]
        return any(
            d.get("copy_of") == key and d["aws"]["Status"] == SnapshotStatus.CREATING
            for d in self.store.list(SNAPSHOT, ctx.account_id, ctx.region)
        )

    def _restores_from(self, ctx: RequestContext, sid: str) -> bool:
        key = [ctx.account_id, ctx.region, sid]
        return any(  # in any account: the snapshot may be shared
            d.get("restore_from") == key and d["aws"]["DBInstanceStatus"] == InstanceStatus.CREATING
            for d in self.store.list(_INSTANCE, None, ctx.region)
        )


def snapshot_key(doc: Doc) -> list[str]:
    """The store key of a snapshot, from its ARN (it may be another account's)."""
    match = _ARN.match(doc["aws"]["DBSnapshotArn"])
    assert match is not None
    return [match["account"], match["region"], match["name"]]


def _attributes(sid: str, accounts: list[str]) -> dict[str, Any]:
    return {
        "DBSnapshotIdentifier": sid,
        "DBSnapshotAttributes": [{"AttributeName": "restore", "AttributeValues": accounts}],
    }


def _filter_tests(params: dict[str, Any]) -> list[Callable[[Doc], bool]]:
    tests = filter_tests(params.get("Filters"), _FILTERS)
    if params.get("DBInstanceIdentifier"):
        ident = params["DBInstanceIdentifier"].lower()
        tests.append(lambda aws: aws["DBInstanceIdentifier"] == ident)
    if params.get("SnapshotType"):
        kind = params["SnapshotType"]
        tests.append(lambda aws: aws["SnapshotType"] == kind)
    return tests


def describe_snapshot(doc: Doc) -> dict[str, Any]:
    """The DBSnapshot shape of ``doc``."""
    aws = dict(doc["aws"])
    for stamp in ("SnapshotCreateTime", "InstanceCreateTime", "OriginalSnapshotCreateTime"):
        if aws.get(stamp):
            aws[stamp] = datetime.fromisoformat(aws[stamp]).astimezone(UTC)
    return {k: v for k, v in aws.items() if v is not None}
