"""What an attacker on the machine, or another account, could reach: each a check on the
real stack (no secret leaks are checked for the whole session in conftest.py)."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.acceptance.test_seed_flow import new_instance
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

OTHER = "444444444444"  # an account that was given nothing


def _listeners(namespace: str | None = None) -> list[tuple[str, int, int]]:
    """(address, port, pid) of every listening TCP socket and bound UDP socket, in the
    machine's own network or in a named namespace."""
    argv = ["ss", "-ltnupH"]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        address, _, port = fields[4].rpartition(":")
        for pid in re.findall(r"pid=(\d+)", line):
            found.append((address.strip("[]"), int(port), int(pid)))
    return found


def _stack_pids(stack: StackHandle) -> set[int]:
    """The stack's server and every process of the sessions its supervisor started (each
    DC and postmaster leads a session of its own; samba rewrites its command line)."""
    from pgrealm.store import Store

    leaders = {int(d["pid"]) for d in Store(stack.home / "state.db").list("process") if d["pid"]}
    assert stack.proc is not None
    pids = {stack.proc.pid}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            session = int(stat.read_text().rsplit(")", 1)[1].split()[3])
        except (OSError, ValueError, IndexError):
            continue
        if session in leaders:
            pids.add(int(stat.parent.name))
    return pids


def test_servers_listen_only_inside_their_own_namespaces(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> None:
    """In the machine's own network the stack has its API on loopback and nothing else;
    each DC and instance listens inside its host's namespace, on its VPC address."""
    new_instance(stack, "listener", BackupRetentionPeriod=0)
    pids = _stack_pids(stack)
    ours = [(a, p) for a, p, pid in _listeners() if pid in pids]
    assert ours == [("127.0.0.1", stack.port)], ours
    hosts = stack.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
    assert hosts
    for eni in hosts:
        public = eni["Association"]["PublicIp"]
        assert ipaddress.ip_address(public) in ipaddress.ip_network(stack.block)
        namespace = stack.network().host_namespace(public)
        inside = {(a, p) for a, p, pid in _listeners(namespace) if pid in pids}
        assert inside, f"nothing listens in {namespace}"
        stray = {a for a, _ in inside} - {eni["PrivateIpAddress"], "127.0.0.1"}
        assert not stray, f"{namespace} listens on {stray}"
    stack.client("rds").delete_db_instance(DBInstanceIdentifier="listener", SkipFinalSnapshot=True)


def _refused(call: Any, code: str) -> None:
    with pytest.raises(ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == code


def test_another_account_can_neither_see_nor_change_what_it_was_not_given(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> None:
    inst, _ = new_instance(stack, "private", BackupRetentionPeriod=0)
    did = directory["DirectoryId"]
    ds, rds = stack.client("ds", account=OTHER), stack.client("rds", account=OTHER)
    data, iam = stack.client("ds-data", account=OTHER), stack.client("iam", account=OTHER)
    assert ds.describe_directories()["DirectoryDescriptions"] == []
    assert rds.describe_db_instances()["DBInstances"] == []
    _refused(lambda: ds.describe_directories(DirectoryIds=[did]), "EntityDoesNotExistException")
    _refused(lambda: ds.delete_directory(DirectoryId=did), "EntityDoesNotExistException")
    _refused(lambda: data.list_users(DirectoryId=did), "ResourceNotFoundException")
    _refused(
        lambda: rds.delete_db_instance(DBInstanceIdentifier="private", SkipFinalSnapshot=True),
        "DBInstanceNotFound",
    )
    _refused(
        lambda: rds.add_tags_to_resource(
            ResourceName=inst["DBInstanceArn"], Tags=[{"Key": "k", "Value": "v"}]
        ),
        "DBInstanceNotFound",
    )
    _refused(lambda: iam.get_role(RoleName=rds_role), "NoSuchEntity")
    _writes_refused_across_accounts(stack, did, inst)
    mine = stack.client("rds").describe_db_instances(DBInstanceIdentifier="private")
    assert mine["DBInstances"][0]["DBInstanceStatus"] == "available"
    assert "TagList" not in mine["DBInstances"][0] or mine["DBInstances"][0]["TagList"] == []
    stack.client("rds").delete_db_instance(DBInstanceIdentifier="private", SkipFinalSnapshot=True)


def _writes_refused_across_accounts(stack: StackHandle, did: str, inst: dict[str, Any]) -> None:
    """The other account's writes and reads of every other kind: directory users and
    passwords, snapshots, parameter groups, VPCs and groups, log groups."""
    mine = stack.client("rds")
    mine.create_db_parameter_group(
        DBParameterGroupName="private-pg", DBParameterGroupFamily="postgres15", Description="mine"
    )
    ds, rds = stack.client("ds", account=OTHER), stack.client("rds", account=OTHER)
    data, ec2 = stack.client("ds-data", account=OTHER), stack.client("ec2", account=OTHER)
    logs = stack.client("logs", account=OTHER)
    _refused(lambda: data.create_user(DirectoryId=did, SAMAccountName="intruder"),
             "ResourceNotFoundException")  # fmt: skip
    _refused(lambda: ds.reset_user_password(DirectoryId=did, UserName="Admin",
                                            NewPassword="Intruder-Pass-1"),
             "EntityDoesNotExistException")  # fmt: skip
    _refused(lambda: rds.create_db_snapshot(DBInstanceIdentifier="private",
                                            DBSnapshotIdentifier="stolen"),
             "DBInstanceNotFound")  # fmt: skip
    _refused(lambda: rds.modify_db_instance(DBInstanceIdentifier="private",
                                            MasterUserPassword="Intruder-Pass-1"),
             "DBInstanceNotFound")  # fmt: skip
    _refused(lambda: rds.reboot_db_instance(DBInstanceIdentifier="private"), "DBInstanceNotFound")
    _refused(lambda: rds.delete_db_parameter_group(DBParameterGroupName="private-pg"),
             "DBParameterGroupNotFound")  # fmt: skip
    group = inst["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    _refused(lambda: ec2.describe_security_groups(GroupIds=[group]), "InvalidGroup.NotFound")
    _refused(
        lambda: ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                }
            ],
        ),  # fmt: skip
        "InvalidGroup.NotFound",
    )
    vpc = inst["DBSubnetGroup"]["VpcId"]
    _refused(lambda: ec2.describe_vpcs(VpcIds=[vpc]), "InvalidVpcID.NotFound")
    _refused(lambda: ec2.delete_vpc(VpcId=vpc), "InvalidVpcID.NotFound")
    assert logs.describe_log_groups()["logGroups"] == []
    _refused(lambda: logs.get_log_events(logGroupName="/aws/rds/instance/private/postgresql",
                                         logStreamName="private"),
             "ResourceNotFoundException")  # fmt: skip
    assert mine.describe_db_parameter_groups(DBParameterGroupName="private-pg")["DBParameterGroups"]
    mine.delete_db_parameter_group(DBParameterGroupName="private-pg")
