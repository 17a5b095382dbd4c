"""Sharing the session directory with another account, through boto3 on a real stack.

The owner is the session ``directory`` (account 111111111111); the consumer is account
222222222222. The consumer accepts the share, peers its own VPC with the directory's
(the seed's "for another account, peer and share"), joins a DB instance to the directory
by its *own* directory id, and a directory user logs in to it with Kerberos. While that
instance is joined neither side can delete or unshare the directory; after it is gone
the consumer can leave the share. The owner directory is only read (never deleted).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.acceptance.conftest import POLICY_ARN, REALM, TRUST, new_password
from tests.acceptance.test_seed_flow import kinit, psql
from tests.fixtures.stack import TEST_ACCOUNT, StackHandle

pytestmark = pytest.mark.acceptance

OWNER = TEST_ACCOUNT
CONSUMER = "222222222222"
CONSUMER_CIDR = "10.50.0.0/16"
INSTANCE = "shareddb"


def describe_shares(stack: StackHandle, owner_id: str, account: str = OWNER) -> list[Any]:
    ds = stack.client("ds", account=account)
    shares: list[Any] = ds.describe_shared_directories(OwnerDirectoryId=owner_id)[
        "SharedDirectories"
    ]
    return shares


@pytest.fixture(scope="module")
def shared_id(stack: StackHandle, directory: dict[str, Any]) -> str:
    """The consumer's id for the shared directory, shared and accepted."""
    owner, consumer = stack.client("ds"), stack.client("ds", account=CONSUMER)
    target = {"Id": CONSUMER, "Type": "ACCOUNT"}
    sid: str = owner.share_directory(
        DirectoryId=directory["DirectoryId"],
        ShareMethod="HANDSHAKE",
        ShareTarget=target,
        ShareNotes="for the consumer's databases",
    )["SharedDirectoryId"]
    [pending] = describe_shares(stack, directory["DirectoryId"])
    assert pending["ShareStatus"] == "PendingAcceptance"
    assert pending["SharedAccountId"] == CONSUMER and pending["SharedDirectoryId"] == sid
    [view] = consumer.describe_directories()["DirectoryDescriptions"]
    assert view["DirectoryId"] == sid and view["ShareStatus"] == "PendingAcceptance"
    accepted = consumer.accept_shared_directory(SharedDirectoryId=sid)["SharedDirectory"]
    assert accepted["ShareStatus"] == "Shared"
    return sid


def test_errors_as_aws_answers_them(stack: StackHandle, directory: dict[str, Any]) -> None:
    ds = stack.client("ds")
    did = directory["DirectoryId"]
    with pytest.raises(ds.exceptions.InvalidTargetException):
        ds.share_directory(
            DirectoryId=did, ShareMethod="HANDSHAKE", ShareTarget={"Id": OWNER, "Type": "ACCOUNT"}
        )
    with pytest.raises(ds.exceptions.OrganizationsException):
        ds.share_directory(
            DirectoryId=did,
            ShareMethod="ORGANIZATIONS",
            ShareTarget={"Id": "333333333333", "Type": "ACCOUNT"},
        )
    with pytest.raises(ds.exceptions.EntityDoesNotExistException):
        ds.share_directory(
            DirectoryId="d-0000000000",
            ShareMethod="HANDSHAKE",
            ShareTarget={"Id": CONSUMER, "Type": "ACCOUNT"},
        )


def test_consumer_sees_a_shared_microsoft_ad(
    stack: StackHandle, directory: dict[str, Any], shared_id: str
) -> None:
    ds = stack.client("ds", account=CONSUMER)
    [view] = ds.describe_directories(DirectoryIds=[shared_id])["DirectoryDescriptions"]
    assert view["Type"] == "SharedMicrosoftAD" and view["ShareStatus"] == "Shared"
    assert view["ShareMethod"] == "HANDSHAKE" and view["Name"] == "corp.example.com"
    owner = view["OwnerDirectoryDescription"]
    assert owner["DirectoryId"] == directory["DirectoryId"] and owner["AccountId"] == OWNER
    assert owner["DnsIpAddrs"] == directory["DnsIpAddrs"]
    assert owner["VpcSettings"]["VpcId"] == directory["VpcSettings"]["VpcId"]
    with pytest.raises(ds.exceptions.DirectoryAlreadySharedException):
        ds.accept_shared_directory(SharedDirectoryId=shared_id)
    [mine] = describe_shares(stack, directory["DirectoryId"], account=CONSUMER)
    assert mine["ShareStatus"] == "Shared" and mine["OwnerAccountId"] == OWNER
    again = stack.client("ds")
    with pytest.raises(again.exceptions.DirectoryAlreadySharedException):
        again.share_directory(
            DirectoryId=directory["DirectoryId"],
            ShareMethod="HANDSHAKE",
            ShareTarget={"Id": CONSUMER, "Type": "ACCOUNT"},
        )


