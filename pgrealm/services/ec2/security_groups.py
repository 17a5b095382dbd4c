"""EC2 security group operations: groups and their ingress/egress rules.

Rules are kept flat (see records.py). pgrealm records rules but does not enforce
them: all traffic is on loopback. Names may identify groups only in the default VPC,
as in EC2: https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._base import Ec2Base
from pgrealm.services.ec2._common import (
    SG,
    VPC,
    Getter,
    check_dry_run,
    filtered,
    invalid,
    tag_specs,
    vpc_not_found,
)
from pgrealm.services.ec2.records import group_shape, new_rule, new_sg, rule_shape
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page
from pgrealm.store import Doc

__all__ = ["SecurityGroupOps"]

log = logging.getLogger(__name__)

# What AWS allows in a VPC security group's name and description.
_SG_TEXT = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$")

_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}

_GROUP_FILTERS: dict[str, Getter] = {
    "vpc-id": lambda d: [d["VpcId"]],
    "group-name": lambda d: [d["GroupName"]],
    "group-id": lambda d: [d["GroupId"]],
    "description": lambda d: [d["Description"]],
    "owner-id": lambda d: [d["OwnerId"]],
}


def _cidr(text: str, version: int) -> str:
    try:
        net = ipaddress.ip_network(text)
    except ValueError:
        raise invalid(f"CIDR block {text} is malformed") from None
    if net.version != version:
        raise invalid(f"CIDR block {text} is malformed")
    return str(net)


def _ports(perm: dict[str, Any], protocol: str) -> dict[str, int]:
    low, high = perm.get("FromPort"), perm.get("ToPort")
    if protocol in ("tcp", "udp"):
        if low is None or high is None:
            raise invalid(
                "Invalid value 'null' for portRange. Must specify both from and to ports with "
                "TCP/UDP."
            )
        if not 0 <= low <= high <= 65535:
            raise invalid(f"Invalid TCP/UDP port range: {low} to {high}.")
        return {"FromPort": low, "ToPort": high}
    if protocol in ("icmp", "icmpv6"):
        return {"FromPort": -1 if low is None else low, "ToPort": -1 if high is None else high}
    return {}


def _protocol(perm: dict[str, Any]) -> str:
    raw = str(perm.get("IpProtocol", "")).lower()
    protocol = _PROTOCOL_NAMES.get(raw, raw)
    known = protocol in ("tcp", "udp", "icmp", "icmpv6", "-1")
    if not known and not (protocol.isdigit() and 0 <= int(protocol) <= 255):
        raise invalid(f"Invalid value '{raw}' for IP protocol. Unknown protocol.")
    return protocol


def _rule_key(rule: dict[str, Any]) -> tuple[Any, ...]:
    peer = (
        rule.get("CidrIpv4"),
        rule.get("CidrIpv6"),
        rule.get("PrefixListId"),
        (rule.get("ReferencedGroupInfo") or {}).get("GroupId"),
    )
    return (rule["IsEgress"], rule["IpProtocol"], rule.get("FromPort"), rule.get("ToPort"), peer)


def _describe_rule(rule: dict[str, Any]) -> str:
    info = rule.get("ReferencedGroupInfo") or {}
    peer = rule.get("CidrIpv4") or rule.get("CidrIpv6") or rule.get("PrefixListId")
    ports = ""
    if "FromPort" in rule:
        ports = f", from port: {rule['FromPort']}, to port: {rule['ToPort']}"
    return f"peer: {peer or info.get('GroupId')}, {rule['IpProtocol'].upper()}{ports}, ALLOW"


def _legacy_permissions(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The old flat CidrIp / SourceSecurityGroupName form as one IpPermission."""
    perm: dict[str, Any] = {"IpProtocol": params.get("IpProtocol") or "-1"}
    for key in ("FromPort", "ToPort"):
        if params.get(key) is not None:
            perm[key] = params[key]
    if params.get("CidrIp"):
        perm["IpRanges"] = [{"CidrIp": params["CidrIp"]}]
    if params.get("SourceSecurityGroupName"):
        pair = {"GroupName": params["SourceSecurityGroupName"]}
        if params.get("SourceSecurityGroupOwnerId"):
            pair["UserId"] = params["SourceSecurityGroupOwnerId"]
        perm["UserIdGroupPairs"] = [pair]
    return [perm]


