"""What the client kit needs to know about a directory or a DB instance, asked of the
running pgrealm server through the AWS API (boto3), as any client machine would.

The access key names the account (``test`` is 000000000000; twelve digits are that
account), the secret is ``test``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from pgrealm.errors import PgRealmError

__all__ = [
    "Api",
    "DirectoryInfo",
    "InstanceInfo",
    "TargetError",
    "dc_addresses",
    "instance_and_directory",
    "machine_dcs",
]

log = logging.getLogger(__name__)


class TargetError(PgRealmError):
    """The directory or instance asked for does not exist or cannot serve Kerberos."""


@dataclass(frozen=True)
class DirectoryInfo:
    directory_id: str
    domain: str  # corp.example.com
    dcs: tuple[str, ...]  # where this machine reaches each DC: DNS, KDC and kpasswd

    @property
    def realm(self) -> str:
        return self.domain.upper()


@dataclass(frozen=True)
class InstanceInfo:
    identifier: str
    endpoint: str
    port: int
    status: str
    arn: str
    directory_id: str | None
    membership_status: str | None

    def keytab_path(self, home: Path) -> Path:
        """Where the server keeps this instance's keytab (model/layout.py): in its folder,
        or in node-b/ for a Multi-AZ instance that failed over and then left Multi-AZ
        (both servers of a Multi-AZ instance hold the same key)."""
        parts = self.arn.split(":")
        root = home / "instances" / f"{parts[4]}-{parts[3]}-{self.identifier}"
        first, other = root / "krb5.keytab", root / "node-b" / "krb5.keytab"
        return other if other.exists() and not first.exists() else first


class Api:
    def __init__(self, endpoint_url: str, region: str, account: str, secret: str = "test") -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.account = account
        self.secret = secret

    def _client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.account,
            aws_secret_access_key=self.secret,
        )

    def rds_certificates(self) -> list[str]:
        """The identifiers of the RDS CAs (describe-certificates)."""
        found = self._client("rds").describe_certificates()["Certificates"]
        return [str(c["CertificateIdentifier"]) for c in found]

    def directory(self, directory_id: str) -> DirectoryInfo:
        ds = self._client("ds")
        try:
            found = ds.describe_directories(DirectoryIds=[directory_id])["DirectoryDescriptions"]
        except ds.exceptions.EntityDoesNotExistException as exc:
            raise TargetError(f"directory {directory_id} does not exist") from exc
        if not found:
            raise TargetError(f"directory {directory_id} does not exist")
        d = found[0]
        if not d.get("DnsIpAddrs"):
            raise TargetError(
                f"directory {directory_id} has no DNS addresses yet (Stage {d.get('Stage')})"
            )
        owner = d.get("OwnerDirectoryDescription") or {}
        reach = self.machine_addresses(
            owner.get("AccountId") or self.account, owner.get("DirectoryId") or directory_id
        )
        dcs = tuple(reach.get(a, a) for a in d["DnsIpAddrs"])
        return DirectoryInfo(d["DirectoryId"], d["Name"], dcs)

    def machine_addresses(self, account: str, directory_id: str) -> dict[str, str]:
        """VPC address -> machine address of a directory's DCs (see :func:`dc_addresses`);
        a directory shared with this account has its interfaces in its owner's account."""
        return dc_addresses(
            Api(self.endpoint_url, self.region, account, self.secret)._client("ec2"), directory_id
        )

    def instance(self, identifier: str) -> InstanceInfo:
        rds = self._client("rds")
        try:
            found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except rds.exceptions.DBInstanceNotFoundFault as exc:
            raise TargetError(f"DB instance {identifier} does not exist") from exc
        return _instance(found[0])

    def join_problem(self, identifier: str) -> str | None:
        """Why the instance's last join failed, as its newest RDS event says; None if none."""
        events = self._client("rds").describe_events(
            SourceIdentifier=identifier, SourceType="db-instance", Duration=20160
        )["Events"]
        for event in reversed(events):
            message = str(event.get("Message", ""))
            if "could not be enabled" in message:
                return message
        return None

    def instances_in(self, directory_id: str) -> list[InstanceInfo]:
        pages = self._client("rds").get_paginator("describe_db_instances").paginate()
        out = [_instance(i) for page in pages for i in page["DBInstances"]]
        return [i for i in out if i.directory_id == directory_id and i.endpoint]


def dc_addresses(ec2: Any, directory_id: str) -> dict[str, str]:
    """VPC address -> the address this machine reaches it at, for a directory's DCs.

    DnsIpAddrs are VPC addresses, which mean something only inside the VPC (CIDRs overlap
    between VPCs, as on AWS). Like a workstation on a VPN, this machine reaches each DC at
    its network interface's public address, which the VPC's router maps to the VPC
    address. ``ec2`` is a boto3 EC2 client of the directory owner's account."""
    found = ec2.describe_network_interfaces(
        Filters=[
            {
                "Name": "description",
                "Values": [f"AWS created network interface for directory {directory_id}"],
            }
        ]
    )["NetworkInterfaces"]
    return {
        eni["PrivateIpAddress"]: eni["Association"]["PublicIp"]
        for eni in found
        if eni.get("Association", {}).get("PublicIp")
    }


def machine_dcs(ec2: Any, directory: dict[str, Any]) -> list[str]:
    """A DirectoryDescription's DnsIpAddrs as this machine reaches them, in their order."""
    reach = dc_addresses(ec2, directory["DirectoryId"])
    return [reach.get(a, a) for a in directory.get("DnsIpAddrs") or []]


def _instance(raw: dict[str, Any]) -> InstanceInfo:
    member = (raw.get("DomainMemberships") or [{}])[0]
    endpoint = raw.get("Endpoint") or {}
    return InstanceInfo(
        identifier=raw["DBInstanceIdentifier"],
        endpoint=endpoint.get("Address", ""),
        port=int(endpoint.get("Port", 5432)),
        status=raw.get("DBInstanceStatus", ""),
        arn=raw.get("DBInstanceArn", ""),
        directory_id=member.get("Domain"),
        membership_status=member.get("Status"),
    )


def instance_and_directory(api: Api, identifier: str) -> tuple[InstanceInfo, DirectoryInfo]:
    """A DB instance and the directory it is joined to (TargetError if it is not)."""
    inst = api.instance(identifier)
    if not inst.directory_id:
        raise TargetError(
            f"DB instance {identifier} is not joined to a directory (DomainMemberships is "
            f"empty): aws rds modify-db-instance --db-instance-identifier {identifier} "
            "--domain d-... --domain-iam-role-name ..."
        )
    return inst, api.directory(inst.directory_id)