def wait_available(stack: StackHandle, ident: str, account: str) -> dict[str, Any]:
    rds = stack.client("rds", account=account)

    def ready() -> Any:
        inst = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
        assert inst["DBInstanceStatus"] != "failed", stack.log_tail()
        members_ok = all(m["Status"] == "kerberos-enabled" for m in inst["DomainMemberships"])
        return inst if inst["DBInstanceStatus"] == "available" and members_ok else None

    result: dict[str, Any] = stack.wait(f"{ident} to be available", ready, 120)
    return result


def consumer_network(stack: StackHandle, directory: dict[str, Any]) -> str:
    """The seed's step 4 across accounts: the consumer's VPC (10.50.0.0/16; its default VPC
    would overlap the owner's, and overlapping VPCs cannot peer), peered with the owner's,
    a route each way, and the controllers' group open to it. Its DB subnet group's name."""
    ec2, owner_ec2 = stack.client("ec2", account=CONSUMER), stack.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=CONSUMER_CIDR)["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]
        for cidr, zone in (("10.50.1.0/24", "us-east-1a"), ("10.50.2.0/24", "us-east-1b"))
    ]
    owner_vpc = directory["VpcSettings"]["VpcId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_id, PeerVpcId=owner_vpc, PeerOwnerId=OWNER)
    pcx_id = pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    owner_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    for client, vpc, cidr in (
        (ec2, vpc_id, "172.31.0.0/16"),
        (owner_ec2, owner_vpc, CONSUMER_CIDR),
    ):
        main = client.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"][0]
        client.create_route(
            RouteTableId=main["RouteTableId"],
            DestinationCidrBlock=cidr,
            VpcPeeringConnectionId=pcx_id,
        )
    owner_ec2.authorize_security_group_ingress(
        GroupId=directory["VpcSettings"]["SecurityGroupId"],
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": CONSUMER_CIDR}]}],
    )
    stack.client("rds", account=CONSUMER).create_db_subnet_group(
        DBSubnetGroupName="peered",
        DBSubnetGroupDescription="the consumer's VPC, peered with the directory's",
        SubnetIds=[s["SubnetId"] for s in subnets],
    )
    return "peered"


@pytest.fixture(scope="module")
def consumer_instance(
    stack: StackHandle, directory: dict[str, Any], shared_id: str
) -> dict[str, Any]:
    """A DB instance of the consumer in its own VPC, joined by the consumer's directory id."""
    subnet_group = consumer_network(stack, directory)
    iam = stack.client("iam", account=CONSUMER)
    iam.create_role(RoleName="rds-ad", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="rds-ad", PolicyArn=POLICY_ARN)
    password = new_password()
    stack.client("rds", account=CONSUMER).create_db_instance(
        DBInstanceIdentifier=INSTANCE,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="master",
        MasterUserPassword=password,
        AllocatedStorage=20,
        DBSubnetGroupName=subnet_group,
        Domain=shared_id,
        DomainIAMRoleName="rds-ad",
    )
    inst = wait_available(stack, INSTANCE, account=CONSUMER)
    inst["_master_password"] = password
    return inst


def test_consumer_instance_joins_and_kerberos_login_works(
    stack: StackHandle,
    directory: dict[str, Any],
    shared_id: str,
    consumer_instance: dict[str, Any],
    tmp_path: Any,
) -> None:
    member = consumer_instance["DomainMemberships"][0]
    assert member["Domain"] == shared_id and member["FQDN"] == "corp.example.com"
    assert member["Status"] == "kerberos-enabled"
    did = directory["DirectoryId"]
    pw = new_password()
    stack.client("ds-data").create_user(DirectoryId=did, SAMAccountName="dana")
    stack.client("ds").reset_user_password(DirectoryId=did, UserName="dana", NewPassword=pw)
    host = consumer_instance["Endpoint"]["Address"]
    master = {"PATH": os.environ["PATH"], "PGPASSWORD": consumer_instance["_master_password"]}
    sql = f'CREATE USER "dana@{REALM}" WITH LOGIN; GRANT rds_ad TO "dana@{REALM}";'
    done = psql(master, f"host={host} port=5432 dbname=postgres user=master", sql)
    assert done.returncode == 0, done.stderr
    conf = tmp_path / "krb5.conf"
    conf.write_text(render_krb5_conf(REALM, stack.kdcs(directory)))
    env = {
        "KRB5_CONFIG": str(conf),
        "KRB5CCNAME": f"FILE:{tmp_path}/ccache",
        "PATH": os.environ["PATH"],
    }
    assert kinit(env, f"dana@{REALM}", pw).returncode == 0
    login = psql(
        env,
        f"host={host} port=5432 dbname=postgres user=dana@{REALM}",
        "SELECT current_user, gss_authenticated FROM pg_stat_gssapi WHERE pid = pg_backend_pid()",
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"dana@{REALM}|t"


def test_joined_directory_cannot_be_deleted_or_unshared_until_the_instance_goes(
    stack: StackHandle,
    directory: dict[str, Any],
    shared_id: str,
    consumer_instance: dict[str, Any],
) -> None:
    owner, consumer = stack.client("ds"), stack.client("ds", account=CONSUMER)
    did = directory["DirectoryId"]
    refusals = (
        lambda: owner.delete_directory(DirectoryId=did),
        lambda: owner.unshare_directory(
            DirectoryId=did, UnshareTarget={"Id": CONSUMER, "Type": "ACCOUNT"}
        ),
        lambda: consumer.delete_directory(DirectoryId=shared_id),
    )
    for refused in refusals:
        with pytest.raises(owner.exceptions.ClientException) as exc:
            refused()
        assert "authorized applications" in str(exc.value) and INSTANCE in str(exc.value)

    rds = stack.client("rds", account=CONSUMER)
    rds.delete_db_instance(DBInstanceIdentifier=INSTANCE, SkipFinalSnapshot=True)

    def gone() -> bool:
        try:
            rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)
        except rds.exceptions.DBInstanceNotFoundFault:
            return True
        return False

    stack.wait("the consumer's instance to be deleted", gone, 60)
    # The consumer leaves the share: DeleteDirectory on its shared directory.
    assert consumer.delete_directory(DirectoryId=shared_id)["DirectoryId"] == shared_id
    assert consumer.describe_directories()["DirectoryDescriptions"] == []
    assert describe_shares(stack, did) == []
    owner_view = owner.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]
    assert owner_view["Stage"] == "Active"


def test_reject_and_unshare(stack: StackHandle, directory: dict[str, Any]) -> None:
    owner, other = stack.client("ds"), stack.client("ds", account="333333333333")
    did = directory["DirectoryId"]
    target = {"Id": "333333333333", "Type": "ACCOUNT"}
    sid = owner.share_directory(DirectoryId=did, ShareMethod="HANDSHAKE", ShareTarget=target)[
        "SharedDirectoryId"
    ]
    other.reject_shared_directory(SharedDirectoryId=sid)
    assert [s["ShareStatus"] for s in describe_shares(stack, did)] == ["Rejected"]
    assert other.describe_directories()["DirectoryDescriptions"] == []
    owner.share_directory(DirectoryId=did, ShareMethod="HANDSHAKE", ShareTarget=target)
    assert [s["ShareStatus"] for s in describe_shares(stack, did)] == ["PendingAcceptance"]
    out = owner.unshare_directory(DirectoryId=did, UnshareTarget=target)
    assert out["SharedDirectoryId"] == sid
    assert describe_shares(stack, did) == []
    assert other.describe_directories()["DirectoryDescriptions"] == []
