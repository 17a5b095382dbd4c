"""Point-in-time restore as the API sees it: the restore window of an instance's automated
backups (DescribeDBInstanceAutomatedBackups) and the checks of RestoreTime. The backups
themselves are the db-instance reconciler's (``reconcile/db_backups.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.services.rds.filters import one
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["BACKUP_FILTERS", "RETAINED", "automated_backup_shape", "restore_time", "retained_shape"]

# Automated backups kept after their instance was deleted (DeleteAutomatedBackups=false),
# keyed by the instance's DbiResourceId.
RETAINED = Kind.DB_RETAINED_BACKUP

BACKUP_FILTERS = {
    "db-instance-id": lambda shape: [shape["DBInstanceIdentifier"], shape["DBInstanceArn"]],
    "dbi-resource-id": one("DbiResourceId"),
    "status": one("Status"),
}


def automated_backup_shape(doc: Doc) -> dict[str, Any] | None:
    """The DBInstanceAutomatedBackup shape of an instance, if it has automated backups."""
    aws = doc["aws"]
    if not doc.get("restorable_since") or not aws.get("BackupRetentionPeriod"):
        return None
    region, account = aws["DBInstanceArn"].split(":")[3:5]
    resource = aws["DbiResourceId"]
    window = {"EarliestTime": datetime.fromisoformat(doc["restorable_since"])}
    if aws.get("LatestRestorableTime"):
        window["LatestTime"] = datetime.fromisoformat(aws["LatestRestorableTime"])
    shape = {
        "DBInstanceArn": aws["DBInstanceArn"],
        "DbiResourceId": resource,
        "Region": region,
        "DBInstanceIdentifier": aws["DBInstanceIdentifier"],
        "RestoreWindow": window,
        "Status": "active",
        "DBInstanceAutomatedBackupsArn": f"arn:aws:rds:{region}:{account}:auto-backup:{resource}",
        "BackupTarget": "region",
        "VpcId": aws["DBSubnetGroup"]["VpcId"],
        "Port": aws["Endpoint"]["Port"],
        "Encrypted": aws["StorageEncrypted"],
    }
    for key in (
        "AllocatedStorage", "AvailabilityZone", "InstanceCreateTime", "MasterUsername",
        "Engine", "EngineVersion", "LicenseModel", "StorageType", "BackupRetentionPeriod",
        "IAMDatabaseAuthenticationEnabled", "PreferredBackupWindow",
    ):  # fmt: skip
        if aws.get(key) is not None:
            shape[key] = aws[key]
    if "InstanceCreateTime" in shape:
        shape["InstanceCreateTime"] = datetime.fromisoformat(shape["InstanceCreateTime"])
    return shape


def restore_time(params: dict[str, Any], source: Doc) -> datetime:
    """The moment asked for, checked against the source's restorable window."""
    latest = bool(params.get("UseLatestRestorableTime"))
    asked = params.get("RestoreTime")
    if latest and asked is not None:
        raise CommonError(
            "InvalidParameterCombination",
            "Cannot specify both RestoreTime and UseLatestRestorableTime.",
        )
    now = datetime.now(UTC)
    if not latest and asked is None:
        raise CommonError(
            "InvalidParameterCombination",
            "Either RestoreTime or UseLatestRestorableTime must be specified.",
        )
    # A retained backup ends where its instance was deleted; a live one reaches now.
    until = source.get("restorable_until")
    end = datetime.fromisoformat(until) if until else now
    if latest:
        return end
    when = asked if isinstance(asked, datetime) else datetime.fromisoformat(str(asked))
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    earliest = datetime.fromisoformat(source["restorable_since"])
    if not earliest <= when <= end:
        raise ServiceError(
            "InvalidRestoreFault",
            f"The restore time {when.isoformat()} is outside the restorable window of "
            f"{source['aws']['DBInstanceIdentifier']}, from {earliest.isoformat()} to "
            f"{end.isoformat() if until else 'now'}.",
        )
    return when


def retained_shape(doc: Doc) -> dict[str, Any]:
    """The DBInstanceAutomatedBackup shape of a retained backup (its times as datetimes)."""
    if "shape" in doc:  # recorded by pgrealm before the reconciler kept the instance itself
        shape = dict(doc["shape"])
    else:
        built = automated_backup_shape(doc["instance"])
        assert built is not None  # the instance had backups: restorable_since is set
        shape = {**built, "Status": "retained"}
        shape["RestoreWindow"] = {
            "EarliestTime": doc["instance"]["restorable_since"],
            "LatestTime": doc["retained_until"],
        }
    shape["RestoreWindow"] = {
        k: datetime.fromisoformat(v) for k, v in shape["RestoreWindow"].items()
    }
    if isinstance(shape.get("InstanceCreateTime"), str):
        shape["InstanceCreateTime"] = datetime.fromisoformat(shape["InstanceCreateTime"])
    return shape
