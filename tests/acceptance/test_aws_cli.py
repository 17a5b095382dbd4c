"""The control-plane calls of the seed flow through the real aws CLI, as a user types them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.acceptance.conftest import POLICY_ARN, TRUST
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def test_default_vpc_and_zones(stack: StackHandle) -> None:
    zones = stack.aws("ec2", "describe-availability-zones")["AvailabilityZones"]
    assert len(zones) >= 2 and all(z["State"] == "available" for z in zones)
    vpcs = stack.aws("ec2", "describe-vpcs", "--filters", "Name=is-default,Values=true")["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["CidrBlock"] == "172.31.0.0/16"
    subnets = stack.aws(
        "ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpcs[0]['VpcId']}"
    )["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets if s["DefaultForAz"]}) >= 2


def test_vpc_lifecycle(stack: StackHandle) -> None:
    vpc = stack.aws("ec2", "create-vpc", "--cidr-block", "10.20.0.0/16")["Vpc"]["VpcId"]
    a = stack.aws(
        "ec2",
        "create-subnet",
        "--vpc-id",
        vpc,
        "--cidr-block",
        "10.20.1.0/24",
        "--availability-zone",
        "us-east-1a",
    )["Subnet"]["SubnetId"]
    b = stack.aws(
        "ec2",
        "create-subnet",
        "--vpc-id",
        vpc,
        "--cidr-block",
        "10.20.2.0/24",
        "--availability-zone",
        "us-east-1b",
    )["Subnet"]["SubnetId"]
    sg = stack.aws(
        "ec2",
        "create-security-group",
        "--group-name",
        "db",
        "--description",
        "db access",
        "--vpc-id",
        vpc,
    )["GroupId"]
    stack.aws(
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        sg,
        "--protocol",
        "tcp",
        "--port",
        "5432",
        "--cidr",
        "10.20.0.0/16",
    )
    stack.aws(
        "ec2",
        "authorize-security-group-egress",
        "--group-id",
        sg,
        "--ip-permissions",
        json.dumps(
            [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 88,
                    "ToPort": 88,
                    "IpRanges": [{"CidrIp": "10.20.0.0/16"}],
                }
            ]
        ),
    )
    group = stack.aws("ec2", "describe-security-groups", "--group-ids", sg)["SecurityGroups"][0]
    assert any(p.get("FromPort") == 5432 for p in group["IpPermissions"])
    stack.aws(
        "rds",
        "create-db-subnet-group",
        "--db-subnet-group-name",
        "cli-group",
        "--db-subnet-group-description",
        "two AZs",
        "--subnet-ids",
        a,
        b,
    )
    groups = stack.aws("rds", "describe-db-subnet-groups", "--db-subnet-group-name", "cli-group")
    assert groups["DBSubnetGroups"][0]["VpcId"] == vpc
    refused = stack.aws("ec2", "delete-vpc", "--vpc-id", vpc, check=False)
    assert refused.returncode != 0 and "DependencyViolation" in refused.stderr
    stack.aws("rds", "delete-db-subnet-group", "--db-subnet-group-name", "cli-group")
    stack.aws("ec2", "delete-security-group", "--group-id", sg)
    stack.aws("ec2", "delete-subnet", "--subnet-id", a)
    stack.aws("ec2", "delete-subnet", "--subnet-id", b)
    stack.aws("ec2", "delete-vpc", "--vpc-id", vpc)
    gone = stack.aws("ec2", "describe-vpcs", "--vpc-ids", vpc, check=False)
    assert "InvalidVpcID.NotFound" in gone.stderr


def test_iam_role_with_its_own_policy(stack: StackHandle) -> None:
    managed = stack.aws("iam", "get-policy", "--policy-arn", POLICY_ARN)["Policy"]
    assert managed["PolicyName"] == "AmazonRDSDirectoryServiceAccess"
    stack.aws(
        "iam",
        "create-role",
        "--role-name",
        "cli-role",
        "--assume-role-policy-document",
        json.dumps(TRUST),
    )
    policy: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "ds:DescribeDirectories",
                    "ds:AuthorizeApplication",
                    "ds:UnauthorizeApplication",
                    "ds:GetAuthorizedApplicationDetails",
                ],
                "Resource": "*",
            }
        ],
    }
    stack.aws(
        "iam",
        "put-role-policy",
        "--role-name",
        "cli-role",
        "--policy-name",
        "ds",
        "--policy-document",
        json.dumps(policy),
    )
    got = stack.aws("iam", "get-role-policy", "--role-name", "cli-role", "--policy-name", "ds")
    assert got["PolicyDocument"]["Statement"][0]["Resource"] == "*"
    roles = [r["RoleName"] for r in stack.aws("iam", "list-roles")["Roles"]]
    assert "cli-role" in roles
    refused = stack.aws("iam", "delete-role", "--role-name", "cli-role", check=False)
    assert "DeleteConflict" in refused.stderr
    stack.aws("iam", "delete-role-policy", "--role-name", "cli-role", "--policy-name", "ds")
    stack.aws("iam", "delete-role", "--role-name", "cli-role")


def test_domain_controllers(stack: StackHandle, directory: dict[str, Any]) -> None:
    dcs = stack.aws(
        "ds", "describe-domain-controllers", "--directory-id", directory["DirectoryId"]
    )["DomainControllers"]
    assert sorted(d["DnsIpAddr"] for d in dcs) == sorted(directory["DnsIpAddrs"])
    assert {d["Status"] for d in dcs} == {"Active"}
