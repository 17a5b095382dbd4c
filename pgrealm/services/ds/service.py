"""Directory Service (ds): AWS Managed Microsoft AD and Simple AD directories, realised as
Samba AD domains.

The API records the desired directory and answers at once (Stage ``Requested``); the
directory reconciler provisions and starts the domain controllers and moves the Stage
on, by the table in pgrealm/model/directory.py.

    Service
     +-- SharingMixin       sharing between accounts (sharing.py)
     +-- IpRoutesMixin      IP routes, the controllers group's rules (ip_routes.py)
     +-- AliasMixin         alias and access URL, single sign-on (aliases.py)
     +-- EventTopicsMixin   SNS event topics, which pgrealm lacks (event_topics.py)
     +-- TrustsMixin        trusts with other forests, conditional forwarders (trusts.py)
     +-- SettingsMixin      the TLS settings the DCs apply (settings.py)
     +-- CertificatesMixin  registered CA certificates and client LDAPS (certificates.py)
     +-- LogSubscriptionsMixin  the DCs' authentication events to CloudWatch Logs
     +-- SnapshotsMixin     snapshots of the directory, and restoring one (snapshots.py)
     +-- UpdatesMixin       a Simple AD or AD Connector going Large (updates.py)
          +-- DsService
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime
from typing import Any

from pgrealm.gateways.directory import DirectoryGateway, NotFound, PasswordRejected
from pgrealm.model.directory import (
    DirectoryStage,
    dc_changing,
    domain_controller_id,
    now,
    set_stage,
)
from pgrealm.model.rds import instances_joined_to
from pgrealm.sealing import Sealer
from pgrealm.services.base import Service, merge_tags, new_id
from pgrealm.services.context import RequestContext
from pgrealm.services.ds.aliases import AliasMixin
from pgrealm.services.ds.certificates import CertificatesMixin
from pgrealm.services.ds.event_topics import EventTopicsMixin
from pgrealm.services.ds.ip_routes import IpRoutesMixin
from pgrealm.services.ds.log_subscriptions import LogSubscriptionsMixin
from pgrealm.services.ds.rules import (
    admin_password_problem,
    require_microsoft_ad,
    require_own_directory,
)
from pgrealm.services.ds.settings import SettingsMixin
from pgrealm.services.ds.sharing import SharingMixin
from pgrealm.services.ds.snapshots import SnapshotsMixin
from pgrealm.services.ds.trusts import TrustsMixin
from pgrealm.services.ds.updates import UpdatesMixin
from pgrealm.services.ec2.managed_groups import create_controllers_group
from pgrealm.services.ec2.service import Ec2Service
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["DsService", "KIND"]

log = logging.getLogger(__name__)

SECURITY_GROUP = Kind.SECURITY_GROUP

KIND = Kind.DIRECTORY
_MAX_TAGS = 50  # tags per directory
# Directory Service's default quotas per account and Region
# (https://docs.aws.amazon.com/directoryservice/latest/admin-guide/ms_ad_limits.html)
MICROSOFT_AD_LIMIT = 20
CLOUD_ONLY_LIMIT = 10  # Simple AD
CONNECTED_LIMIT = 10  # AD Connector
MIN_DOMAIN_CONTROLLERS, MAX_DOMAIN_CONTROLLERS = 2, 20  # UpdateNumberOfDomainControllers


class DsService(
    SharingMixin,
    IpRoutesMixin,
    AliasMixin,
    EventTopicsMixin,
    TrustsMixin,
    SettingsMixin,
    CertificatesMixin,
    LogSubscriptionsMixin,
    SnapshotsMixin,
    UpdatesMixin,
    Service,
):
    service_name = "ds"

    def __init__(
        self,
        store: Store,
        registry: dict[str, Service],
        sealer: Sealer,
        data: DirectoryGateway,
        kick: Any = None,
    ) -> None:
        super().__init__(store, registry)
        self.sealer = sealer
        self.data = data
        self.kick = kick or (lambda: None)

    # -- lookups shared with rds and ds-data --------------------------------------
    def get_directory(
        self,
        ctx: RequestContext,
        directory_id: str,
        shared: bool = False,
        deleting: bool = False,
    ) -> Doc:
        """The caller's directory; with ``shared``, also a SharedMicrosoftAD it consumes;
        with ``deleting``, also one on its way out (DescribeDirectories shows Deleting)."""
        doc = self.store.get(KIND, ctx.account_id, ctx.region, directory_id)
        if doc is None and shared:
            doc = self.shared_view(ctx, directory_id)
        if doc is None or (doc["desired"] == "absent" and not deleting):
            raise ServiceError(
                "EntityDoesNotExistException", f"Directory {directory_id} does not exist."
            )
        return doc

    # -- operations -----------------------------------------------------------------
    def _dc_addresses(
        self, ctx: RequestContext, directory_id: str, subnets: list[Doc], group_id: str
    ) -> list[tuple[str, str]]:
        """An address in each subnet for its DC; all or none (a refusal gives back the
        ones already taken)."""
        network = self.sibling("ec2", Ec2Service).network
        taken: list[tuple[str, str]] = []
        try:
            for number, subnet in enumerate(subnets, start=1):
                taken.append(
                    network.allocate_address(
                        ctx.account_id,
                        ctx.region,
                        subnet["SubnetId"],
                        f"{directory_id}/dc{number}",
                        f"AWS created network interface for directory {directory_id}",
                        [group_id],
                    )
                )
        except ServiceError:
            for _, address in taken:
                network.release_address(ctx.account_id, ctx.region, address)
            raise
        return taken

    def _count(self, ctx: RequestContext, directory_type: str) -> int:
        return sum(
            1
            for d in self.store.list(KIND, ctx.account_id, ctx.region)
            if d["desired"] == "present" and d["aws"].get("Type", "MicrosoftAD") == directory_type
        )

    def get_directory_limits(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """This account's directories in this Region against AWS's default quotas: Simple
        AD is the cloud-only kind, AD Connector the connected one."""
        simple, managed = self._count(ctx, "SimpleAD"), self._count(ctx, "MicrosoftAD")
        connected = self._count(ctx, "ADConnector")
        return {
            "DirectoryLimits": {
                "CloudOnlyDirectoriesLimit": CLOUD_ONLY_LIMIT,
                "CloudOnlyDirectoriesCurrentCount": simple,
                "CloudOnlyDirectoriesLimitReached": simple >= CLOUD_ONLY_LIMIT,
                "CloudOnlyMicrosoftADLimit": MICROSOFT_AD_LIMIT,
                "CloudOnlyMicrosoftADCurrentCount": managed,
                "CloudOnlyMicrosoftADLimitReached": managed >= MICROSOFT_AD_LIMIT,
                "ConnectedDirectoriesLimit": CONNECTED_LIMIT,
                "ConnectedDirectoriesCurrentCount": connected,
                "ConnectedDirectoriesLimitReached": connected >= CONNECTED_LIMIT,
            }
        }

    def create_microsoft_ad(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._check_new(ctx, params, "MicrosoftAD", MICROSOFT_AD_LIMIT)
        kind = {"Type": "MicrosoftAD", "Edition": params.get("Edition", "Enterprise")}
        return self._new_directory(ctx, params, kind)

    def create_directory(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Simple AD: on AWS it is Samba too; here two Samba DCs laid out as Simple AD."""
        if "VpcSettings" not in params:
            raise ServiceError(
                "InvalidParameterException", "VpcSettings is required for a Simple AD directory."
            )
        self._check_new(ctx, params, "SimpleAD", CLOUD_ONLY_LIMIT)
        return self._new_directory(ctx, params, {"Type": "SimpleAD", "Size": params["Size"]})

    def connect_directory(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """AD Connector: two interfaces in the caller's VPC that reach the customer's own
        AD at CustomerDnsIps; the directory reconciler checks the service account with an
        LDAP bind from there before the directory becomes Active."""
        settings = params["ConnectSettings"]
        dns = _customer_dns(settings)
        if not settings.get("CustomerUserName"):
            raise ServiceError("InvalidParameterException", "CustomerUserName is required.")
        if self._count(ctx, "ADConnector") >= CONNECTED_LIMIT:
            raise ServiceError(
                "DirectoryLimitExceededException",
                f"The account has reached its limit of {CONNECTED_LIMIT} AD Connector "
                "directories in this Region.",
            )
        subnets = self._directory_subnets(ctx, settings)
        directory_id = new_id("d-", 10)
        group_id, addresses = self._interfaces(ctx, directory_id, subnets)
        aws = {
            **_described(params, directory_id, {"Type": "ADConnector", "Size": params["Size"]}),
            "DnsIpAddrs": dns,
            "ConnectSettings": {
                "VpcId": subnets[0]["VpcId"],
                "SubnetIds": [s["SubnetId"] for s in subnets],
                "CustomerUserName": settings["CustomerUserName"],
                "SecurityGroupId": group_id,
                "AvailabilityZones": [s["AvailabilityZone"] for s in subnets],
                "ConnectIps": [vpc_ip for vpc_ip, _ in addresses],
            },
        }
        doc: Doc = {
            "aws": aws,
            "dcs": [],
            "enis": [{"vpc_ip": v, "address": a} for v, a in addresses],
            "sealed_service_password": self.sealer.seal(params["Password"]),
        }
        return self._record(ctx, doc, params)

    def update_number_of_domain_controllers(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """More DCs join (one in each subnet by turns) and replicate; fewer: the newest go,
        demoted from the domain. The directory stays Active; each DC's status says where
        it is (describe-domain-controllers)."""
        directory_id, desired = params["DirectoryId"], params["DesiredNumber"]
        if desired < MIN_DOMAIN_CONTROLLERS:
            raise ServiceError(
                "InvalidParameterException",
                f"DesiredNumber must be at least {MIN_DOMAIN_CONTROLLERS}.",
            )
        if desired > MAX_DOMAIN_CONTROLLERS:
            raise ServiceError(
                "DomainControllerLimitExceededException",
                f"A directory can have at most {MAX_DOMAIN_CONTROLLERS} domain controllers.",
            )
        doc = self._active(ctx, directory_id)
        require_microsoft_ad(doc, "Changing the number of domain controllers")
        if any(dc_changing(dc) for dc in doc["dcs"]):
            raise ServiceError(
                "ClientException",
                f"Directory {directory_id} is already changing its domain controllers.",
            )
        # Addresses first (each allocation is its own transaction), then the record.
        new = self._new_dcs(ctx, doc, max(0, desired - len(doc["dcs"])))

        def resize(d: Doc) -> None:
            d["dcs"] += new
            for dc in d["dcs"][desired:]:
                dc["status"] = "Deleting"
            d["aws"]["DesiredNumberOfDomainControllers"] = desired

        self.store.update(KIND, ctx.account_id, ctx.region, directory_id, resize)
        log.info("directory %s: %d domain controllers wanted", directory_id, desired)
        self.kick()
        return {}

    def _new_dcs(self, ctx: RequestContext, doc: Doc, count: int) -> list[Doc]:
        """Records for ``count`` more DCs, each with an address in the directory's subnets
        by turns (dc3 in the first, dc4 in the second, ...)."""
        directory_id = doc["aws"]["DirectoryId"]
        group_id = doc["aws"]["VpcSettings"]["SecurityGroupId"]
        network = self.sibling("ec2", Ec2Service).network
        first = len(doc["dcs"]) + 1
        out = []
        for number in range(first, first + count):
            home = doc["dcs"][(number - 1) % 2]
            vpc_ip, address = network.allocate_address(
                ctx.account_id, ctx.region, home["subnet_id"], f"{directory_id}/dc{number}",
                f"AWS created network interface for directory {directory_id}", [group_id],
            )  # fmt: skip
            out.append(
                {
                    **_dc_record(number, vpc_ip, address),
                    "subnet_id": home["subnet_id"],
                    "az": home["az"],
                    "status": "Creating",
                }
            )
        return out

    def _check_new(
        self, ctx: RequestContext, params: dict[str, Any], directory_type: str, limit: int
    ) -> None:
        problem = admin_password_problem(params["Password"])
        if problem:
            raise ServiceError(
                "InvalidParameterException", f"Invalid directory password. {problem}"
            )
        if self._count(ctx, directory_type) >= limit:
            name = "Simple AD" if directory_type == "SimpleAD" else "AWS Managed Microsoft AD"
            raise ServiceError(
                "DirectoryLimitExceededException",
                f"The account has reached its limit of {limit} {name} directories in this Region.",
            )

    def _new_directory(
        self, ctx: RequestContext, params: dict[str, Any], kind: dict[str, str]
    ) -> dict[str, Any]:
        """Record a directory of ``kind`` (Type, with Edition or Size) and its addresses."""
        subnets = self._directory_subnets(ctx, params["VpcSettings"])
        directory_id = new_id("d-", 10)
        group_id, addresses = self._interfaces(ctx, directory_id, subnets)
        dcs = [
            {
                **_dc_record(number, vpc_ip, address),
                "subnet_id": subnet["SubnetId"],
                "az": subnet["AvailabilityZone"],
            }
            for number, (subnet, (vpc_ip, address)) in enumerate(
                zip(subnets, addresses, strict=True), start=1
            )
        ]
        aws = {
            **_described(params, directory_id, kind),
            # The DCs' VPC addresses, as AWS shows them; the machine reaches each DC at its
            # "address" (the ENI's public address, describe-network-interfaces).
            "DnsIpAddrs": [dc["vpc_ip"] for dc in dcs],
            "VpcSettings": {
                "VpcId": subnets[0]["VpcId"],
                "SubnetIds": [s["SubnetId"] for s in subnets],
                "SecurityGroupId": group_id,
                "AvailabilityZones": [s["AvailabilityZone"] for s in subnets],
            },
            "DesiredNumberOfDomainControllers": 2,
        }
        doc: Doc = {
            "aws": aws,
            "dcs": dcs,
            "sealed_admin_password": self.sealer.seal(params["Password"]),
        }
        return self._record(ctx, doc, params)

    def _interfaces(
        self, ctx: RequestContext, directory_id: str, subnets: list[Doc]
    ) -> tuple[str, list[tuple[str, str]]]:
        """The directory's security group and an address in each subnet (DCs', or an AD
        Connector's); all or none."""
        group_id = self._security_group(ctx, subnets[0]["VpcId"], directory_id)
        try:
            return group_id, self._dc_addresses(ctx, directory_id, subnets, group_id)
        except ServiceError:
            self.store.delete(SECURITY_GROUP, ctx.account_id, ctx.region, group_id)
            raise

    def _record(self, ctx: RequestContext, doc: Doc, params: dict[str, Any]) -> dict[str, Any]:
        """Store a new directory record, which the directory reconciler takes from there."""
        doc.update(desired="present", data_access="Disabled", tags=params.get("Tags", []))
        directory_id = doc["aws"]["DirectoryId"]
        self.store.put(KIND, ctx.account_id, ctx.region, directory_id, doc)
        log.info(
            "directory %s (%s, %s) requested", directory_id, doc["aws"]["Type"], params["Name"]
        )
        self.kick()
        return {"DirectoryId": directory_id}

    def _directory_subnets(self, ctx: RequestContext, vpc_settings: dict[str, Any]) -> list[Doc]:
        subnet_ids = vpc_settings["SubnetIds"]
        if len(subnet_ids) != 2 or len(set(subnet_ids)) != 2:
            raise ServiceError(
                "InvalidParameterException",
                "Invalid subnet ID(s). You must specify exactly two subnets in different "
                "Availability Zones.",
            )
        network = self.sibling("ec2", Ec2Service).network
        try:
            subnets: list[Doc] = network.get_subnets(ctx.account_id, ctx.region, subnet_ids)
        except ServiceError as exc:
            raise ServiceError(
                "InvalidParameterException", f"Invalid subnet ID(s): {exc.message}"
            ) from exc
        if any(s["VpcId"] != vpc_settings["VpcId"] for s in subnets):
            raise ServiceError(
                "InvalidParameterException",
                f"Invalid subnet ID(s). The subnets must belong to VPC {vpc_settings['VpcId']}.",
            )
        if subnets[0]["AvailabilityZone"] == subnets[1]["AvailabilityZone"]:
            raise ServiceError(
                "InvalidParameterException",
                "Invalid subnet ID(s). The subnets must be in different Availability Zones.",
            )
        return subnets

    def _security_group(self, ctx: RequestContext, vpc_id: str, directory_id: str) -> str:
        """The controllers' group, with the rules AWS gives it (managed_groups.py)."""
        ec2 = self.sibling("ec2", Ec2Service)
        with self.store.transaction():
            vpc = ec2._vpc(ctx, vpc_id)
            return create_controllers_group(
                self.store, ctx.account_id, ctx.region, vpc, directory_id
            )

    def describe_directories(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = params.get("DirectoryIds")
        if ids:
            docs = [self.get_directory(ctx, i, shared=True, deleting=True) for i in ids]
        else:
            docs = self.store.list(KIND, ctx.account_id, ctx.region) + self.shared_views(ctx)
        out = page("ds", "DescribeDirectories", docs, params)
        out["DirectoryDescriptions"] = [_describe(d) for d in out["DirectoryDescriptions"]]
        return out

    def describe_domain_controllers(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self.get_directory(ctx, params["DirectoryId"])
        wanted = set(params.get("DomainControllerIds") or [])
        out = []
        for dc in doc["dcs"]:
            dc_id = domain_controller_id(doc, dc)
            if wanted and dc_id not in wanted:
                continue
            out.append(
                {
                    "DirectoryId": doc["aws"]["DirectoryId"],
                    "DomainControllerId": dc_id,
                    "DnsIpAddr": dc["vpc_ip"],
                    "VpcId": doc["aws"]["VpcSettings"]["VpcId"],
                    "SubnetId": dc["subnet_id"],
                    "AvailabilityZone": dc["az"],
                    # Creating until the directory's steps finish, then Active or, while
                    # it does not answer, Impaired (set by the directory reconciler).
                    "Status": dc.get("status", "Creating"),
                    "StatusReason": dc.get("status_reason"),
                    "LaunchTime": _dt(doc["aws"]["LaunchTime"]),
                    "StatusLastUpdatedDateTime": _dt(doc["aws"]["StageLastUpdatedDateTime"]),
                }
            )
        return {"DomainControllers": out}

    def delete_directory(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id = params["DirectoryId"]
        doc = self.get_directory(ctx, directory_id, shared=True)
        if "shared_from" in doc:
            return self.delete_shared_directory(ctx, doc)
        users = instances_joined_to(self.store, [ctx.account_id, ctx.region, directory_id])
        if users:
            raise ServiceError(
                "ClientException",
                f"Cannot delete the directory because it still has authorized applications: "
                f"{', '.join(users)}.",
            )

        def mark(doc: Doc) -> None:
            doc["desired"] = "absent"
            set_stage(doc, DirectoryStage.DELETING)

        self.store.update(KIND, ctx.account_id, ctx.region, directory_id, mark)
        self.kick()
        return {"DirectoryId": directory_id}

    # -- tags (Terraform reads and writes a directory's through these) --------------------
    def add_tags_to_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        def add(doc: Doc) -> None:
            merged = merge_tags(doc.get("tags", []), params["Tags"])
            if len(merged) > _MAX_TAGS:
                raise ServiceError(
                    "TagLimitExceededException",
                    f"A directory can have at most {_MAX_TAGS} tags.",
                )
            doc["tags"] = merged

        self._change_tags(ctx, params["ResourceId"], add)
        return {}

    def remove_tags_from_resource(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        keys = set(params["TagKeys"])

        def remove(doc: Doc) -> None:
            doc["tags"] = [t for t in doc.get("tags", []) if t["Key"] not in keys]

        self._change_tags(ctx, params["ResourceId"], remove)
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags = list(self.get_directory(ctx, params["ResourceId"]).get("tags", []))
        return page("ds", "ListTagsForResource", tags, params, default_size=50)

    def _change_tags(self, ctx: RequestContext, directory_id: str, change: Any) -> None:
        self.get_directory(ctx, directory_id)  # EntityDoesNotExistException
        self.store.update(KIND, ctx.account_id, ctx.region, directory_id, change)

    def reset_user_password(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Only users inside OU=<NETBIOS> (AWS refuses built-in and AWS-reserved accounts);
        Admin's password must also meet the rules of CreateMicrosoftAd. Re-enables the user."""
        doc = self._active(ctx, params["DirectoryId"])
        require_own_directory(doc, "Resetting a user's password")
        name = params["UserName"]
        data = self.data
        try:
            user = data.describe(doc, "user", name)
        except NotFound as exc:
            raise ServiceError("UserDoesNotExistException", f"User {name} does not exist.") from exc
        if not user["distinguishedName"].lower().endswith("," + data.home_ou(doc).lower()):
            raise ServiceError(
                "UnsupportedOperationException",
                f"Resetting the password of {name} is not supported: only users in the "
                f"organizational unit {data.home_ou(doc)} can be reset.",
            )
        administrator = "administrator" if doc["aws"].get("Type") == "SimpleAD" else "admin"
        if name.lower() == administrator:
            problem = admin_password_problem(params["NewPassword"])
            if problem:
                raise ServiceError("InvalidPasswordException", problem)
        try:
            data.reset_password(doc, name, params["NewPassword"])
        except PasswordRejected as exc:
            raise ServiceError("InvalidPasswordException", str(exc)) from exc
        except NotFound as exc:
            raise ServiceError("UserDoesNotExistException", f"User {name} does not exist.") from exc
        return {}

    def _active(self, ctx: RequestContext, directory_id: str) -> Doc:
        doc = self.get_directory(ctx, directory_id)
        if doc["aws"]["Stage"] not in (DirectoryStage.ACTIVE, DirectoryStage.IMPAIRED):
            raise ServiceError(
                "DirectoryUnavailableException",
                f"Directory {directory_id} is not available (stage {doc['aws']['Stage']}).",
            )
        return doc

    def enable_directory_data_access(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._set_data_access(ctx, params["DirectoryId"], "Enabled")

    def disable_directory_data_access(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._set_data_access(ctx, params["DirectoryId"], "Disabled")

    def describe_directory_data_access(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._data_directory(ctx, params["DirectoryId"])
        return {"DataAccessStatus": doc["data_access"]}

    def _data_directory(self, ctx: RequestContext, directory_id: str) -> Doc:
        try:
            return self.get_directory(ctx, directory_id)
        except ServiceError as exc:
            raise ServiceError("DirectoryDoesNotExistException", exc.message) from exc

    def _set_data_access(
        self, ctx: RequestContext, directory_id: str, status: str
    ) -> dict[str, Any]:
        doc = self._data_directory(ctx, directory_id)
        require_microsoft_ad(doc, "Directory data access")
        if doc["data_access"] == status:
            raise ServiceError(
                "DirectoryInDesiredStateException",
                f"Directory data access is already {status.lower()} for {directory_id}.",
            )
        self.store.update(
            KIND,
            ctx.account_id,
            ctx.region,
            directory_id,
            lambda d: d.__setitem__("data_access", status),
        )
        return {}


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _described(params: dict[str, Any], directory_id: str, kind: dict[str, str]) -> Doc:
    """What DescribeDirectories shows of any new directory, its type's fields aside."""
    stamp = now().isoformat()
    return {
        "DirectoryId": directory_id,
        "Name": params["Name"],
        "ShortName": params.get("ShortName") or params["Name"].split(".")[0].upper()[:15],
        "Description": params.get("Description"),
        **kind,
        "Alias": directory_id,
        "AccessUrl": f"{directory_id}.awsapps.com",
        "Stage": DirectoryStage.REQUESTED.value,
        "LaunchTime": stamp,
        "StageLastUpdatedDateTime": stamp,
        "SsoEnabled": False,
        "NetworkType": params.get("NetworkType", "IPv4"),
    }


def _dc_record(number: int, vpc_ip: str, address: str) -> Doc:
    """A DC's name, its host name after its VPC address (as AWS names them), addresses."""
    return {
        "name": f"dc{number}",
        "hostname": "IP-" + "".join(f"{int(o):02X}" for o in vpc_ip.split(".")),
        "address": address,
        "vpc_ip": vpc_ip,
    }


def _customer_dns(settings: dict[str, Any]) -> list[str]:
    """CustomerDnsIps, checked: IPv4 addresses, at least one (no IPv6: pgrealm's VPCs)."""
    if settings.get("CustomerDnsIpsV6"):
        raise ServiceError(
            "InvalidParameterException",
            "CustomerDnsIpsV6 is not supported: pgrealm's VPCs are IPv4 only.",
        )
    dns = list(settings.get("CustomerDnsIps") or [])
    if not dns:
        raise ServiceError("InvalidParameterException", "CustomerDnsIps must name an address.")
    for address in dns:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise ServiceError(
                "InvalidParameterException", f"Invalid IP address {address!r} in CustomerDnsIps."
            ) from None
    return dns


def _describe(doc: Doc) -> dict[str, Any]:
    aws = dict(doc["aws"])
    for key in ("LaunchTime", "StageLastUpdatedDateTime"):
        aws[key] = _dt(aws[key])
    return {k: v for k, v in aws.items() if v is not None}
