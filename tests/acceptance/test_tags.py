"""Tags by resource, as Terraform's AWS provider reads and writes them after every create:
RDS (by ARN), Directory Service (by directory id), and the IAM calls it makes before it
deletes a role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.test_seed_flow import new_instance
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def _keys(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def test_rds_tags_by_arn(stack: StackHandle, directory: dict[str, Any]) -> None:
    rds = stack.client("rds")
    group = rds.create_db_subnet_group(
        DBSubnetGroupName="tagged-subnets",
        DBSubnetGroupDescription="tags",
        SubnetIds=directory["VpcSettings"]["SubnetIds"],
        Tags=[{"Key": "team", "Value": "db"}],
    )["DBSubnetGroup"]
    arn = group["DBSubnetGroupArn"]
    assert "_tags" not in group
    assert _keys(rds.list_tags_for_resource(ResourceName=arn)["TagList"]) == {"team": "db"}

    inst, _ = new_instance(
        stack,
        "tagged",
        DBSubnetGroupName="tagged-subnets",
        BackupRetentionPeriod=0,
        Tags=[{"Key": "env", "Value": "test"}],
    )
    db_arn = inst["DBInstanceArn"]
    stack.aws("rds", "add-tags-to-resource", "--resource-name", db_arn,
              "--tags", "Key=env,Value=prod", "Key=owner,Value=alice")  # fmt: skip
    listed = stack.aws("rds", "list-tags-for-resource", "--resource-name", db_arn)["TagList"]
    assert _keys(listed) == {"env": "prod", "owner": "alice"}
    rds.remove_tags_from_resource(ResourceName=db_arn, TagKeys=["owner"])
    shown = rds.describe_db_instances(DBInstanceIdentifier="tagged")["DBInstances"][0]
    assert _keys(shown["TagList"]) == {"env": "prod"}
    # describe filters, through the aws CLI: by ARN it finds this one, by engine none
    by_arn = stack.aws("rds", "describe-db-instances", "--filters",
                       f"Name=db-instance-id,Values={db_arn}")["DBInstances"]  # fmt: skip
    assert [i["DBInstanceIdentifier"] for i in by_arn] == ["tagged"]
    other_engine = stack.aws("rds", "describe-db-instances", "--filters",
                             "Name=engine,Values=mysql")["DBInstances"]  # fmt: skip
    assert other_engine == []

    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):
        rds.list_tags_for_resource(ResourceName=db_arn.replace(":tagged", ":nosuch"))
    with pytest.raises(rds.exceptions.ClientError) as bad:
        rds.list_tags_for_resource(ResourceName="not-an-arn")
    assert bad.value.response["Error"]["Code"] == "InvalidParameterValue"
    rds.delete_db_instance(DBInstanceIdentifier="tagged", SkipFinalSnapshot=True)


def test_directory_tags(stack: StackHandle, directory: dict[str, Any]) -> None:
    ds = stack.client("ds")
    did = directory["DirectoryId"]
    ds.add_tags_to_resource(ResourceId=did, Tags=[{"Key": "a", "Value": "1"}])
    stack.aws("ds", "add-tags-to-resource", "--resource-id", did, "--tags", "Key=b,Value=2")
    assert _keys(ds.list_tags_for_resource(ResourceId=did)["Tags"]) == {"a": "1", "b": "2"}
    ds.remove_tags_from_resource(ResourceId=did, TagKeys=["a", "b"])
    assert ds.list_tags_for_resource(ResourceId=did)["Tags"] == []
    with pytest.raises(ds.exceptions.EntityDoesNotExistException):
        ds.list_tags_for_resource(ResourceId="d-0000000000")


def test_a_role_is_in_no_instance_profile(stack: StackHandle, rds_role: str) -> None:
    out = stack.aws("iam", "list-instance-profiles-for-role", "--role-name", rds_role)
    assert out["InstanceProfiles"] == []
    iam = stack.client("iam")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.list_instance_profiles_for_role(RoleName="nosuch")
