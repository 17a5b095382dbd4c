"""IamService against a real Store: roles, policies, and RDS's directory role check."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import botocore.session
import pytest

from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.services.iam import IamService
from pgrealm.services.iam.documents import action_allowed, trusted_services
from pgrealm.store import Store

ACCOUNT = "111122223333"
RDS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSDirectoryServiceAccess"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["rds.amazonaws.com", "directoryservice.rds.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}
DS_PERMS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Action": [
                "ds:DescribeDirectories",
                "ds:AuthorizeApplication",
                "ds:UnauthorizeApplication",
                "ds:GetAuthorizedApplicationDetails",
            ],
            "Effect": "Allow",
            "Resource": "*",
        }
    ],
}


@pytest.fixture
def iam(tmp_path: Path) -> IamService:
    return IamService(Store(tmp_path / "state.db"), {})


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(account_id=ACCOUNT, region="us-east-1", request_id="r1", service="iam")


def make_role(
    iam: IamService, ctx: RequestContext, name: str = "rds-ad", trust: Any = TRUST, **extra: Any
) -> dict[str, Any]:
    out = iam.create_role(
        ctx, {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(trust), **extra}
    )
    role: dict[str, Any] = out["Role"]
    return role


def test_create_and_get_role(iam: IamService, ctx: RequestContext) -> None:
    role = make_role(iam, ctx, Path="/service/", Description="for RDS")
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service/rds-ad"
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21
    assert role["CreateDate"].tzinfo is not None
    got = iam.get_role(ctx, {"RoleName": "RDS-AD"})["Role"]  # names ignore case
    assert got["RoleId"] == role["RoleId"]
    assert got["MaxSessionDuration"] == 3600
    assert json.loads(unquote(got["AssumeRolePolicyDocument"])) == TRUST


def test_output_matches_botocore_shape(iam: IamService, ctx: RequestContext) -> None:
    model = botocore.session.get_session().get_service_model("iam")
    members = set(model.shape_for("Role").members)
    role = iam.get_role(ctx, {"RoleName": make_role(iam, ctx)["RoleName"]})["Role"]
    assert set(role) <= members


def test_url_encoded_trust_policy_is_decoded(iam: IamService, ctx: RequestContext) -> None:
    iam.create_role(
        ctx,
        {
            "RoleName": "enc",
            "AssumeRolePolicyDocument": quote(json.dumps(TRUST)),
        },
    )
    assert iam.check_rds_directory_role(ACCOUNT, "enc") is not None  # trusts, lacks perms
    role = iam.get_role(ctx, {"RoleName": "enc"})["Role"]
    assert json.loads(unquote(role["AssumeRolePolicyDocument"])) == TRUST


def test_duplicate_role(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx)
    with pytest.raises(ServiceError) as err:
        make_role(iam, ctx, name="Rds-Ad")
    assert err.value.shape == "EntityAlreadyExistsException"


@pytest.mark.parametrize(
    "doc, message",
    [
        ("{not json", "This policy contains invalid Json"),
        # The seed's example trust policy, verbatim: it is not JSON.
        ('{"Statement": [{"Effect:" "Allow"}]}', "This policy contains invalid Json"),
        ('{"Version": "2012-10-17"}', "Syntax errors in policy."),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}',
            "Missing required field Principal",
        ),
    ],
)
def test_malformed_trust(iam: IamService, ctx: RequestContext, doc: str, message: str) -> None:
    with pytest.raises(ServiceError) as err:
        iam.create_role(ctx, {"RoleName": "bad", "AssumeRolePolicyDocument": doc})
    assert err.value.shape == "MalformedPolicyDocumentException"
    assert err.value.message == message


def test_get_missing_role(iam: IamService, ctx: RequestContext) -> None:
    with pytest.raises(ServiceError) as err:
        iam.get_role(ctx, {"RoleName": "nope"})
    assert err.value.shape == "NoSuchEntityException"
    assert err.value.message == "The role with name nope cannot be found."


def test_list_roles_pagination(iam: IamService, ctx: RequestContext) -> None:
    for n in range(5):
        make_role(iam, ctx, name=f"r{n}")
    first = iam.list_roles(ctx, {"MaxItems": 2})
    assert [r["RoleName"] for r in first["Roles"]] == ["r0", "r1"]
    assert first["IsTruncated"] is True
    rest = iam.list_roles(ctx, {"Marker": first["Marker"], "MaxItems": 10})
    assert [r["RoleName"] for r in rest["Roles"]] == ["r2", "r3", "r4"]
    assert rest["IsTruncated"] is False and "Marker" not in rest


def test_accounts_are_separate(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx)
    other = RequestContext(account_id="999988887777", region="eu-west-1", request_id="r2")
    assert iam.list_roles(other, {})["Roles"] == []


def test_attach_requires_existing_policy(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx)
    with pytest.raises(ServiceError) as err:
        iam.attach_role_policy(
            ctx, {"RoleName": "rds-ad", "PolicyArn": "arn:aws:iam::aws:policy/NoSuchPolicy"}
        )
    assert err.value.shape == "NoSuchEntityException"


def test_rds_role_with_managed_policy(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx)
    assert "does not allow" in (iam.check_rds_directory_role(ACCOUNT, "rds-ad") or "")
    iam.attach_role_policy(ctx, {"RoleName": "rds-ad", "PolicyArn": RDS_POLICY})
    assert iam.check_rds_directory_role(ACCOUNT, "rds-ad") is None
    attached = iam.list_attached_role_policies(ctx, {"RoleName": "rds-ad"})
    assert attached["AttachedPolicies"] == [
        {"PolicyName": "AmazonRDSDirectoryServiceAccess", "PolicyArn": RDS_POLICY}
    ]
    with pytest.raises(ServiceError) as err:
        iam.delete_role(ctx, {"RoleName": "rds-ad"})
    assert err.value.shape == "DeleteConflictException"
    iam.detach_role_policy(ctx, {"RoleName": "rds-ad", "PolicyArn": RDS_POLICY})
    iam.delete_role(ctx, {"RoleName": "rds-ad"})
    assert iam.check_rds_directory_role(ACCOUNT, "rds-ad") == "IAM role rds-ad does not exist."


def test_rds_role_with_inline_policy(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx)
    iam.put_role_policy(
        ctx, {"RoleName": "rds-ad", "PolicyName": "ds", "PolicyDocument": json.dumps(DS_PERMS)}
    )
    assert iam.check_rds_directory_role(ACCOUNT, "rds-ad") is None
    assert iam.list_role_policies(ctx, {"RoleName": "rds-ad"})["PolicyNames"] == ["ds"]
    got = iam.get_role_policy(ctx, {"RoleName": "rds-ad", "PolicyName": "ds"})
    assert json.loads(unquote(got["PolicyDocument"])) == DS_PERMS
    iam.delete_role_policy(ctx, {"RoleName": "rds-ad", "PolicyName": "ds"})
    assert iam.check_rds_directory_role(ACCOUNT, "rds-ad") is not None


def test_rds_role_with_wildcards_and_deny(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx)
    wide = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ds:*", "Resource": "*"}],
    }
    iam.put_role_policy(
        ctx, {"RoleName": "rds-ad", "PolicyName": "wide", "PolicyDocument": json.dumps(wide)}
    )
    assert iam.check_rds_directory_role(ACCOUNT, "rds-ad") is None
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "ds:AuthorizeApplication", "Resource": "*"}],
    }
    iam.put_role_policy(
        ctx, {"RoleName": "rds-ad", "PolicyName": "deny", "PolicyDocument": json.dumps(deny)}
    )
    reason = iam.check_rds_directory_role(ACCOUNT, "rds-ad")
    assert reason is not None and "ds:AuthorizeApplication" in reason


def test_rds_role_trusting_only_rds(iam: IamService, ctx: RequestContext) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "rds.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    make_role(iam, ctx, trust=trust)
    iam.attach_role_policy(ctx, {"RoleName": "rds-ad", "PolicyArn": RDS_POLICY})
    reason = iam.check_rds_directory_role(ACCOUNT, "rds-ad")
    assert reason is not None and "directoryservice.rds.amazonaws.com" in reason


def test_customer_managed_policy(iam: IamService, ctx: RequestContext) -> None:
    policy = iam.create_policy(
        ctx, {"PolicyName": "ds-access", "PolicyDocument": json.dumps(DS_PERMS)}
    )["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/ds-access"
    make_role(iam, ctx)
    iam.attach_role_policy(ctx, {"RoleName": "rds-ad", "PolicyArn": arn})
    assert iam.check_rds_directory_role(ACCOUNT, "rds-ad") is None
    assert iam.get_policy(ctx, {"PolicyArn": arn})["Policy"]["AttachmentCount"] == 1
    version = iam.get_policy_version(ctx, {"PolicyArn": arn, "VersionId": "v1"})
    assert json.loads(unquote(version["PolicyVersion"]["Document"])) == DS_PERMS
    with pytest.raises(ServiceError) as err:
        iam.delete_policy(ctx, {"PolicyArn": arn})
    assert err.value.shape == "DeleteConflictException"
    iam.detach_role_policy(ctx, {"RoleName": "rds-ad", "PolicyArn": arn})
    iam.delete_policy(ctx, {"PolicyArn": arn})
    with pytest.raises(ServiceError):
        iam.get_policy(ctx, {"PolicyArn": arn})


def test_list_policies_scope(iam: IamService, ctx: RequestContext) -> None:
    iam.create_policy(ctx, {"PolicyName": "mine", "PolicyDocument": json.dumps(DS_PERMS)})
    local = iam.list_policies(ctx, {"Scope": "Local"})["Policies"]
    assert [p["PolicyName"] for p in local] == ["mine"]
    aws = iam.list_policies(ctx, {"Scope": "AWS"})["Policies"]
    assert "AmazonRDSDirectoryServiceAccess" in {p["PolicyName"] for p in aws}
    assert "mine" not in {p["PolicyName"] for p in aws}


def test_managed_policy_document(iam: IamService, ctx: RequestContext) -> None:
    policy = iam.get_policy(ctx, {"PolicyArn": RDS_POLICY})["Policy"]
    assert policy["Path"] == "/service-role/"
    version = iam.get_policy_version(
        ctx, {"PolicyArn": RDS_POLICY, "VersionId": policy["DefaultVersionId"]}
    )["PolicyVersion"]
    assert json.loads(unquote(version["Document"])) == DS_PERMS


def test_identity_policy_rejects_principal(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx)
    with pytest.raises(ServiceError) as err:
        iam.put_role_policy(
            ctx, {"RoleName": "rds-ad", "PolicyName": "p", "PolicyDocument": json.dumps(TRUST)}
        )
    assert err.value.shape == "MalformedPolicyDocumentException"


def test_update_role_and_tags(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx, Tags=[{"Key": "team", "Value": "db"}])
    iam.update_role(ctx, {"RoleName": "rds-ad", "Description": "d", "MaxSessionDuration": 7200})
    iam.tag_role(ctx, {"RoleName": "rds-ad", "Tags": [{"Key": "env", "Value": "dev"}]})
    iam.untag_role(ctx, {"RoleName": "rds-ad", "TagKeys": ["team"]})
    role = iam.get_role(ctx, {"RoleName": "rds-ad"})["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("d", 7200)
    assert iam.list_role_tags(ctx, {"RoleName": "rds-ad"})["Tags"] == [
        {"Key": "env", "Value": "dev"}
    ]


def test_concurrent_create_role_makes_one(iam: IamService, ctx: RequestContext) -> None:
    results: list[str] = []

    def create() -> None:
        try:
            make_role(iam, ctx, name="race")
            results.append("ok")
        except ServiceError as exc:
            results.append(exc.shape)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["EntityAlreadyExistsException"] * 3 + ["ok"]


def test_evaluator_edges() -> None:
    assert action_allowed(
        [{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}],
        "ds:DescribeDirectories",
    )
    assert not action_allowed(
        [
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ds:Describe*",
                        "Resource": "arn:aws:ds:*:*:directory/*",
                    }
                ]
            }
        ],
        "ds:DescribeDirectories",
    )
    assert action_allowed(
        [{"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}],
        "DS:describeDirectories",
    )
    assert trusted_services(
        {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:*"}]}
    ) == {"*"}


def _trusting(*services: str) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": {"Service": list(services)}}
    return {"Version": "2012-10-17", "Statement": [{**statement, "Action": "sts:AssumeRole"}]}


@pytest.mark.parametrize(
    "principal",
    [
        "directoryservice.rds.af-south-1.amazonaws.com",
        "directoryservice-postgresql.rds.af-south-1.amazonaws.com",
    ],
)
def test_rds_role_trusting_a_regional_principal(
    iam: IamService, ctx: RequestContext, principal: str
) -> None:
    """Opt-in and newer Regions need the regional or the engine's own principal."""
    make_role(iam, ctx, trust=_trusting("rds.amazonaws.com", principal))
    iam.attach_role_policy(ctx, {"RoleName": "rds-ad", "PolicyArn": RDS_POLICY})
    assert iam.check_rds_directory_role(ACCOUNT, "rds-ad", "af-south-1") is None
    # Another Region's principal is no use here.
    assert iam.check_rds_directory_role(ACCOUNT, "rds-ad", "eu-west-1") is not None


def test_rds_role_trusting_an_unrelated_service(iam: IamService, ctx: RequestContext) -> None:
    make_role(iam, ctx, trust=_trusting("ec2.amazonaws.com"))
    iam.attach_role_policy(ctx, {"RoleName": "rds-ad", "PolicyArn": RDS_POLICY})
    reason = iam.check_rds_directory_role(ACCOUNT, "rds-ad")
    assert reason is not None and "rds.amazonaws.com" in reason
