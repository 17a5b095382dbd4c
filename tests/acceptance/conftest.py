"""Session-wide real components for the acceptance tests.

One stack (a real pgrealm server) and one directory (a real Samba AD domain, created
through the aws CLI) are shared by every test that only reads them; tests that break
or delete things make their own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.fixtures.secrets import ProcSampler, new_secret
from tests.fixtures.stack import StackHandle, running_stack

DOMAIN = "corp.example.com"
REALM = DOMAIN.upper()
ROLE = "rds-ad-role"
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
POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSDirectoryServiceAccess"


def new_password() -> str:
    """A password, registered so that the session checks it never leaks (fixtures/secrets)."""
    return new_secret()


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_process() -> Iterator[ProcSampler]:
    """For the whole session, no process shows a test's password in its command line or
    environment (sampled from /proc four times a second)."""
    sampler = ProcSampler()
    sampler.start()
    yield sampler
    sampler.stop()
    assert sampler.samples > 0
    assert not sampler.hits, sorted(sampler.hits)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[StackHandle]:
    with running_stack(keep=lambda: request.session.testsfailed > 0) as handle:
        yield handle


@pytest.fixture(scope="session")
def directory(stack: StackHandle) -> dict[str, Any]:
    """corp.example.com, created with the real aws CLI as the seed's step 1 does."""
    subnets = stack.aws("ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true")[
        "Subnets"
    ]
    vpc = subnets[0]["VpcId"]
    two = [s["SubnetId"] for s in subnets[:2]]
    out = stack.aws(
        "ds",
        "create-microsoft-ad",
        "--name",
        DOMAIN,
        "--short-name",
        "CORP",
        "--edition",
        "Standard",
        "--vpc-settings",
        json.dumps({"VpcId": vpc, "SubnetIds": two}),
        inputs={"Password": new_password()},
    )
    directory_id = out["DirectoryId"]

    def active() -> Any:
        d = stack.aws("ds", "describe-directories", "--directory-ids", directory_id)[
            "DirectoryDescriptions"
        ][0]
        assert d["Stage"] not in ("Failed",), d.get("StageReason")
        return d if d["Stage"] == "Active" else None

    desc: dict[str, Any] = stack.wait("the directory to be Active", active, timeout=240)
    stack.aws("ds", "enable-directory-data-access", "--directory-id", directory_id)
    return desc


@pytest.fixture(scope="session")
def rds_role(stack: StackHandle) -> str:
    """The seed's step 2: a role trusting RDS, with the AWS managed policy attached."""
    stack.aws(
        "iam",
        "create-role",
        "--role-name",
        ROLE,
        "--assume-role-policy-document",
        json.dumps(TRUST),
    )
    stack.aws("iam", "attach-role-policy", "--role-name", ROLE, "--policy-arn", POLICY_ARN)
    return ROLE


@pytest.fixture(scope="module")
def kerberos(
    tmp_path_factory: pytest.TempPathFactory, stack: StackHandle, directory: dict[str, Any]
) -> dict[str, str]:
    """A client environment of its own: krb5.conf naming the directory's DCs, a ccache."""
    tmp = tmp_path_factory.mktemp("client")
    conf = tmp / "krb5.conf"
    conf.write_text(render_krb5_conf(REALM, stack.kdcs(directory)))
    return {
        "KRB5_CONFIG": str(conf),
        "KRB5CCNAME": f"FILE:{tmp}/ccache",
        "PATH": os.environ["PATH"],
    }


def joined_instance(
    stack: StackHandle,
    directory: dict[str, Any],
    role: str,
    ident: str,
    backups: int = 0,
    multi_az: bool = False,
) -> tuple[str, str]:
    """A DB instance joined to ``directory`` over a subnet group of its own, once its
    membership is kerberos-enabled: (its endpoint, its master password). ``backups``:
    its BackupRetentionPeriod (none by default: they cost a base backup)."""
    rds = stack.client("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{ident}-subnets", DBSubnetGroupDescription=ident,
        SubnetIds=directory["VpcSettings"]["SubnetIds"],
    )  # fmt: skip
    master = new_password()
    rds.create_db_instance(
        DBInstanceIdentifier=ident, DBInstanceClass="db.t3.micro", Engine="postgres",
        MasterUsername="master", MasterUserPassword=master, DBSubnetGroupName=f"{ident}-subnets",
        BackupRetentionPeriod=backups, Domain=directory["DirectoryId"], DomainIAMRoleName=role,
        MultiAZ=multi_az,
    )  # fmt: skip

    def kerberos_enabled() -> Any:
        inst = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
        ready = inst["DBInstanceStatus"] == "available" and all(
            m["Status"] == "kerberos-enabled" for m in inst["DomainMemberships"]
        )
        return inst if ready else None

    inst = stack.wait(f"{ident} to be kerberos-enabled", kerberos_enabled, timeout=240)
    return str(inst["Endpoint"]["Address"]), master