class SecurityGroupOps(Ec2Base):
    """Security group operations (mixed into Ec2Service)."""

    def _default_vpc(self, ctx: RequestContext) -> str:
        vpc_id = self.network.default_vpc_id(ctx.account_id, ctx.region)
        if vpc_id is None:
            raise CommonError("VPCIdNotSpecified", "No default VPC for this user")
        return vpc_id

    def _group_by_name(self, ctx: RequestContext, name: str) -> Doc:
        vpc_id = self._default_vpc(ctx)
        for group in self._groups(ctx):
            if group["VpcId"] == vpc_id and group["GroupName"] == name:
                return group
        raise CommonError(
            "InvalidGroup.NotFound",
            f"The security group '{name}' does not exist in default VPC '{vpc_id}'",
        )

    def _target(self, ctx: RequestContext, params: dict[str, Any]) -> Doc:
        if params.get("GroupId"):
            return self._group(ctx, params["GroupId"])
        if params.get("GroupName"):
            return self._group_by_name(ctx, params["GroupName"])
        raise CommonError(
            "MissingParameter", "The request must contain the parameter groupName or groupId"
        )

    # -- groups ---------------------------------------------------------------------
    def create_security_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        name = params["GroupName"]
        for member, value in (("GroupName", name), ("GroupDescription", params["Description"])):
            if len(value) > 255 or not _SG_TEXT.match(value):
                raise invalid(
                    f"Invalid value '{value[:255]}' for {member}. Valid values: up to 255 of "
                    "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
                )
        if name == "default":
            raise CommonError("InvalidGroup.Reserved", "The security group 'default' is reserved")
        if name.lower().startswith("sg-"):
            raise invalid("Group names may not be in the format sg-*.")
        vpc_id = params.get("VpcId") or self._default_vpc(ctx)
        tags = tag_specs(params, "security-group")
        with self.store.transaction():
            if self.store.get(VPC, ctx.account_id, ctx.region, vpc_id) is None:
                raise vpc_not_found(vpc_id)
            if any(g["VpcId"] == vpc_id and g["GroupName"] == name for g in self._groups(ctx)):
                raise CommonError(
                    "InvalidGroup.Duplicate",
                    f"The security group '{name}' already exists for VPC '{vpc_id}'",
                )
            group = new_sg(ctx.account_id, ctx.region, vpc_id, name, params["Description"], tags)
            self.store.put(SG, ctx.account_id, ctx.region, group["GroupId"], group)
        log.info("security group %s (%s) created in %s", group["GroupId"], name, vpc_id)
        out: dict[str, Any] = {
            "GroupId": group["GroupId"],
            "SecurityGroupArn": group["SecurityGroupArn"],
        }
        if tags:
            out["Tags"] = tags
        return out

    def describe_security_groups(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        ids, names = params.get("GroupIds"), params.get("GroupNames")
        if ids or names:
            docs = [self._group(ctx, i) for i in ids or []]
            docs += [self._group_by_name(ctx, n) for n in names or []]
        else:
            docs = self._groups(ctx)
        docs = filtered(docs, params.get("Filters"), _GROUP_FILTERS)
        return page("ec2", "DescribeSecurityGroups", [group_shape(d) for d in docs], params)

    def delete_security_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        with self.store.transaction():
            group = self._target(ctx, params)
            group_id = group["GroupId"]
            if group["GroupName"] == "default":
                raise CommonError(
                    "CannotDelete",
                    f'the specified group: "{group_id}" name: "default" cannot be deleted '
                    "by a user",
                )
            for other in self._groups(ctx):
                refs = {
                    (r.get("ReferencedGroupInfo") or {}).get("GroupId") for r in other["_rules"]
                }
                if other["GroupId"] != group_id and group_id in refs:
                    raise CommonError(
                        "DependencyViolation", f"resource {group_id} has a dependent object"
                    )
            self.store.delete(SG, ctx.account_id, ctx.region, group_id)
        log.info("security group %s deleted", group_id)
        self.kick()
        return {"Return": True, "GroupId": group_id}

    # -- rules ----------------------------------------------------------------------
    def _peer_group(self, ctx: RequestContext, pair: dict[str, Any]) -> dict[str, str]:
        owner = pair.get("UserId") or ctx.account_id
        if pair.get("GroupId"):
            if owner == ctx.account_id:
                self._group(ctx, pair["GroupId"])
            return {"GroupId": pair["GroupId"], "UserId": owner}
        if pair.get("GroupName"):
            named = self._group_by_name(ctx, pair["GroupName"])
            return {"GroupId": named["GroupId"], "UserId": owner}
        raise CommonError(
            "MissingParameter", "The request must contain the parameter groupId or groupName"
        )

    def _rules(
        self, ctx: RequestContext, perms: list[dict[str, Any]], egress: bool
    ) -> list[dict[str, Any]]:
        """Flat rules (without ids) for IpPermissions; referenced groups must exist."""
        rules: list[dict[str, Any]] = []
        for perm in perms:
            protocol = _protocol(perm)
            base = {"IsEgress": egress, "IpProtocol": protocol, **_ports(perm, protocol)}
            peers: list[dict[str, Any]] = []
            for item in perm.get("IpRanges") or []:
                peers.append({"CidrIpv4": _cidr(item["CidrIp"], 4), **_desc(item)})
            for item in perm.get("Ipv6Ranges") or []:
                peers.append({"CidrIpv6": _cidr(item["CidrIpv6"], 6), **_desc(item)})
            for item in perm.get("PrefixListIds") or []:
                peers.append({"PrefixListId": item["PrefixListId"], **_desc(item)})
            for item in perm.get("UserIdGroupPairs") or []:
                peers.append({"ReferencedGroupInfo": self._peer_group(ctx, item), **_desc(item)})
            if not peers:
                raise CommonError(
                    "MissingParameter",
                    "The request must contain a source or destination: ipRanges, ipv6Ranges, "
                    "prefixListIds or groups.",
                )
            rules += [{**base, **peer} for peer in peers]
        return rules

    def _authorize(
        self, ctx: RequestContext, params: dict[str, Any], egress: bool
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        perms = params.get("IpPermissions") or _legacy_permissions(params)
        with self.store.transaction():
            group = self._target(ctx, params)
            wanted = self._rules(ctx, perms, egress)
            seen = {_rule_key(r) for r in group["_rules"]}
            added = []
            for fields in wanted:
                if _rule_key(fields) in seen:
                    raise CommonError(
                        "InvalidPermission.Duplicate",
                        f'the specified rule "{_describe_rule(fields)}" already exists',
                    )
                seen.add(_rule_key(fields))
                added.append(new_rule({k: v for k, v in fields.items() if k != "IsEgress"}, egress))
            group["_rules"] += added
            self.store.put(SG, ctx.account_id, ctx.region, group["GroupId"], group)
        log.info("%d rule(s) added to %s", len(added), group["GroupId"])
        self.kick()  # the next connection meets the rule
        return {"Return": True, "SecurityGroupRules": [rule_shape(group, r) for r in added]}

    def authorize_security_group_ingress(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._authorize(ctx, params, egress=False)

    def authorize_security_group_egress(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._authorize(ctx, params, egress=True)

    def _revoke(self, ctx: RequestContext, params: dict[str, Any], egress: bool) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        with self.store.transaction():
            group = self._target(ctx, params)
            mine = [r for r in group["_rules"] if r["IsEgress"] == egress]
            if params.get("SecurityGroupRuleIds"):
                ids = set(params["SecurityGroupRuleIds"])
                gone = [r for r in mine if r["SecurityGroupRuleId"] in ids]
                missing = len(ids) != len(gone)
            else:
                perms = params.get("IpPermissions") or _legacy_permissions(params)
                keys = {_rule_key(r) for r in self._rules(ctx, perms, egress)}
                gone = [r for r in mine if _rule_key(r) in keys]
                missing = len(keys) != len(gone)
            if missing:
                raise CommonError(
                    "InvalidPermission.NotFound",
                    "The specified rule does not exist in this security group.",
                )
            group["_rules"] = [r for r in group["_rules"] if r not in gone]
            self.store.put(SG, ctx.account_id, ctx.region, group["GroupId"], group)
        self.kick()
        return {"Return": True, "RevokedSecurityGroupRules": [_revoked(group, r) for r in gone]}

    def revoke_security_group_ingress(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._revoke(ctx, params, egress=False)

    def revoke_security_group_egress(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._revoke(ctx, params, egress=True)


def _desc(item: dict[str, Any]) -> dict[str, str]:
    return {"Description": item["Description"]} if item.get("Description") else {}


def _revoked(group: Doc, rule: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: v
        for k, v in rule_shape(group, rule).items()
        if k not in ("GroupOwnerId", "Tags", "SecurityGroupRuleArn", "ReferencedGroupInfo")
    }
    if rule.get("ReferencedGroupInfo"):
        out["ReferencedGroupId"] = rule["ReferencedGroupInfo"]["GroupId"]
    return out
