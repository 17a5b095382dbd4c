"""Read replicas (CreateDBInstanceReadReplica, PromoteReadReplica), mixed into
``RdsService``; the db-instance reconciler makes them real (engines/postgres/replica.py).

A replica is a new instance whose record says ``replica_of`` its source: the source's
class, storage, parameter group and domain unless the request says otherwise, its subnet
group (or another one, in another VPC, whose routes the user makes), no master password
of its own (its roles are the source's) and no automated backups. The source lists it in
ReadReplicaDBInstanceIdentifiers and lets it stream. Promoting it ends the link for good;
deleting a source promotes its replicas, as RDS does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgrealm.model.membership import KERBEROS_ON
from pgrealm.model.rds import InstanceStatus, move_instance
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.services.rds import rules
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["MAX_CHAIN", "MAX_REPLICAS", "ReplicasMixin", "detach_replica", "leave_source"]

_INSTANCE = Kind.DB_INSTANCE
MAX_REPLICAS = 15  # read replicas of one RDS for PostgreSQL source
MAX_CHAIN = 3  # replicas in a cascading chain below a source
_NO_BACKUPS = (
    "Automated backups are not enabled for this database instance. To enable automated "
    "backups, use ModifyDBInstance to set the backup retention period to a non-zero value."
)
# What the replica takes from its source unless the request names its own.
_INHERITED = ("DBInstanceClass", "AllocatedStorage", "StorageType", "MasterUsername")


class ReplicasMixin:
    store: Store
    kick: Any

    if TYPE_CHECKING:  # RdsService's, which this is mixed into

        def _instance(self, ctx: RequestContext, ident: str) -> Doc: ...
        def _placed_instance(
            self, ctx: RequestContext, identifier: str, params: dict[str, Any]
        ) -> Doc: ...
        def _insert_instance(self, ctx: RequestContext, doc: Doc) -> Doc: ...
        def _described(self, doc: Doc) -> dict[str, Any]: ...

    def create_db_instance_read_replica(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        identifier = params["DBInstanceIdentifier"].lower()
        if params.get("MultiAZ"):
            raise CommonError(
                "InvalidParameterCombination",
                "pgrealm does not offer Multi-AZ read replicas: create the replica "
                "without --multi-az.",
            )
        problem = rules.identifier_problem(params["DBInstanceIdentifier"])
        if problem:
            raise CommonError("InvalidParameterValue", problem)
        source = self._replica_source(ctx, _source_identifier(params))
        merged = {**params, "BackupRetentionPeriod": 0}
        aws = source["aws"]
        for key in _INHERITED:
            merged.setdefault(key, aws.get(key))
        merged.setdefault("DBParameterGroupName", source.get("parameter_group"))
        group = aws["DBSubnetGroup"]["DBSubnetGroupName"]
        if group != "default":  # the default group is made afresh for each instance
            merged.setdefault("DBSubnetGroupName", group)
        members = [m for m in aws.get("DomainMemberships") or [] if m["Status"] in KERBEROS_ON]
        if members and not params.get("Domain"):  # it joins its source's domain
            merged.update(Domain=members[0]["Domain"], DomainIAMRoleName=members[0]["IAMRoleName"])
        doc = self._placed_instance(ctx, identifier, merged)
        doc.pop("sealed_master_password", None)
        doc["roles_bootstrapped"] = True  # its roles are its source's
        doc["replica_of"] = [ctx.account_id, ctx.region, aws["DBInstanceIdentifier"]]
        doc["aws"]["ReadReplicaSourceDBInstanceIdentifier"] = aws["DBInstanceIdentifier"]
        placed = self._insert_instance(ctx, doc)

        def attach(d: Doc) -> None:
            listed = d["aws"].setdefault("ReadReplicaDBInstanceIdentifiers", [])
            listed.append(identifier)
            d["parameters_due"] = True  # its pg_hba lets the replica in

        self.store.update(
            _INSTANCE, ctx.account_id, ctx.region, aws["DBInstanceIdentifier"], attach
        )
        return {"DBInstance": self._described(placed)}

    def promote_read_replica(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["DBInstanceIdentifier"].lower()
        doc = self._instance(ctx, ident)
        if not doc.get("replica_of"):
            raise ServiceError(
                "InvalidDBInstanceStateFault", f"DB instance {ident} is not a read replica."
            )
        if doc["aws"]["DBInstanceStatus"] != InstanceStatus.AVAILABLE:
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"Database instance is not in available state: {ident}",
            )
        retention = params.get("BackupRetentionPeriod", 1)
        problem = rules.retention_problem(retention)
        if problem:
            raise CommonError("InvalidParameterValue", problem)
        updated = detach_replica(self.store, doc, retention)
        self.kick()
        return {"DBInstance": self._described(updated)}

    def _replica_source(self, ctx: RequestContext, given: str) -> Doc:
        """The source a new replica may stream from: available, with automated backups,
        not already at the end of a full chain or at its count of replicas."""
        ident = given.rsplit(":", 1)[-1].lower()  # an identifier, or the source's ARN
        source = self._instance(ctx, ident)
        aws = source["aws"]
        if aws["DBInstanceStatus"] != InstanceStatus.AVAILABLE:
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"DB instance {ident} is not in available state: it is {aws['DBInstanceStatus']}.",
            )
        if not aws.get("BackupRetentionPeriod"):
            raise ServiceError("InvalidDBInstanceStateFault", _NO_BACKUPS)
        if chain_depth(self.store, source) >= MAX_CHAIN:
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"DB instance {ident} is already the {MAX_CHAIN}rd read replica of its chain: "
                f"a chain holds at most {MAX_CHAIN} read replicas below its source.",
            )
        if len(aws.get("ReadReplicaDBInstanceIdentifiers") or []) >= MAX_REPLICAS:
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"DB instance {ident} already has {MAX_REPLICAS} read replicas, the most a "
                "source can have.",
            )
        return source


def chain_depth(store: Store, doc: Doc) -> int:
    """How many replicas deep ``doc`` is: 0 for an instance that is no replica."""
    depth = 0
    while doc.get("replica_of") and depth <= MAX_CHAIN:
        source = store.get(_INSTANCE, *doc["replica_of"])
        if source is None:
            break
        depth, doc = depth + 1, source
    return depth


def detach_replica(store: Store, replica: Doc, retention: int = 0) -> Doc:
    """``replica`` becomes a standalone instance (the reconciler promotes its server), and
    its source stops listing it and letting it in."""
    account, region, _ = replica["replica_of"]
    ident = replica["aws"]["DBInstanceIdentifier"]

    def promote(d: Doc) -> None:
        d.pop("replica_of", None)
        d["aws"].pop("ReadReplicaSourceDBInstanceIdentifier", None)
        d["aws"].pop("StatusInfos", None)
        d["aws"]["BackupRetentionPeriod"] = retention
        d["promote_requested"] = True
        move_instance(d, InstanceStatus.MODIFYING)

    updated = store.update(_INSTANCE, account, region, ident, promote)
    leave_source(store, replica)
    return updated or replica


def leave_source(store: Store, replica: Doc) -> None:
    """``replica``'s source stops listing it and, at its next reload, letting it in."""
    account, region, source_id = replica["replica_of"]
    ident = replica["aws"]["DBInstanceIdentifier"]

    def drop(d: Doc) -> None:
        listed = d["aws"].get("ReadReplicaDBInstanceIdentifiers") or []
        d["aws"]["ReadReplicaDBInstanceIdentifiers"] = [r for r in listed if r != ident]
        d["parameters_due"] = True

    store.update(_INSTANCE, account, region, source_id, drop)


def _source_identifier(params: dict[str, Any]) -> str:
    """The source instance: the model makes it optional, beside a Multi-AZ DB cluster's
    SourceDBClusterIdentifier, which pgrealm does not offer."""
    if params.get("SourceDBClusterIdentifier"):
        raise CommonError(
            "InvalidParameterCombination",
            "pgrealm does not offer Multi-AZ DB clusters: give SourceDBInstanceIdentifier, "
            "the DB instance to replicate.",
        )
    if not params.get("SourceDBInstanceIdentifier"):
        raise CommonError(
            "InvalidParameterCombination",
            "SourceDBInstanceIdentifier is required: the DB instance to replicate.",
        )
    return str(params["SourceDBInstanceIdentifier"])
