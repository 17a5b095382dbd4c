"""RDS: PostgreSQL DB instances, optionally joined to a directory.

Beside this module, each a mixin of ``RdsService``: subnet_groups.py, snapshots.py
(DB snapshots, their sharing), parameter_groups.py, tags.py; point_in_time.py holds the
checks of a point-in-time restore and the restore window.

The API records the desired instance (``DBInstanceStatus: creating``) and the
db-instance reconciler makes it real. Status transitions allowed:

    creating -> available | failed;  available -> modifying | rebooting -> available
    available -> backing-up -> available   (a DB snapshot, see snapshots.py)
    any -> deleting -> (gone)              (after the final snapshot, if one was asked for)
Domain memberships follow RDS's Kerberos statuses: see pgrealm/model/membership.py.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from pgrealm.config import Settings
from pgrealm.gateways.parameters import PostgresCatalog, SettingsCatalog
from pgrealm.model.directory import limited_type
from pgrealm.model.membership import KERBEROS_ON, MembershipStatus, applied_status, check_move
from pgrealm.model.rds import InstanceStatus, move_instance
from pgrealm.sealing import Sealer
from pgrealm.services.base import Revisioned, Service, new_id
from pgrealm.services.context import RequestContext
from pgrealm.services.ds.service import DsService
from pgrealm.services.ec2.service import Ec2Service
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.services.iam.service import IamService
from pgrealm.services.pagination import page
from pgrealm.services.rds import rules
from pgrealm.services.rds.catalog import ENGINE_VERSION, CatalogMixin, ca_certificate
from pgrealm.services.rds.events import EventsMixin
from pgrealm.services.rds.filters import filter_tests, one
from pgrealm.services.rds.logs import LogsMixin, changed_exports, log_exports
from pgrealm.services.rds.multi_az import MultiAzMixin, add_standby, drop_standby
from pgrealm.services.rds.option_groups import DEFAULT_OPTION_GROUP, OptionGroupsMixin
from pgrealm.services.rds.parameter_groups import (
    DEFAULT_GROUP,
    ParameterGroupsMixin,
)
from pgrealm.services.rds.parameter_groups import (
    applying as _applying,
)
from pgrealm.services.rds.point_in_time import (
    BACKUP_FILTERS,
    RETAINED,
    automated_backup_shape,
    restore_time,
    retained_shape,
)
from pgrealm.services.rds.replicas import ReplicasMixin, detach_replica, leave_source
from pgrealm.services.rds.snapshots import SnapshotsMixin, snapshot_key
from pgrealm.services.rds.subnet_groups import SUBNET_GROUP, SubnetGroupsMixin
from pgrealm.services.rds.tags import TagsMixin
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["INSTANCE", "RdsService", "SUBNET_GROUP"]

log = logging.getLogger(__name__)

INSTANCE = Kind.DB_INSTANCE


# DescribeDBInstances' filters; db-instance-id takes an identifier or an ARN.
_INSTANCE_FILTERS = {
    "db-cluster-id": one("DBClusterIdentifier"),
    "db-instance-id": lambda aws: [aws["DBInstanceIdentifier"], aws["DBInstanceArn"]],
    "dbi-resource-id": one("DbiResourceId"),
    "domain": lambda aws: [m["Domain"] for m in aws.get("DomainMemberships") or []],
    "engine": one("Engine"),
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _invalid(message: str) -> CommonError:
    return CommonError("InvalidParameterValue", message)


class RdsService(
    SubnetGroupsMixin,
    SnapshotsMixin,
    ParameterGroupsMixin,
    TagsMixin,
    CatalogMixin,
    EventsMixin,
    OptionGroupsMixin,
    LogsMixin,
    ReplicasMixin,
    MultiAzMixin,
    Service,
):
    service_name = "rds"

    def __init__(
        self,
        store: Store,
        registry: dict[str, Service],
        settings: Settings,
        sealer: Sealer,
        kick: Any = None,
        catalog: SettingsCatalog | None = None,
        engine_version: str = ENGINE_VERSION,
    ) -> None:
        super().__init__(store, registry)
        self.settings = settings
        self.sealer = sealer
        self.kick = kick or (lambda: None)
        self.catalog = catalog or PostgresCatalog()
        self.engine_version = engine_version  # the server wires in the installed one

    # -- DB instances -------------------------------------------------------------------------
    def create_db_instance(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        identifier = params["DBInstanceIdentifier"].lower()
        self._check_create(params)
        doc = self._placed_instance(ctx, identifier, params)
        return {"DBInstance": _describe(self._insert_instance(ctx, doc))}

    def restore_db_instance_from_db_snapshot(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """A new instance whose cluster is the snapshot's: its data, roles and master user."""
        identifier = params["DBInstanceIdentifier"].lower()
        problem = rules.identifier_problem(params["DBInstanceIdentifier"])
        if problem:
            raise _invalid(problem)
        if not params.get("DBSnapshotIdentifier"):
            raise _invalid("DBSnapshotIdentifier is required to restore from a DB snapshot.")
        snapshot = self.available_snapshot(ctx, params["DBSnapshotIdentifier"])
        source = snapshot["aws"]
        origin = {
            "DBInstanceClass": snapshot["instance_class"],
            "MasterUsername": source["MasterUsername"],
            "AllocatedStorage": source["AllocatedStorage"],
            "StorageType": source["StorageType"],
            "StorageEncrypted": source["Encrypted"],
            "DBName": snapshot.get("db_name"),
        }
        doc = self._restored_instance(ctx, identifier, params, origin)
        doc["restore_from"] = snapshot_key(snapshot)  # perhaps another account's, shared
        return {"DBInstance": _describe(self._insert_instance(ctx, doc))}

    def restore_db_instance_to_point_in_time(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """A new instance replaying the source's automated backups to a moment: the source's
        base backup, then its archived WAL up to RestoreTime (or up to the request)."""
        identifier = params["TargetDBInstanceIdentifier"].lower()
        problem = rules.identifier_problem(params["TargetDBInstanceIdentifier"])
        if problem:
            raise _invalid(problem.replace("DBInstanceIdentifier", "TargetDBInstanceIdentifier"))
        source = self._point_in_time_source(ctx, params)
        when = restore_time(params, source)
        aws = source["aws"]
        doc = self._restored_instance(ctx, identifier, params, aws)
        origin_key = (
            {"retained": [ctx.account_id, ctx.region, aws["DbiResourceId"]]}
            if source.get("restorable_until")
            else {"source": [ctx.account_id, ctx.region, aws["DBInstanceIdentifier"]]}
        )
        # The latest: everything archived, no target (a target needs a commit after it).
        latest = bool(params.get("UseLatestRestorableTime"))
        doc["restore_point"] = {**origin_key, "time": None if latest else when.isoformat()}
        return {"DBInstance": _describe(self._insert_instance(ctx, doc))}

    def describe_db_instance_automated_backups(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The restore window of each instance with automated backups."""
        tests = filter_tests(params.get("Filters"), BACKUP_FILTERS)
        wanted = {
            "DBInstanceIdentifier": (params.get("DBInstanceIdentifier") or "").lower(),
            "DbiResourceId": params.get("DbiResourceId"),
            "DBInstanceAutomatedBackupsArn": params.get("DBInstanceAutomatedBackupsArn"),
        }
        live = [
            automated_backup_shape(d) for d in self._instances(ctx) if d["desired"] == "present"
        ]
        kept = [
            retained_shape(d)
            for d in self.store.list(RETAINED, ctx.account_id, ctx.region)
            if d["desired"] == "present"
        ]
        shapes = [
            shape
            for shape in [*live, *kept]
            if shape is not None
            and all(shape[k] == v for k, v in wanted.items() if v)
            and all(test(shape) for test in tests)
        ]
        if not shapes and any(wanted.values()):
            raise ServiceError(
                "DBInstanceAutomatedBackupNotFoundFault", "No automated backup found."
            )
        return page("rds", "DescribeDBInstanceAutomatedBackups", shapes, params)

    def delete_db_instance_automated_backup(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Delete the backups kept after their instance was deleted."""
        resource = (
            params.get("DbiResourceId")
            or str(params.get("DBInstanceAutomatedBackupsArn", "")).rsplit(":", 1)[-1]
        )
        doc = self.store.get(RETAINED, ctx.account_id, ctx.region, resource)
        if doc is None:
            raise ServiceError(
                "DBInstanceAutomatedBackupNotFoundFault",
                f"No automated backup found for {resource}.",
            )
        key = [ctx.account_id, ctx.region, resource]
        if any(
            (d.get("restore_point") or {}).get("retained") == key and not d.get("recovered")
            for d in self._instances(ctx)
        ):
            raise ServiceError(
                "InvalidDBInstanceAutomatedBackupStateFault",
                "A DB instance is being restored from this automated backup.",
            )
        shape = retained_shape(doc)
        shape["Status"] = "deleting"
        self.store.update(RETAINED, ctx.account_id, ctx.region, resource, _marked_deleted)
        self.kick()
        return {"DBInstanceAutomatedBackup": shape}

    def _point_in_time_source(self, ctx: RequestContext, params: dict[str, Any]) -> Doc:
        if params.get("SourceDBInstanceIdentifier"):
            source = self._instance(ctx, params["SourceDBInstanceIdentifier"])
        elif params.get("SourceDbiResourceId"):
            found = [  # a live instance's; a deleted one's only if retained
                d
                for d in self._instances(ctx)
                if d["aws"]["DbiResourceId"] == params["SourceDbiResourceId"]
                and d["desired"] == "present"
            ]
            retained = self.store.get(
                RETAINED, ctx.account_id, ctx.region, params["SourceDbiResourceId"]
            )
            if retained is not None and retained["desired"] != "present":
                retained = None
            if not found and retained is None:
                raise ServiceError(
                    "DBInstanceAutomatedBackupNotFoundFault",
                    f"No automated backup found for {params['SourceDbiResourceId']}.",
                )
            source = found[0] if found else retained["source"]  # type: ignore[index]
        else:
            raise _invalid("SourceDBInstanceIdentifier or SourceDbiResourceId is required.")
        if not source.get("restorable_since"):
            ident = source["aws"]["DBInstanceIdentifier"]
            why = (
                "they start when it is rebooted"
                if source.get("archiving") == "pending-reboot"
                else "it has no automated backup yet"
            )
            raise ServiceError(
                "PointInTimeRestoreNotEnabledFault",
                f"Point-in-time restore is not available for DB instance {ident}: {why}.",
            )
        return source

    def _restored_instance(
        self, ctx: RequestContext, identifier: str, params: dict[str, Any], origin: Doc
    ) -> Doc:
        """The document of an instance made from ``origin``'s data (a snapshot, or an
        instance's automated backups): what the caller does not choose it inherits, and its
        master user, password and roles are the origin's."""
        if params.get("Port") not in (None, 5432):
            raise _invalid("pgrealm instances listen on port 5432 on their own address.")
        merged = {**params}
        for key in ("MasterUsername", "StorageEncrypted", "DBName"):
            merged[key] = origin.get(key)
        for key in ("DBInstanceClass", "AllocatedStorage", "StorageType", "BackupRetentionPeriod"):
            if params.get(key) is None and origin.get(key) is not None:
                merged[key] = origin[key]
        doc = self._placed_instance(ctx, identifier, merged)
        doc["roles_bootstrapped"] = True  # and no master password to set
        return doc

    def _placed_instance(self, ctx: RequestContext, identifier: str, params: dict[str, Any]) -> Doc:
        """The new instance's document: in its subnet group, joined to its domain if asked."""
        problem = rules.retention_problem(params.get("BackupRetentionPeriod", 1))
        if problem:
            raise _invalid(problem)
        self.parameter_group(ctx, params.get("DBParameterGroupName") or DEFAULT_GROUP)
        group = (
            self._subnet_group(ctx, params["DBSubnetGroupName"])
            if params.get("DBSubnetGroupName")
            else self._default_subnet_group(ctx)
        )
        membership = self._domain_membership(ctx, params)
        subnet = self._pick_subnet(group, params.get("AvailabilityZone"))
        groups = self._vpc_security_groups(ctx, params.get("VpcSecurityGroupIds"), group["VpcId"])
        params = {**params, "VpcSecurityGroupIds": groups}
        doc = self._new_instance(ctx, identifier, params, group, subnet, membership)
        self._with_standby(doc, params)
        return doc

    def _vpc_security_groups(
        self, ctx: RequestContext, ids: list[str] | None, vpc_id: str
    ) -> list[str]:
        """The instance's groups: those asked for, which must be in its VPC, else the VPC's
        default group, as RDS does."""
        network = self.sibling("ec2", Ec2Service).network
        if not ids:
            return [network.default_group_id(ctx.account_id, ctx.region, vpc_id)]
        try:
            found = network.get_security_groups(ctx.account_id, ctx.region, list(ids))
        except ServiceError as exc:
            raise _invalid(f"Invalid security group: {exc.message}") from exc
        for found_group in found:
            if found_group["VpcId"] != vpc_id:
                raise CommonError(
                    "InvalidParameterCombination",
                    "The DB instance and EC2 security group are in different VPCs.",
                )
        return list(dict.fromkeys(ids))

    def _insert_instance(self, ctx: RequestContext, doc: Doc) -> Doc:
        """Store the new instance, then give it its address; the reconciler does the rest."""
        identifier = doc["aws"]["DBInstanceIdentifier"]
        if not self.store.insert(INSTANCE, ctx.account_id, ctx.region, identifier, doc):
            raise ServiceError("DBInstanceAlreadyExistsFault", "DB instance already exists")
        try:
            vpc_ip, address = self._allocate(ctx, doc, doc["subnet_id"])
        except ServiceError:
            self.store.delete(INSTANCE, ctx.account_id, ctx.region, identifier)  # nothing half-made
            raise
        self.store.update(
            INSTANCE,
            ctx.account_id,
            ctx.region,
            identifier,
            lambda d: d.update(address=address, vpc_ip=vpc_ip),
        )
        doc.update(address=address, vpc_ip=vpc_ip)
        try:
            self._place_standby(ctx, doc)
        except ServiceError:
            self.store.delete(INSTANCE, ctx.account_id, ctx.region, identifier)
            self._release(ctx, address)
            raise
        log.info("db instance %s requested", identifier)
        self.kick()
        return doc

    def _allocate(self, ctx: RequestContext, doc: Doc, subnet_id: str) -> tuple[str, str]:
        """An address for one of the instance's servers: (VPC address, machine side)."""
        network = self.sibling("ec2", Ec2Service).network
        return network.allocate_address(
            ctx.account_id,
            ctx.region,
            subnet_id,
            f"rds/{doc['aws']['DBInstanceIdentifier']}",
            "RDSNetworkInterface",
            [g["VpcSecurityGroupId"] for g in doc["aws"]["VpcSecurityGroups"]],
        )

    def _release(self, ctx: RequestContext, address: str) -> None:
        self.sibling("ec2", Ec2Service).network.release_address(ctx.account_id, ctx.region, address)

    def _check_create(self, params: dict[str, Any]) -> None:
        if params["Engine"] != "postgres":
            raise _invalid(f"Invalid DB engine: {params['Engine']}. pgrealm runs postgres only.")
        if not params.get("MasterUsername") or not params.get("MasterUserPassword"):
            raise _invalid("The parameter MasterUsername and MasterUserPassword must be provided.")
        for problem in (
            rules.identifier_problem(params["DBInstanceIdentifier"]),
            rules.master_username_problem(params["MasterUsername"]),
            rules.master_password_problem(params["MasterUserPassword"]),
        ):
            if problem:
                raise _invalid(problem)
        if params.get("Port") not in (None, 5432):
            raise _invalid("pgrealm instances listen on port 5432 on their own address.")

    def _domain_membership(
        self,
        ctx: RequestContext,
        params: dict[str, Any],
        status: MembershipStatus = MembershipStatus.ENABLING,
    ) -> Doc | None:
        _refuse_self_managed_ad(params)
        domain = params.get("Domain")
        role = params.get("DomainIAMRoleName")
        if not domain:
            if role:
                raise CommonError(
                    "InvalidParameterCombination",
                    "DomainIAMRoleName requires Domain to be specified.",
                )
            return None
        if not role:
            raise CommonError(
                "InvalidParameterCombination",
                "DomainIAMRoleName is required when Domain is specified.",
            )
        ds = self.sibling("ds", DsService)
        try:
            # The caller's own directory, or the owner's behind a share it accepted.
            directory = ds.member_directory(ctx, domain)
        except ServiceError as exc:
            raise ServiceError("DomainNotFoundFault", f"Domain {domain} not found.") from exc
        kind = limited_type(directory)
        if kind is not None:
            raise CommonError(
                "InvalidParameterCombination",
                f"Domain {domain} is {'an' if kind[0] == 'A' else 'a'} {kind} directory: "
                "Kerberos authentication for RDS needs an AWS Managed Microsoft AD directory.",
            )
        problem = self.sibling("iam", IamService).check_rds_directory_role(
            ctx.account_id, role, ctx.region
        )
        if problem:
            raise CommonError(
                "InvalidParameterCombination",
                "IAM role provided is not valid, please check that the role exists and has "
                f"the correct policies. {problem}",
            )
        return {
            "Domain": domain,
            "IAMRoleName": role,
            "FQDN": directory["aws"]["Name"],
            "Status": status.value,
            "DnsIps": directory["aws"]["DnsIpAddrs"],
        }

    def _membership_changes(self, ctx: RequestContext, params: dict[str, Any]) -> Doc:
        """What ModifyDBInstance asks of the domain membership: join (or retry a failed
        join with the same id), or leave with --disable-domain or --domain none."""
        domain = params.get("Domain")
        # Only --domain none (or --disable-domain) leaves: a modify that does not name a
        # domain keeps the instance's membership.
        leave = bool(params.get("DisableDomain")) or (
            domain is not None and str(domain).lower() == "none"
        )
        if params.get("DisableDomain") and domain:
            raise CommonError(
                "InvalidParameterCombination",
                "You can't specify both Domain and DisableDomain.",
            )
        now = bool(params.get("ApplyImmediately"))
        if leave:
            _refuse_self_managed_ad(params)
            return {"leave": "now" if now else "pending"}
        status = MembershipStatus.ENABLING if now else MembershipStatus.PENDING_ENABLE
        membership = self._domain_membership(ctx, params, status)
        if membership is None:
            return {}
        return {
            "membership": membership,
            "directory": self._directory_key(ctx, membership["Domain"]),
        }

    def _directory_key(self, ctx: RequestContext, domain: str) -> list[str]:
        """Where the reconciler finds the directory: the owner's key for a shared one."""
        key: list[str] = self.sibling("ds", DsService).directory_key(ctx, domain)
        return key

    def _option_group(self, ctx: RequestContext, params: dict[str, Any]) -> str:
        """The instance's option group: the default unless it names one that exists."""
        name = (params.get("OptionGroupName") or DEFAULT_OPTION_GROUP).lower()
        if (
            name != DEFAULT_OPTION_GROUP
            and self.store.get(Kind.DB_OPTION_GROUP, ctx.account_id, ctx.region, name) is None
        ):
            raise ServiceError(
                "OptionGroupNotFoundFault", f"Specified OptionGroupName: {name} not found."
            )
        return str(name)

    def _pick_subnet(self, group: Doc, zone: str | None) -> Doc:
        for subnet in group["Subnets"]:
            if zone is None or subnet["SubnetAvailabilityZone"]["Name"] == zone:
                return dict(subnet)
        raise _invalid(f"No subnet of DB subnet group {group['DBSubnetGroupName']} is in {zone}.")

    def endpoint_name(self, ctx: RequestContext, identifier: str) -> str:
        # Like RDS's <id>.<12 chars per account and region>.<region>.rds.amazonaws.com,
        # under a domain of our own so no real AWS name is ever shadowed. The stack's home
        # is part of the digest: two stacks on one machine (a user's and a test run's) must
        # never publish the same name for different addresses.
        salt = f"{self.settings.home}/{ctx.account_id}/{ctx.region}"
        digest = hashlib.sha256(salt.encode()).hexdigest()[:12]
        return f"{identifier}.{digest}.{ctx.region}.rds.{self.settings.endpoint_domain}"

    def _new_instance(
        self,
        ctx: RequestContext,
        identifier: str,
        params: dict[str, Any],
        group: Doc,
        subnet: Doc,
        membership: Doc | None,
    ) -> Doc:
        sgs = params.get("VpcSecurityGroupIds") or []
        group_name = (params.get("DBParameterGroupName") or DEFAULT_GROUP).lower()
        aws = {
            "DBInstanceIdentifier": identifier,
            "DBInstanceClass": params["DBInstanceClass"],
            "Engine": "postgres",
            "EngineVersion": self.engine_version,
            "DBInstanceStatus": InstanceStatus.CREATING.value,
            "MasterUsername": params["MasterUsername"],
            "DBName": params.get("DBName"),
            "Endpoint": {
                "Address": self.endpoint_name(ctx, identifier),
                "Port": 5432,
                "HostedZoneId": "Z2R2ITUGPM61AM",
            },
            "AllocatedStorage": params.get("AllocatedStorage", 20),
            "PreferredBackupWindow": "03:00-03:30",
            "BackupRetentionPeriod": params.get("BackupRetentionPeriod", 1),
            "DBSecurityGroups": [],
            "VpcSecurityGroups": [{"VpcSecurityGroupId": g, "Status": "active"} for g in sgs],
            "DBParameterGroups": [
                {"DBParameterGroupName": group_name, "ParameterApplyStatus": "in-sync"}
            ],
            "OptionGroupMemberships": [
                {"OptionGroupName": self._option_group(ctx, params), "Status": "in-sync"}
            ],
            "AvailabilityZone": subnet["SubnetAvailabilityZone"]["Name"],
            "DBSubnetGroup": group,
            "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
            "PendingModifiedValues": {},
            "MultiAZ": False,
            "AutoMinorVersionUpgrade": True,
            "LicenseModel": "postgresql-license",
            "PubliclyAccessible": bool(params.get("PubliclyAccessible", False)),
            "StorageType": params.get("StorageType", "gp2"),
            "DbInstancePort": 0,
            "StorageEncrypted": bool(params.get("StorageEncrypted", False)),
            "DbiResourceId": new_id("db-", 26, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
            "CACertificateIdentifier": ca_certificate(params),
            "DomainMemberships": [membership] if membership else [],
            "CopyTagsToSnapshot": False,
            "MonitoringInterval": 0,
            "DBInstanceArn": self._arn(ctx, "db", identifier),
            "IAMDatabaseAuthenticationEnabled": False,
            "PerformanceInsightsEnabled": False,
            "DeletionProtection": bool(params.get("DeletionProtection", False)),
            "TagList": params.get("Tags", []),
            "CustomerOwnedIpEnabled": False,
            "NetworkType": "IPV4",
            "EnabledCloudwatchLogsExports": log_exports(params.get("EnableCloudwatchLogsExports")),
        }
        doc = {
            "aws": aws,
            "desired": "present",
            "directory": self._directory_key(ctx, membership["Domain"]) if membership else None,
            "subnet_id": subnet["SubnetIdentifier"],
            "parameter_group": group_name,
        }
        if params.get("MasterUserPassword"):  # a restore keeps the snapshot's
            doc["sealed_master_password"] = self.sealer.seal(params["MasterUserPassword"])
        return doc

    def describe_db_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params.get("DBInstanceIdentifier")
        if ident:
            return {"DBInstances": [_describe(self._instance(ctx, ident))]}
        # With each doc's revision the serializer reuses the XML of unchanged instances.
        docs = self.store.list_revisions(INSTANCE, ctx.account_id, ctx.region)
        tests = filter_tests(params.get("Filters"), _INSTANCE_FILTERS)
        docs = [(d, rev) for d, rev in docs if all(test(d["aws"]) for test in tests)]
        out = page("rds", "DescribeDBInstances", docs, params)
        out["DBInstances"] = [Revisioned(_describe(d), rev) for d, rev in out["DBInstances"]]
        return out

    def delete_db_instance(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["DBInstanceIdentifier"].lower()
        doc = self._instance(ctx, ident)
        if doc["aws"].get("DeletionProtection"):
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                "Cannot delete protected DB Instance, please disable deletion "
                "protection and try again.",
            )
        final = self._final_snapshot_wanted(params)
        if doc["aws"]["DBInstanceStatus"] == InstanceStatus.BACKING_UP:
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"Instance {ident} is currently creating a snapshot; delete it when the "
                "snapshot is available.",
            )
        final_key = None
        if final and doc["desired"] == "present":
            snapshot = self.final_snapshot(ctx, doc, params)
            final_key = [ctx.account_id, ctx.region, snapshot["aws"]["DBSnapshotIdentifier"]]

        self._unlink_replicas(ctx, doc)

        def mark(d: Doc) -> None:
            d["desired"] = "absent"
            move_instance(d, InstanceStatus.DELETING)
            if final_key is not None:
                d["final_snapshot"] = final_key  # taken before the instance goes
            if params.get("DeleteAutomatedBackups") is False and d.get("restorable_since"):
                d["retain_backups"] = True  # kept, restorable by its DbiResourceId

        updated = self.store.update(INSTANCE, ctx.account_id, ctx.region, ident, mark)
        self.kick()
        return {"DBInstance": _describe(updated or doc)}

    def _unlink_replicas(self, ctx: RequestContext, doc: Doc) -> None:
        """A replica being deleted leaves its source's list; a source being deleted
        promotes its replicas to standalone instances, as RDS does."""
        if doc.get("replica_of"):
            leave_source(self.store, doc)
        for replica_id in doc["aws"].get("ReadReplicaDBInstanceIdentifiers") or []:
            replica = self.store.get(INSTANCE, ctx.account_id, ctx.region, replica_id)
            if replica is not None and replica.get("replica_of"):
                detach_replica(self.store, replica)

    @staticmethod
    def _final_snapshot_wanted(params: dict[str, Any]) -> bool:
        skip, final = params.get("SkipFinalSnapshot"), params.get("FinalDBSnapshotIdentifier")
        if skip and final:
            raise CommonError(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier can not be specified when deleting a DB instance "
                "with SkipFinalSnapshot enabled.",
            )
        if not skip and not final:
            raise CommonError(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
            )
        return bool(final)

    def modify_db_instance(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["DBInstanceIdentifier"].lower()
        doc = self._instance(ctx, ident)
        changes: Doc = self._membership_changes(ctx, params)
        multi_az = self._multi_az_change(doc, params)
        if params.get("MasterUserPassword"):
            problem = rules.master_password_problem(params["MasterUserPassword"])
            if problem:
                raise _invalid(problem)
            changes["sealed"] = self.sealer.seal(params["MasterUserPassword"])
        if params.get("DBParameterGroupName"):
            group = self.parameter_group(ctx, params["DBParameterGroupName"])
            changes["parameter_group"] = group["DBParameterGroupName"]
        if params.get("BackupRetentionPeriod") is not None:
            problem = rules.retention_problem(params["BackupRetentionPeriod"])
            if problem:
                raise _invalid(problem)
            if doc.get("replica_of") and params["BackupRetentionPeriod"]:
                raise CommonError(
                    "InvalidParameterCombination",
                    "pgrealm takes no automated backups of a read replica: promote it first.",
                )
            changes["retention"] = params["BackupRetentionPeriod"]
        if params.get("CACertificateIdentifier"):  # a new certificate at once (and a reload)
            changes["ca"] = ca_certificate(params)
        if params.get("CloudwatchLogsExportConfiguration"):
            changes["exports"] = changed_exports(
                doc["aws"].get("EnabledCloudwatchLogsExports"),
                params["CloudwatchLogsExportConfiguration"],
            )
        if params.get("VpcSecurityGroupIds"):
            vpc_id = doc["aws"]["DBSubnetGroup"]["VpcId"]
            changes["groups"] = self._vpc_security_groups(
                ctx, params["VpcSecurityGroupIds"], vpc_id
            )
        if doc["aws"]["DBInstanceStatus"] not in (InstanceStatus.AVAILABLE,):
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"Database instance is not in available state: {ident}",
            )

        def apply(d: Doc) -> None:
            if "membership" in changes:
                _join(d, changes["membership"], changes["directory"])
            if "sealed" in changes:
                d["sealed_master_password"] = changes["sealed"]
                d["roles_bootstrapped"] = False
            if "leave" in changes:  # the reconciler removes its service account, then it
                _leave(d, immediately=changes["leave"] == "now")
            if "parameter_group" in changes:
                d["parameter_group"] = changes["parameter_group"]
                d["aws"]["DBParameterGroups"] = [
                    {"DBParameterGroupName": changes["parameter_group"]}
                ]
                _applying(d)
            if "retention" in changes:
                d["aws"]["BackupRetentionPeriod"] = changes["retention"]
                if not changes["retention"]:
                    d.pop("restorable_since", None)
                    d["aws"].pop("LatestRestorableTime", None)
            if "ca" in changes:
                d["aws"]["CACertificateIdentifier"] = changes["ca"]
            if "exports" in changes:  # RDS applies these at once, whatever ApplyImmediately
                d["aws"]["EnabledCloudwatchLogsExports"] = changes["exports"]
            if "groups" in changes:
                d["aws"]["VpcSecurityGroups"] = [
                    {"VpcSecurityGroupId": g, "Status": "active"} for g in changes["groups"]
                ]
            if multi_az == "add":
                add_standby(d)
                d["standby"].update(address=standby_at[1], vpc_ip=standby_at[0])
            elif multi_az == "drop":
                drop_standby(d)
            move_instance(d, InstanceStatus.MODIFYING)

        standby_at = self._standby_address(ctx, doc) if multi_az == "add" else ("", "")
        updated = self.store.update(INSTANCE, ctx.account_id, ctx.region, ident, apply)
        if updated is None and standby_at[1]:
            self._release(ctx, standby_at[1])
        if "groups" in changes:  # the ENIs' groups: the next packet
            network = self.sibling("ec2", Ec2Service).network
            spare = (updated or doc).get("standby") or {}
            for address in (doc.get("address"), spare.get("address")):
                if address:
                    network.set_security_groups(
                        ctx.account_id, ctx.region, address, changes["groups"]
                    )
        self.kick()
        return {"DBInstance": _describe(updated or doc)}

    def reboot_db_instance(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["DBInstanceIdentifier"].lower()
        doc = self._instance(ctx, ident)
        failover = bool(params.get("ForceFailover"))
        if failover:
            self._check_failover(ident, doc)
        if doc["aws"]["DBInstanceStatus"] != InstanceStatus.AVAILABLE:
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"Database instance is not in available state: {ident}",
            )

        def apply(d: Doc) -> None:
            move_instance(d, InstanceStatus.REBOOTING)
            # A failover is the reboot of a Multi-AZ instance: reconcile/db_multi_az.py.
            d["failover_requested" if failover else "reboot_requested"] = True
            for member in d["aws"].get("DomainMemberships") or []:
                member["Status"] = applied_status(member["Status"])  # the seed's reboot

        updated = self.store.update(INSTANCE, ctx.account_id, ctx.region, ident, apply)
        self.kick()
        return {"DBInstance": _describe(updated or doc)}

    def stop_db_instance(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """The server stops; the instance keeps its storage, endpoint and membership. As on
        RDS, it starts again by itself after seven days."""
        ident = params["DBInstanceIdentifier"].lower()
        if params.get("DBSnapshotIdentifier"):
            raise CommonError(
                "InvalidParameterCombination",
                "pgrealm takes no snapshot when it stops an instance: create-db-snapshot first.",
            )
        doc = self._instance(ctx, ident)
        if doc.get("replica_of") or doc["aws"].get("ReadReplicaDBInstanceIdentifiers"):
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"Instance {ident} cannot be stopped: it is a read replica or has read replicas.",
            )
        return self._move(ctx, ident, InstanceStatus.AVAILABLE, InstanceStatus.STOPPING)

    def start_db_instance(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["DBInstanceIdentifier"].lower()
        return self._move(ctx, ident, InstanceStatus.STOPPED, InstanceStatus.STARTING)

    def _move(
        self, ctx: RequestContext, ident: str, wanted: InstanceStatus, to: InstanceStatus
    ) -> dict[str, Any]:
        """Move an instance that is ``wanted`` on to ``to``; the reconciler does the rest."""
        doc = self._instance(ctx, ident)
        if doc["aws"]["DBInstanceStatus"] != wanted:
            raise ServiceError(
                "InvalidDBInstanceStateFault",
                f"Instance {ident} is not in {wanted.value} state: it is "
                f"{doc['aws']['DBInstanceStatus']}.",
            )

        def moved(d: Doc) -> None:
            move_instance(d, to)

        updated = self.store.update(INSTANCE, ctx.account_id, ctx.region, ident, moved)
        self.kick()
        return {"DBInstance": _describe(updated or doc)}

    def _described(self, doc: Doc) -> dict[str, Any]:
        return _describe(doc)

    def _instances(self, ctx: RequestContext) -> list[Doc]:
        return self.store.list(INSTANCE, ctx.account_id, ctx.region)

    def _instance(self, ctx: RequestContext, ident: str) -> Doc:
        doc = self.store.get(INSTANCE, ctx.account_id, ctx.region, ident.lower())
        if doc is None:
            raise ServiceError("DBInstanceNotFoundFault", f"DBInstance {ident} not found.")
        return doc

    def _arn(self, ctx: RequestContext, kind: str, name: str) -> str:
        return f"arn:aws:rds:{ctx.region}:{ctx.account_id}:{kind}:{name}"


def _join(doc: Doc, membership: Doc, directory: list[str]) -> None:
    """Put ``doc`` in ``membership``'s domain. The same domain again retries a failed join
    and changes nothing on one that works or is under way."""
    members = doc["aws"].get("DomainMemberships") or []
    same = [m for m in members if m["Domain"] == membership["Domain"]]
    if same and same[0]["Status"] in _LEAVE_PENDING:  # the same domain again: it stays
        check_move(same[0]["Status"], MembershipStatus.ENABLED)
        same[0].update(Status=MembershipStatus.ENABLED.value, IAMRoleName=membership["IAMRoleName"])
        return
    if same and same[0]["Status"] != MembershipStatus.ENABLE_FAILED:
        same[0]["IAMRoleName"] = membership["IAMRoleName"]
        return
    check_move(same[0]["Status"] if same else "", membership["Status"])
    if doc.get("keytab_for") and doc.get("directory") != directory:
        doc["former_directory"] = doc["directory"]  # its account there goes too
    doc["aws"]["DomainMemberships"] = [membership]
    doc["directory"] = directory
    doc.pop("join_attempts", None)
    doc.pop("membership_reason", None)


_LEAVE_PENDING = (
    MembershipStatus.PENDING_DISABLE,
    MembershipStatus.PENDING_MAINTENANCE_DISABLE,
)


def _leave(doc: Doc, immediately: bool) -> None:
    """Leave the domain: at once, or at the next reboot or maintenance window. A membership
    that serves no Kerberos logins yet is dropped at once either way."""
    for member in doc["aws"].get("DomainMemberships") or []:
        waits = not immediately and member["Status"] in KERBEROS_ON
        target = MembershipStatus.PENDING_DISABLE if waits else MembershipStatus.DISABLING
        if member["Status"] in (target, MembershipStatus.DISABLING):
            continue  # already leaving
        check_move(member["Status"], target)
        member["Status"] = target.value


def _refuse_self_managed_ad(params: dict[str, Any]) -> None:
    """The self-managed AD parameters: RDS for PostgreSQL joins AWS Managed AD only."""
    given = [k for k in _SELF_MANAGED_AD if params.get(k)]
    if given:
        raise CommonError(
            "InvalidParameterCombination",
            f"{', '.join(given)} can't be used with the postgres engine: it supports "
            "Kerberos authentication with AWS Managed Microsoft AD only, given as Domain.",
        )


_SELF_MANAGED_AD = ("DomainFqdn", "DomainOu", "DomainAuthSecretArn", "DomainDnsIps")


def _marked_deleted(doc: Doc) -> None:
    doc["desired"] = "absent"


def _describe(doc: Doc) -> dict[str, Any]:
    """The DBInstance shape of ``doc``: a function of the doc alone (see ``Revisioned``)."""
    aws = dict(doc["aws"])
    aws.setdefault("ReadReplicaDBInstanceIdentifiers", [])
    for stamp in ("InstanceCreateTime", "LatestRestorableTime"):
        if aws.get(stamp):
            aws[stamp] = datetime.fromisoformat(aws[stamp])
    aws["DomainMemberships"] = [
        {k: v for k, v in m.items() if k in ("Domain", "Status", "FQDN", "IAMRoleName", "DnsIps")}
        for m in aws.get("DomainMemberships", [])
    ]
    return {k: v for k, v in aws.items() if v is not None}
