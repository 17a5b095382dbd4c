"""Bad input is answered with the real service's error code, and nothing is created."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.exceptions
import pytest

from tests.acceptance.conftest import TRUST, new_password
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def _default_subnets(stack: StackHandle) -> list[dict[str, Any]]:
    subnets: list[dict[str, Any]] = stack.client("ec2").describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    return subnets


def _directory_count(stack: StackHandle) -> int:
    return len(stack.client("ds").describe_directories()["DirectoryDescriptions"])


@pytest.mark.parametrize(
    "password, why",
    [
        ("short1A", "too short"),
        ("alllowercaseletters", "one category"),
        ("MyAdminPassw0rd", "contains admin"),
    ],
)
def test_bad_admin_password(stack: StackHandle, password: str, why: str) -> None:
    subnets = _default_subnets(stack)
    before = _directory_count(stack)
    done = stack.aws(
        "ds",
        "create-microsoft-ad",
        "--name",
        "bad.example.com",
        "--vpc-settings",
        json.dumps(
            {"VpcId": subnets[0]["VpcId"], "SubnetIds": [s["SubnetId"] for s in subnets[:2]]}
        ),
        inputs={"Password": password},
        check=False,
    )
    assert done.returncode != 0, why
    assert "InvalidParameterException" in done.stderr, done.stderr
    assert password not in done.stderr
    assert _directory_count(stack) == before


def test_two_subnets_in_one_az(stack: StackHandle) -> None:
    ec2 = stack.client("ec2")
    subnet = _default_subnets(stack)[0]
    vpc = subnet["VpcId"]
    other = ec2.create_subnet(
        VpcId=vpc, CidrBlock="172.31.200.0/24", AvailabilityZone=subnet["AvailabilityZone"]
    )["Subnet"]
    before = _directory_count(stack)
    ds = stack.client("ds")
    with pytest.raises(ds.exceptions.InvalidParameterException, match="Availability Zone"):
        ds.create_microsoft_ad(
            Name="oneaz.example.com",
            Password=new_password(),
            VpcSettings={"VpcId": vpc, "SubnetIds": [subnet["SubnetId"], other["SubnetId"]]},
        )
    assert _directory_count(stack) == before
    ec2.delete_subnet(SubnetId=other["SubnetId"])


def test_bad_directory_name(stack: StackHandle) -> None:
    subnets = _default_subnets(stack)
    ds = stack.client("ds")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ds.create_microsoft_ad(
            Name="not a domain!",
            Password=new_password(),
            VpcSettings={
                "VpcId": subnets[0]["VpcId"],
                "SubnetIds": [s["SubnetId"] for s in subnets[:2]],
            },
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


@pytest.mark.parametrize("command", ["describe-db-instances", "describe-db-subnet-groups"])
def test_page_size_outside_what_rds_allows(stack: StackHandle, command: str) -> None:
    done = stack.aws("rds", command, "--max-records", "5", check=False)
    assert done.returncode != 0
    assert "InvalidParameterValue" in done.stderr
    assert "Invalid value 5 for MaxRecords. Must be between 20 and 100" in done.stderr
    # a page size RDS accepts is paged by Marker; here every group fits the first page
    pages = list(
        stack.client("rds")
        .get_paginator(command.replace("-", "_"))
        .paginate(PaginationConfig={"PageSize": 20})
    )
    assert pages and "Marker" not in pages[-1]


def test_wrong_secret_and_unknown_key(stack: StackHandle) -> None:
    sts = boto3.client(
        "sts",
        endpoint_url=stack.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="wrong",
    )
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sts.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    iam = boto3.client(
        "iam",
        endpoint_url=stack.url,
        region_name="us-east-1",
        aws_access_key_id="AKIANOTKNOWN",
        aws_secret_access_key="test",
    )
    with pytest.raises(botocore.exceptions.ClientError) as err:
        iam.list_roles()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_accounts_from_access_keys(stack: StackHandle) -> None:
    assert stack.aws("sts", "get-caller-identity")["Account"] == "111111111111"
    default = stack.client("sts", account="test").get_caller_identity()
    assert default["Account"] == "000000000000"  # the README's "test" / "test"


def test_role_that_does_not_trust_rds(stack: StackHandle, directory: dict[str, Any]) -> None:
    iam = stack.client("iam")
    untrusting = {
        **TRUST,
        "Statement": [
            {
                **TRUST["Statement"][0],  # type: ignore[index]
                "Principal": {"Service": "ec2.amazonaws.com"},
            }
        ],
    }
    iam.create_role(RoleName="not-for-rds", AssumeRolePolicyDocument=json.dumps(untrusting))
    iam.attach_role_policy(
        RoleName="not-for-rds",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonRDSDirectoryServiceAccess",
    )
    rds = stack.client("rds")
    for role in ("not-for-rds", "no-such-role"):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            rds.create_db_instance(
                DBInstanceIdentifier="badrole",
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                MasterUsername="master",
                MasterUserPassword=new_password(),
                Domain=directory["DirectoryId"],
                DomainIAMRoleName=role,
            )
        assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"
        assert "IAM role provided is not valid" in err.value.response["Error"]["Message"]
    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):
        rds.describe_db_instances(DBInstanceIdentifier="badrole")


def test_unknown_directory(stack: StackHandle, rds_role: str) -> None:
    rds = stack.client("rds")
    with pytest.raises(rds.exceptions.DomainNotFoundFault):
        rds.create_db_instance(
            DBInstanceIdentifier="nodomain",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="master",
            MasterUserPassword=new_password(),
            Domain="d-0000000000",
            DomainIAMRoleName=rds_role,
        )


def test_ds_data_needs_data_access(stack: StackHandle) -> None:
    dsd = stack.client("ds-data")
    with pytest.raises(dsd.exceptions.ResourceNotFoundException):
        dsd.list_users(DirectoryId="d-0000000000")


def _create_instance(stack: StackHandle, ident: str, *args: str) -> Any:
    return stack.aws(
        "rds",
        "create-db-instance",
        "--db-instance-identifier",
        ident,
        "--db-instance-class",
        "db.t3.micro",
        "--engine",
        "postgres",
        *args,
        inputs={"MasterUserPassword": new_password()},
        check=False,
    )


@pytest.mark.parametrize(
    "name, words",
    [
        ("rdsadmin", "MasterUsername rdsadmin cannot be used as it is a reserved word"),
        ("admin", "MasterUsername admin cannot be used as it is a reserved word"),
        ("user", "MasterUsername user cannot be used as it is a reserved word"),
        ("pg_dba", 'role names starting with "pg_" are reserved by the PostgreSQL engine'),
    ],
)
def test_master_usernames_rds_reserves(stack: StackHandle, name: str, words: str) -> None:
    done = _create_instance(stack, "reserved", "--master-username", name)
    assert done.returncode != 0
    assert "InvalidParameterValue" in done.stderr and words in done.stderr, done.stderr
    with pytest.raises(stack.client("rds").exceptions.DBInstanceNotFoundFault):
        stack.client("rds").describe_db_instances(DBInstanceIdentifier="reserved")


def test_self_managed_ad_parameters_are_refused_for_postgres(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> None:
    done = _create_instance(
        stack,
        "selfmanaged",
        "--master-username",
        "postgres",
        "--domain-fqdn",
        "corp.example.com",
        "--domain-ou",
        "OU=Servers,DC=corp,DC=example,DC=com",
        "--domain-dns-ips",
        "10.0.0.1",
        "10.0.0.2",
    )
    assert done.returncode != 0
    assert "InvalidParameterCombination" in done.stderr, done.stderr
    assert "DomainFqdn, DomainOu, DomainDnsIps can't be used with the postgres engine" in (
        done.stderr
    )
    with pytest.raises(stack.client("rds").exceptions.DBInstanceNotFoundFault):
        stack.client("rds").describe_db_instances(DBInstanceIdentifier="selfmanaged")


def test_a_role_for_a_newer_region_trusts_the_engine_principal(
    stack: StackHandle, directory: dict[str, Any]
) -> None:
    """Regions launched after il-central-1 need directoryservice-postgresql.rds.<region>:
    a role written that way is accepted."""
    trust = {
        **TRUST,
        "Statement": [
            {
                **TRUST["Statement"][0],  # type: ignore[index]
                "Principal": {
                    "Service": [
                        "rds.amazonaws.com",
                        "directoryservice-postgresql.rds.us-east-1.amazonaws.com",
                    ]
                },
            }
        ],
    }
    iam = stack.client("iam")
    iam.create_role(RoleName="regional-rds", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(
        RoleName="regional-rds",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonRDSDirectoryServiceAccess",
    )
    done = _create_instance(
        stack,
        "regional",
        "--master-username",
        "postgres",
        "--backup-retention-period",
        "0",
        "--domain",
        directory["DirectoryId"],
        "--domain-iam-role-name",
        "regional-rds",
    )
    assert done.returncode == 0, done.stderr
    rds = stack.client("rds")
    rds.delete_db_instance(DBInstanceIdentifier="regional", SkipFinalSnapshot=True)


@pytest.mark.parametrize(
    "args, code",
    [
        (["ds", "list-schema-extensions", "--directory-id", "d-1234567890"],
         "UnsupportedOperationException"),
        (["rds", "create-db-cluster", "--db-cluster-identifier", "c1", "--engine",
          "aurora-postgresql"], "InvalidAction"),
        (["ec2", "create-internet-gateway"], "UnsupportedOperation"),
    ],
)  # fmt: skip
def test_an_operation_pgrealm_does_not_offer(
    stack: StackHandle, args: list[str], code: str
) -> None:
    """The service's own error for it and a plain sentence: never a 501."""
    done = stack.aws(*args, check=False)
    assert done.returncode != 0
    assert f"({code})" in done.stderr and "pgrealm does not offer" in done.stderr, done.stderr
    assert "501" not in done.stderr
