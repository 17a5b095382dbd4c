"""What RDS offers here, as the console and tools ask for it: the engine version, the
instance classes, the account's quotas, pending maintenance.

pgrealm runs the one PostgreSQL that Debian installs: ``describe-db-engine-versions``
lists it alone (another engine, or another version, is an empty list, as RDS answers
for a version a Region does not offer).
"""

from __future__ import annotations

from typing import Any

from pgrealm.gateways import rds_ca
from pgrealm.sealing import Sealer
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2.zones import zones
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = ["INSTANCE_CLASSES", "CatalogMixin", "ENGINE_VERSION", "FAMILY"]

ENGINE_VERSION = "15.18"  # what unit tests see; the server uses the installed version
FAMILY = "postgres15"
# The classes pgrealm lists as orderable; each runs the same local PostgreSQL.
INSTANCE_CLASSES = (
    "db.t3.micro", "db.t3.small", "db.t3.medium", "db.t4g.micro", "db.t4g.small",
    "db.t4g.medium", "db.m5.large", "db.m6g.large", "db.r5.large", "db.r6g.large",
)  # fmt: skip
_LOGS = ["postgresql", "upgrade"]
# RDS's default quotas (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html)
_QUOTAS = (
    ("DBInstances", 40, Kind.DB_INSTANCE),
    ("ManualSnapshots", 100, Kind.DB_SNAPSHOT),
    ("DBParameterGroups", 50, Kind.DB_PARAMETER_GROUP),
    ("DBSubnetGroups", 50, Kind.DB_SUBNET_GROUP),
)


class CatalogMixin:
    """The catalog operations, mixed into ``RdsService``."""

    store: Store
    sealer: Sealer
    engine_version: str

    def describe_certificates(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """The CAs that issue instances' TLS certificates (gateways/rds_ca.py)."""
        made = rds_ca.authorities(self.store, self.sealer)
        wanted = params.get("CertificateIdentifier")
        if wanted and wanted not in made:
            raise ServiceError("CertificateNotFoundFault", f"Certificate {wanted} not found.")
        shown = [
            _certificate(ctx, ident, pem)
            for ident, pem in made.items()
            if not wanted or ident == wanted
        ]
        out = page("rds", "DescribeCertificates", shown, params)
        out["DefaultCertificateForNewLaunches"] = rds_ca.DEFAULT_CA
        return out

    def describe_db_engine_versions(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        wanted = {
            "Engine": params.get("Engine"),
            "EngineVersion": params.get("EngineVersion"),
            "DBParameterGroupFamily": params.get("DBParameterGroupFamily"),
        }
        version = _engine_version(self.engine_version)
        offered = [version] if all(version[k] == v for k, v in wanted.items() if v) else []
        return page("rds", "DescribeDBEngineVersions", offered, params)

    def describe_orderable_db_instance_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        options = [
            _orderable(ctx.region, klass, self.engine_version)
            for klass in INSTANCE_CLASSES
            if params["Engine"] == "postgres"
            and params.get("EngineVersion") in (None, self.engine_version)
            and params.get("DBInstanceClass") in (None, klass)
            and params.get("Vpc") in (None, True)
        ]
        return page("rds", "DescribeOrderableDBInstanceOptions", options, params)

    def describe_account_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        quotas = [
            {
                "AccountQuotaName": name,
                "Used": len(self.store.list(kind, ctx.account_id, ctx.region)),
                "Max": limit,
            }
            for name, limit, kind in _QUOTAS
        ]
        return {"AccountQuotas": quotas}

    def describe_pending_maintenance_actions(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """None: pgrealm schedules no engine or OS updates. A domain change waiting for the
        maintenance window shows in the instance's DomainMemberships instead."""
        return page("rds", "DescribePendingMaintenanceActions", [], params)


def _engine_version(version: str) -> dict[str, Any]:
    return {
        "Engine": "postgres",
        "MajorEngineVersion": "15",
        "EngineVersion": version,
        "DBParameterGroupFamily": FAMILY,
        "DBEngineDescription": "PostgreSQL",
        "DBEngineVersionDescription": f"PostgreSQL {version}",
        "ValidUpgradeTarget": [],
        "ExportableLogTypes": _LOGS,
        "SupportsLogExportsToCloudwatchLogs": False,
        "SupportsReadReplica": False,
        "SupportedFeatureNames": [],
        "Status": "available",
        "SupportsParallelQuery": False,
        "SupportsGlobalDatabases": False,
        "SupportsBabelfish": False,
        "SupportsCertificateRotationWithoutRestart": False,
        "SupportedCACertificateIdentifiers": ["rds-ca-rsa2048-g1"],
    }


def _orderable(region: str, klass: str, version: str) -> dict[str, Any]:
    return {
        "Engine": "postgres",
        "EngineVersion": version,
        "DBInstanceClass": klass,
        "LicenseModel": "postgresql-license",
        "AvailabilityZones": [{"Name": zone.name} for zone in zones(region)],
        "MultiAZCapable": True,
        "ReadReplicaCapable": False,
        "Vpc": True,
        "SupportsStorageEncryption": True,
        "StorageType": "gp2",
        "SupportsIops": False,
        "SupportsIAMDatabaseAuthentication": False,
        "SupportsPerformanceInsights": False,
        "MinStorageSize": 20,
        "MaxStorageSize": 65536,
        "SupportsStorageAutoscaling": False,
        "SupportsKerberosAuthentication": True,
        "SupportedNetworkTypes": ["IPV4"],
    }


def ca_certificate(params: dict[str, Any], current: str = rds_ca.DEFAULT_CA) -> str:
    """The CACertificateIdentifier a request asks for, which must be one RDS offers."""
    wanted = params.get("CACertificateIdentifier") or current
    if wanted not in rds_ca.OFFERED:
        raise ServiceError(
            "CertificateNotFoundFault",
            f"CACertificateIdentifier {wanted} not found: pgrealm offers "
            f"{', '.join(rds_ca.OFFERED)}.",
        )
    return str(wanted)


def _certificate(ctx: RequestContext, ident: str, pem: str) -> dict[str, Any]:
    thumbprint, valid_from, valid_till = rds_ca.facts(pem)
    return {
        "CertificateIdentifier": ident,
        "CertificateType": "CA",
        "Thumbprint": thumbprint,
        "ValidFrom": valid_from,
        "ValidTill": valid_till,
        "CertificateArn": f"arn:aws:rds:{ctx.region}::cert:{ident}",
        "CustomerOverride": False,
    }
