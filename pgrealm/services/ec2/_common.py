"""What the EC2 modules share: store kinds, error builders, filters, paging, tags.

EC2's model declares no error shapes, so errors are :class:`CommonError` with EC2's
own codes (``InvalidVpcID.NotFound`` ...), worded as EC2 words them. Stored documents
are the AWS shape plus private ``_``-prefixed fields that :func:`public` strips.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from pgrealm.services.errors import CommonError
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = [
    "ACL",
    "ADDRESS",
    "DEFAULTS",
    "PCX",
    "RTB",
    "SG",
    "SUBNET",
    "VPC",
    "Getter",
    "association_not_found",
    "by_client_token",
    "check_dry_run",
    "dependency_violation",
    "filtered",
    "flag",
    "group_not_found",
    "invalid",
    "network_acl_not_found",
    "parse_cidr",
    "peering_not_found",
    "public",
    "route_table_not_found",
    "subnet_not_found",
    "tag_specs",
    "unsupported",
    "vpc_not_found",
]

log = logging.getLogger(__name__)

VPC = Kind.VPC
SUBNET = Kind.SUBNET
SG = Kind.SECURITY_GROUP
ADDRESS = Kind.ADDRESS
DEFAULTS = Kind.EC2_DEFAULTS
PCX = Kind.VPC_PEERING
RTB = Kind.ROUTE_TABLE
ACL = Kind.NETWORK_ACL

Getter = Callable[[Doc], Iterable[str]]


def public(doc: Doc) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def invalid(message: str) -> CommonError:
    return CommonError("InvalidParameterValue", message)


def vpc_not_found(vpc_id: str) -> CommonError:
    return CommonError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")


def subnet_not_found(subnet_id: str) -> CommonError:
    return CommonError("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id}' does not exist")


def group_not_found(group: str) -> CommonError:
    return CommonError("InvalidGroup.NotFound", f"The security group '{group}' does not exist")


def peering_not_found(pcx_id: str) -> CommonError:
    return CommonError(
        "InvalidVpcPeeringConnectionID.NotFound",
        f"The vpcPeeringConnection ID '{pcx_id}' does not exist",
    )


def route_table_not_found(rtb_id: str) -> CommonError:
    return CommonError(
        "InvalidRouteTableID.NotFound", f"The routeTable ID '{rtb_id}' does not exist"
    )


def network_acl_not_found(acl_id: str) -> CommonError:
    return CommonError(
        "InvalidNetworkAclID.NotFound", f"The networkAcl ID '{acl_id}' does not exist"
    )


def association_not_found(association_id: str) -> CommonError:
    return CommonError(
        "InvalidAssociationID.NotFound", f"The association ID '{association_id}' does not exist"
    )


def dependency_violation(noun: str, resource_id: str) -> CommonError:
    """EC2's refusal to delete what something still uses (``noun``: vpc, routeTable ...)."""
    return CommonError(
        "DependencyViolation",
        f"The {noun} '{resource_id}' has dependencies and cannot be deleted.",
    )


def unsupported(what: str) -> CommonError:
    """A part of an operation pgrealm does not offer (the operation itself is served), in
    the code api/dispatch.py answers an unserved EC2 operation with."""
    return CommonError("UnsupportedOperation", what)


def by_client_token(docs: Iterable[Doc], token: str | None, vpc_id: str) -> Doc | None:
    """The resource an earlier create with this ClientToken made (EC2's idempotency), if
    any; the same token for another VPC is refused."""
    if not token:
        return None
    for doc in docs:
        if doc.get("_client_token") == token:
            if doc["VpcId"] != vpc_id:
                raise CommonError(
                    "IdempotentParameterMismatch",
                    "The request uses the same client token as a previous, but non-identical "
                    "request.",
                )
            return doc
    return None


def check_dry_run(params: dict[str, Any]) -> None:
    if params.get("DryRun"):
        raise CommonError(
            "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412
        )


def parse_cidr(text: str, parameter: str = "cidrBlock") -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise invalid(
            f"Value ({text}) for parameter {parameter} is invalid. This is not a valid CIDR block."
        ) from None


def tag_specs(params: dict[str, Any], resource_type: str) -> list[dict[str, str]]:
    """The tags a create call's TagSpecifications give a resource of ``resource_type``."""
    tags: dict[str, dict[str, str]] = {}
    for spec in params.get("TagSpecifications") or []:
        if spec.get("ResourceType") not in (None, resource_type):
            raise invalid(
                f"'{spec.get('ResourceType')}' is not a valid taggable resource type for this "
                "operation."
            )
        for tag in spec.get("Tags") or []:
            tags[tag["Key"]] = {"Key": tag["Key"], "Value": tag.get("Value", "")}
    return list(tags.values())


def _wildcard(value: str) -> re.Pattern[str]:
    # EC2 filter values accept * and ? as wildcards.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    return re.compile(f"^{body}$", re.DOTALL)


def _tag_values(doc: Doc, key: str) -> list[str]:
    return [t.get("Value", "") for t in doc.get("Tags") or [] if t["Key"] == key]


def _field(doc: Doc, name: str, getters: dict[str, Getter]) -> Iterable[str]:
    if name.startswith("tag:"):
        return _tag_values(doc, name[4:])
    if name == "tag-key":
        return [t["Key"] for t in doc.get("Tags") or []]
    if name == "tag-value":
        return [t.get("Value", "") for t in doc.get("Tags") or []]
    getter = getters.get(name)
    if getter is None:
        raise invalid(f"The filter '{name}' is invalid")
    return getter(doc)


def filtered(
    docs: Iterable[Doc], filters: list[dict[str, Any]] | None, getters: dict[str, Getter]
) -> list[Doc]:
    """The docs every filter matches (any of a filter's values; all filters)."""
    result = list(docs)
    for flt in filters or []:
        patterns = [_wildcard(v) for v in flt.get("Values") or []]
        name = flt["Name"]
        result = [
            d for d in result if any(p.match(v) for p in patterns for v in _field(d, name, getters))
        ]
    return result


def flag(value: bool) -> list[str]:
    """A boolean as EC2 filters see it."""
    return ["true" if value else "false"]
