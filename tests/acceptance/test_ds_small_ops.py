"""Directory Service's smaller calls on the session's directory, through boto3 and the aws
CLI: IP routes (and what UpdateSecurityGroupForDirectoryControllers does to the
controllers group), the alias and access URL, single sign-on, event topics.

The controllers group is shared with the modules after this one, which open it to their
own VPCs and check which VPCs it does not let in: the IP routes test puts back the
group's rules as it found them, whatever happens.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

ROUTE = "203.0.113.0/24"


def _rules(perms: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    out = set()
    for p in perms:
        peers = [r["CidrIp"] for r in p["IpRanges"]] + [g["GroupId"] for g in p["UserIdGroupPairs"]]
        out |= {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), peer) for peer in peers}
    return out


def _restore(ec2: Any, group_id: str, before: dict[str, Any]) -> None:
    """Give the group back the rules of ``before`` (its describe-security-groups entry)."""
    now = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    if now["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=now["IpPermissions"])
    if now["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=now["IpPermissionsEgress"])
    if before["IpPermissions"]:
        ec2.authorize_security_group_ingress(
            GroupId=group_id, IpPermissions=before["IpPermissions"]
        )
    if before["IpPermissionsEgress"]:
        ec2.authorize_security_group_egress(
            GroupId=group_id, IpPermissions=before["IpPermissionsEgress"]
        )


def test_ip_routes_and_the_controllers_group(stack: StackHandle, directory: dict[str, Any]) -> None:
    ds, ec2 = stack.client("ds"), stack.client("ec2")
    did = directory["DirectoryId"]
    group_id = directory["VpcSettings"]["SecurityGroupId"]
    vpc = ec2.describe_vpcs(VpcIds=[directory["VpcSettings"]["VpcId"]])["Vpcs"][0]
    cidr = vpc["CidrBlock"]
    before = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    try:
        stack.aws("ds", "add-ip-routes", "--directory-id", did,
                  "--ip-routes", f"CidrIp={ROUTE},Description=on-premises DNS",
                  "--update-security-group-for-directory-controllers")  # fmt: skip
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        assert group["GroupId"] == group_id  # the rules change, the group stays
        # AddIpRoutes' rules for the flag: AD's ports and all ICMP from the directory's
        # VPC CIDR, all traffic out.
        assert _rules(group["IpPermissions"]) == {
            *(("udp", p, p, cidr) for p in (53, 88, 123, 138, 389, 445, 464)),
            *(("tcp", p, p, cidr) for p in (53, 88, 135, 389, 445, 464, 636)),
            ("tcp", 1024, 65535, cidr),
            ("tcp", 3268, 3269, cidr),
            ("icmp", -1, -1, cidr),
        }
        assert _rules(group["IpPermissionsEgress"]) == {("-1", None, None, "0.0.0.0/0")}

        [route] = ds.list_ip_routes(DirectoryId=did)["IpRoutesInfo"]
        assert route["DirectoryId"] == did and route["CidrIp"] == ROUTE
        assert route["IpRouteStatusMsg"] == "Added"
        assert route["Description"] == "on-premises DNS" and route["AddedDateTime"]
        with pytest.raises(ds.exceptions.EntityAlreadyExistsException):
            ds.add_ip_routes(DirectoryId=did, IpRoutes=[{"CidrIp": ROUTE}])
        with pytest.raises(ds.exceptions.InvalidParameterException):
            ds.add_ip_routes(DirectoryId=did, IpRoutes=[{"CidrIp": "198.51.100.7/24"}])

        stack.aws("ds", "remove-ip-routes", "--directory-id", did, "--cidr-ips", ROUTE)
        assert stack.aws("ds", "list-ip-routes", "--directory-id", did)["IpRoutesInfo"] == []
        with pytest.raises(ds.exceptions.EntityDoesNotExistException):
            ds.remove_ip_routes(DirectoryId=did, CidrIps=[ROUTE])
        with pytest.raises(ds.exceptions.EntityDoesNotExistException):
            ds.list_ip_routes(DirectoryId="d-0000000000")
    finally:
        if ds.list_ip_routes(DirectoryId=did)["IpRoutesInfo"]:
            ds.remove_ip_routes(DirectoryId=did, CidrIps=[ROUTE])
        _restore(ec2, group_id, before)
    after = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert _rules(after["IpPermissions"]) == _rules(before["IpPermissions"])
    assert _rules(after["IpPermissionsEgress"]) == _rules(before["IpPermissionsEgress"])


def test_alias_and_single_sign_on(stack: StackHandle, directory: dict[str, Any]) -> None:
    ds = stack.client("ds")
    did = directory["DirectoryId"]
    with pytest.raises(ds.exceptions.ClientException):  # an alias comes first
        ds.enable_sso(DirectoryId=did)
    out = stack.aws("ds", "create-alias", "--directory-id", did, "--alias", "pgrealm-corp")
    assert out == {"DirectoryId": did, "Alias": "pgrealm-corp"}
    [desc] = stack.aws("ds", "describe-directories", "--directory-ids", did)[
        "DirectoryDescriptions"
    ]
    assert desc["Alias"] == "pgrealm-corp"
    assert desc["AccessUrl"] == "pgrealm-corp.awsapps.com"
    with pytest.raises(ds.exceptions.InvalidParameterException):  # once per directory
        ds.create_alias(DirectoryId=did, Alias="pgrealm-other")

    stack.aws("ds", "enable-sso", "--directory-id", did)
    assert ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]["SsoEnabled"]
    ds.disable_sso(DirectoryId=did)
    desc = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]
    assert desc["SsoEnabled"] is False


def test_event_topics(stack: StackHandle, directory: dict[str, Any]) -> None:
    ds = stack.client("ds")
    did = directory["DirectoryId"]
    assert stack.aws("ds", "describe-event-topics", "--directory-id", did)["EventTopics"] == []
    with pytest.raises(ds.exceptions.EntityDoesNotExistException) as no_sns:
        ds.register_event_topic(DirectoryId=did, TopicName="ds-status")
    assert "no Amazon SNS topics" in no_sns.value.response["Error"]["Message"]
    with pytest.raises(ds.exceptions.EntityDoesNotExistException):
        ds.describe_event_topics(DirectoryId="d-0000000000")
