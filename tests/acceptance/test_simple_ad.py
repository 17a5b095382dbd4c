"""Simple AD through the aws CLI on real Samba: ``ds create-directory`` makes two DCs laid
out as Simple AD (its administrator is Administrator, with the password given), which
answer Kerberos; RDS refuses it for Kerberos authentication, as it refuses it on AWS;
update-directory-setup takes it from Small to Large (its DCs restart by turns, Kerberos
keeps answering); deleting it gives back its addresses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.acceptance.conftest import new_password
from tests.acceptance.test_seed_flow import kinit
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

DOMAIN = "simple.example.com"
REALM = DOMAIN.upper()


def _create(stack: StackHandle, password: str) -> str:
    subnets = stack.aws("ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true")[
        "Subnets"
    ]
    settings = {"VpcId": subnets[0]["VpcId"], "SubnetIds": [s["SubnetId"] for s in subnets[:2]]}
    out = stack.aws(
        "ds", "create-directory", "--name", DOMAIN, "--short-name", "SIMPLE", "--size", "Small",
        "--vpc-settings", json.dumps(settings), inputs={"Password": password},
    )  # fmt: skip
    return str(out["DirectoryId"])


def _described(stack: StackHandle, directory_id: str) -> dict[str, Any]:
    return dict(
        stack.aws("ds", "describe-directories", "--directory-ids", directory_id)[
            "DirectoryDescriptions"
        ][0]
    )


def test_a_simple_ad_serves_kerberos_and_rds_refuses_it(
    stack: StackHandle, rds_role: str, tmp_path: Path
) -> None:
    password = new_password()
    directory_id = _create(stack, password)

    def active() -> Any:
        d = _described(stack, directory_id)
        assert d["Stage"] != "Failed", d.get("StageReason")
        return d if d["Stage"] == "Active" else None

    desc = stack.wait("the Simple AD to be Active", active, timeout=240)
    assert (desc["Type"], desc["Size"]) == ("SimpleAD", "Small") and "Edition" not in desc
    limits = stack.aws("ds", "get-directory-limits")["DirectoryLimits"]
    assert limits["CloudOnlyDirectoriesCurrentCount"] == 1

    # Its administrator is Administrator, with the password given; reset-user-password works.
    conf = tmp_path / "krb5.conf"
    conf.write_text(render_krb5_conf(REALM, stack.kdcs(desc)))
    env = {"KRB5_CONFIG": str(conf), "KRB5CCNAME": f"FILE:{tmp_path}/cc", "PATH": "/usr/bin:/bin"}
    got = kinit(env, f"Administrator@{REALM}", password)
    assert got.returncode == 0, got.stderr
    renewed = new_password()
    reset = {"DirectoryId": directory_id, "UserName": "Administrator", "NewPassword": renewed}
    stack.aws("ds", "reset-user-password", inputs=reset)
    assert kinit(env, f"Administrator@{REALM}", renewed).returncode == 0

    # RDS joins only AWS Managed Microsoft AD; nothing is created.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        stack.client("rds").create_db_instance(
            DBInstanceIdentifier="simplead-db", DBInstanceClass="db.t3.micro",
            Engine="postgres", MasterUsername="master", MasterUserPassword=new_password(),
            Domain=directory_id, DomainIAMRoleName=rds_role,
        )  # fmt: skip
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterCombination" and "Simple AD" in error["Message"]
    instances = stack.client("rds").describe_db_instances()["DBInstances"]
    assert "simplead-db" not in [i["DBInstanceIdentifier"] for i in instances]

    # It grows from Small to Large: describe-update-directory shows the activity end.
    grow = ["update-directory-setup", "--directory-id", directory_id, "--update-type"]
    stack.aws("ds", *grow, "SIZE", "--directory-size-update-settings", "DirectorySize=Large")

    def updated() -> Any:
        [activity] = stack.aws("ds", "describe-update-directory", "--directory-id", directory_id,
                               "--update-type", "SIZE")["UpdateActivities"]  # fmt: skip
        return activity if activity["Status"] == "Updated" else None

    stack.wait("the Simple AD to be Large", updated, timeout=240)
    desc = _described(stack, directory_id)
    assert (desc["Size"], desc["Stage"]) == ("Large", "Active")
    assert kinit(env, f"Administrator@{REALM}", renewed).returncode == 0
    refused_os = stack.aws("ds", *grow, "OS", "--os-update-settings", "OSVersion=SERVER_2019",
                           check=False)  # fmt: skip
    assert "(UnsupportedOperationException)" in refused_os.stderr, refused_os.stderr

    # Deleting it gives back its DCs' addresses.
    stack.aws("ds", "delete-directory", "--directory-id", directory_id)

    def gone() -> bool:
        done = stack.aws("ds", "describe-directories", "--directory-ids", directory_id, check=False)
        return done.returncode != 0 and "EntityDoesNotExistException" in done.stderr

    stack.wait("the Simple AD to be deleted", gone, timeout=240)
    interfaces = stack.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
    assert not [i for i in interfaces if directory_id in (i.get("Description") or "")]
