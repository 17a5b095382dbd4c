"""IP routes of a directory: AddIpRoutes, ListIpRoutes, RemoveIpRoutes.

A route is the address block of something outside the directory's VPC that its domain
controllers must reach (a self-managed DNS server, a peered VPC on public addresses):
https://docs.aws.amazon.com/directoryservice/latest/devguide/API_AddIpRoutes.html.
pgrealm's DCs already send everything that is not their own VPC to the VPC's router,
so a route changes no packet here: it is recorded on the directory's document
(``ip_routes``, each in AWS's IpRouteInfo shape) and is ``Added`` at once.

With UpdateSecurityGroupForDirectoryControllers the directory's controllers group gets,
in place of all its rules, the inbound and outbound rules the API reference lists for
that flag: AD's ports from the directory's VPC IPv4 CIDR, all ICMP from it, all traffic
out. (Older revisions of that page listed the same ports from 0.0.0.0/0; the pinned
botocore model's text, the current one, says the VPC's CIDR. Its "3268-33269" is read as
the Global Catalog's 3268-3269, as the group's rules at creation have it.) The group
keeps its id, and the runner is kicked so that the network reconciler applies the rules.

Refusals: a directory that is not Active (or Impaired) answers
DirectoryUnavailableException; a malformed CIDR, or one with host bits set,
InvalidParameterException; a block the directory already has,
EntityAlreadyExistsException; more than 100 blocks, AWS's quota,
IpRouteLimitExceededException; removing a block it does not have,
EntityDoesNotExistException. Each call changes all or nothing.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime
from typing import Any

from pgrealm.model.directory import now
from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.ds.rules import require_microsoft_ad
from pgrealm.services.ec2.managed_groups import CONTROLLER_PORTS
from pgrealm.services.ec2.records import ALL_TRAFFIC_EGRESS, new_rule
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["IP_ROUTE_LIMIT", "IpRoutesMixin", "controllers_rules_for_routes"]

log = logging.getLogger(__name__)

_DIRECTORY = Kind.DIRECTORY
_SECURITY_GROUP = Kind.SECURITY_GROUP
_VPC = Kind.VPC
# "IP address routes per Managed AD directory": the default quota, which
# IpRouteLimitExceededException's own documentation repeats (100 IP address blocks).
IP_ROUTE_LIMIT = 100
# Directory network types (the model's NetworkType enum) that have IPv6 addresses.
_IPV6_TYPES = ("Dual-stack", "IPv6")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def controllers_rules_for_routes(vpc_cidr: str) -> list[dict[str, Any]]:
    """The controllers group's rules after AddIpRoutes with the flag, new rule ids each."""
    rules = [
        new_rule({"IpProtocol": p, "FromPort": lo, "ToPort": hi, "CidrIpv4": vpc_cidr}, False)
        for p, lo, hi in CONTROLLER_PORTS
    ]
    rules.append(
        new_rule({"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "CidrIpv4": vpc_cidr}, False)
    )
    rules.append(new_rule(ALL_TRAFFIC_EGRESS, egress=True))
    return rules


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


def _network(text: str, version: int) -> Network:
    """``text`` as a CIDR block of IP ``version``; InvalidParameterException if it is not."""
    member = "CidrIp" if version == 4 else "CidrIpv6"
    try:
        block = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _invalid(f"Invalid {member} {text}: it must be a CIDR block.") from None
    if block.version != version or "/" not in text:
        raise _invalid(f"Invalid {member} {text}: it must be an IPv{version} CIDR block.")
    if version == 4 and block.prefixlen == 0:
        # The model's CidrIp pattern admits prefix lengths 1 to 32 only.
        raise _invalid(f"Invalid {member} {text}: the prefix length must be 1 to 32.")
    if block.network_address != ipaddress.ip_address(text.split("/")[0]):
        raise _invalid(
            f"Invalid {member} {text}: its host bits must be zero (the block is {block})."
        )
    return block


def _route_key(route: dict[str, Any]) -> Network:
    return ipaddress.ip_network(route.get("CidrIp") or route["CidrIpv6"])


def _shape(route: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in route.items() if v is not None}
    out["AddedDateTime"] = datetime.fromisoformat(route["AddedDateTime"])
    return out


class IpRoutesMixin(DsMixin):
    """AddIpRoutes, ListIpRoutes and RemoveIpRoutes, mixed into ``DsService``."""

    def add_ip_routes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id = params["DirectoryId"]
        update_group = bool(params.get("UpdateSecurityGroupForDirectoryControllers"))
        group_id = ""
        with self.store.transaction():
            doc = self._active(ctx, directory_id)
            require_microsoft_ad(doc, "IP routing")
            new = self._new_routes(doc, params["IpRoutes"])
            have = list(doc.get("ip_routes", []))
            taken = {_route_key(r) for r in have}
            for route in new:
                if _route_key(route) in taken:
                    raise ServiceError(
                        "EntityAlreadyExistsException",
                        f"The IP route {_route_key(route)} already exists for directory "
                        f"{directory_id}.",
                    )
            if len(have) + len(new) > IP_ROUTE_LIMIT:
                raise ServiceError(
                    "IpRouteLimitExceededException",
                    f"Directory {directory_id} has {len(have)} IP routes; adding {len(new)} "
                    f"would exceed the limit of {IP_ROUTE_LIMIT} IP address blocks.",
                )
            if update_group:
                group_id = self._replace_controllers_rules(ctx, doc)
            doc["ip_routes"] = have + new
            self.store.put(_DIRECTORY, ctx.account_id, ctx.region, directory_id, doc)
        log.info("directory %s: %d IP route(s) added", directory_id, len(new))
        if update_group:
            log.info("directory %s: rules of %s replaced (AddIpRoutes)", directory_id, group_id)
            self.kick()
        return {}

    def _new_routes(self, doc: Doc, routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The IpRouteInfo records of ``routes``, checked; one per block."""
        directory_id = doc["aws"]["DirectoryId"]
        if not routes:
            raise _invalid("IpRoutes must list at least one IP route.")
        ipv6 = doc["aws"].get("NetworkType", "IPv4") in _IPV6_TYPES
        stamp = now().isoformat()
        out: list[dict[str, Any]] = []
        seen: set[Network] = set()
        for route in routes:
            v4, v6 = route.get("CidrIp"), route.get("CidrIpv6")
            if bool(v4) == bool(v6):
                raise _invalid("Each IP route must have exactly one of CidrIp and CidrIpv6.")
            if v6 and not ipv6:
                raise _invalid(
                    f"Invalid CidrIpv6 {v6}: directory {directory_id} has network type "
                    f"{doc['aws'].get('NetworkType', 'IPv4')}; IPv6 routes need Dual-stack."
                )
            block = _network(v4, 4) if v4 else _network(v6 or "", 6)
            if block in seen:
                raise _invalid(f"The IP route {block} is listed more than once.")
            seen.add(block)
            out.append(
                {
                    "DirectoryId": directory_id,
                    "CidrIp": str(block) if v4 else None,
                    "CidrIpv6": str(block) if v6 else None,
                    "IpRouteStatusMsg": "Added",
                    "AddedDateTime": stamp,
                    "Description": route.get("Description"),
                }
            )
        return out

    def _replace_controllers_rules(self, ctx: RequestContext, doc: Doc) -> str:
        """Give the directory's controllers group the flag's rules (inside the caller's
        transaction); its id."""
        settings = doc["aws"]["VpcSettings"]
        group_id = str(settings["SecurityGroupId"])
        group = self.store.get(_SECURITY_GROUP, ctx.account_id, ctx.region, group_id)
        vpc = self.store.get(_VPC, ctx.account_id, ctx.region, settings["VpcId"])
        if group is None or vpc is None:
            raise ServiceError(
                "ClientException",
                f"The security group {group_id} of directory {doc['aws']['DirectoryId']} "
                "no longer exists, so its rules cannot be updated.",
            )
        group["_rules"] = controllers_rules_for_routes(vpc["CidrBlock"])
        self.store.put(_SECURITY_GROUP, ctx.account_id, ctx.region, group_id, group)
        return group_id

    def list_ip_routes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.get_directory(ctx, params["DirectoryId"])
        out = page("ds", "ListIpRoutes", list(doc.get("ip_routes", [])), params)
        out["IpRoutesInfo"] = [_shape(r) for r in out["IpRoutesInfo"]]
        return out

    def remove_ip_routes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id = params["DirectoryId"]
        with self.store.transaction():
            doc = self._active(ctx, directory_id)
            wanted = [_network(c, 4) for c in params.get("CidrIps") or []]
            wanted += [_network(c, 6) for c in params.get("CidrIpv6s") or []]
            if not wanted:
                raise _invalid("Specify the IP routes to remove in CidrIps or CidrIpv6s.")
            have = list(doc.get("ip_routes", []))
            present = {_route_key(r) for r in have}
            for block in wanted:
                if block not in present:
                    raise ServiceError(
                        "EntityDoesNotExistException",
                        f"The IP route {block} does not exist for directory {directory_id}.",
                    )
            gone = set(wanted)
            doc["ip_routes"] = [r for r in have if _route_key(r) not in gone]
            self.store.put(_DIRECTORY, ctx.account_id, ctx.region, directory_id, doc)
        log.info("directory %s: %d IP route(s) removed", directory_id, len(gone))
        return {}
