"""Read replicas on real PostgreSQL, through the aws CLI: a replica of an instance joined
to the directory streams from it, inherits its domain (a Kerberos login of its own, to
its own endpoint, reads what was committed on the source), refuses writes, and once
promoted is a standalone instance that keeps its domain and takes writes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.conftest import REALM, joined_instance
from tests.acceptance.test_doctor import pgrealm
from tests.acceptance.test_seed_flow import kinit, new_directory_user, psql
from tests.acceptance.test_vpc_network import _allow, _peer, _route, _vpc
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

RHEA = f"rhea@{REALM}"
D_CIDR = "10.40.0.0/16"  # a VPC of this module's own


def _instance(stack: StackHandle, ident: str) -> dict[str, Any]:
    found = stack.aws("rds", "describe-db-instances", "--db-instance-identifier", ident)
    return dict(found["DBInstances"][0])


def _available(stack: StackHandle, ident: str, timeout: float = 240) -> dict[str, Any]:
    def ready() -> Any:
        inst = _instance(stack, ident)
        assert inst["DBInstanceStatus"] != "failed", inst
        return inst if inst["DBInstanceStatus"] == "available" else None

    return dict(stack.wait(f"{ident} to be available", ready, timeout=timeout))


def test_a_replica_serves_kerberos_reads_and_is_promoted(
    stack: StackHandle, directory: dict[str, Any], rds_role: str, kerberos: dict[str, str]
) -> None:
    source, master = joined_instance(stack, directory, rds_role, "replsrc", backups=1)
    as_master = {"PATH": "/usr/bin:/bin", "PGPASSWORD": master}
    made = psql(as_master, f"host={source} dbname=postgres user=master", f"""
        CREATE USER "{RHEA}" WITH LOGIN; GRANT rds_ad TO "{RHEA}";
        CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2), (3);
        GRANT SELECT ON orders TO "{RHEA}";""")  # fmt: skip
    assert made.returncode == 0, made.stderr
    _available(stack, "replsrc")  # its first automated backup done

    stack.aws("rds", "create-db-instance-read-replica", "--db-instance-identifier",
              "replsrc-r1", "--source-db-instance-identifier", "replsrc")  # fmt: skip
    replica = _available(stack, "replsrc-r1")
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == "replsrc"
    assert [m["Status"] for m in replica["DomainMemberships"]] == ["kerberos-enabled"]
    assert replica["StatusInfos"][0]["Status"] == "replicating"
    assert _instance(stack, "replsrc")["ReadReplicaDBInstanceIdentifiers"] == ["replsrc-r1"]
    endpoint = replica["Endpoint"]["Address"]
    assert endpoint != source

    # rhea, a directory user, logs in to the replica with Kerberos and reads the source's rows.
    password = new_directory_user(stack, directory["DirectoryId"], "rhea")
    assert kinit(kerberos, RHEA, password).returncode == 0
    on_replica = f"host={endpoint} dbname=postgres user={RHEA}"
    read = psql(kerberos, on_replica, "SELECT count(*), bool_and(gss_authenticated) FROM "
                "orders, pg_stat_gssapi WHERE pid = pg_backend_pid()")  # fmt: skip
    assert read.returncode == 0 and read.stdout.strip() == "3|t", read

    # What the source commits next streams to it; the replica itself is read-only.
    psql(as_master, f"host={source} dbname=postgres user=master", "INSERT INTO orders VALUES (4)")
    stack.wait(
        "row 4 on the replica",
        lambda: psql(kerberos, on_replica, "SELECT count(*) FROM orders").stdout.strip() == "4",
        timeout=30,
    )
    refused = psql(as_master, f"host={endpoint} dbname=postgres user=master",
                   "INSERT INTO orders VALUES (5)")  # fmt: skip
    assert "read-only transaction" in refused.stderr, refused

    # Its lag, as the source sees it, is in pgrealm status.
    stack.wait(
        "the replica's lag in pgrealm status",
        lambda: "read replica of replsrc, lag " in pgrealm(stack, stack.env, "status").stdout,
        timeout=60,
        every=1.0,
    )

    # Promoted, it takes writes, keeps its domain, and the source lists it no more.
    stack.aws("rds", "promote-read-replica", "--db-instance-identifier", "replsrc-r1")
    promoted = _available(stack, "replsrc-r1")
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert [m["Status"] for m in promoted["DomainMemberships"]] == ["kerberos-enabled"]
    wrote = psql(as_master, f"host={endpoint} dbname=postgres user=master",
                 "INSERT INTO orders VALUES (5); SELECT count(*) FROM orders")  # fmt: skip
    assert wrote.returncode == 0 and wrote.stdout.split()[-1] == "5", wrote
    assert _instance(stack, "replsrc")["ReadReplicaDBInstanceIdentifiers"] == []
    assert psql(kerberos, on_replica, "SELECT 1").stdout.strip() == "1"
    events = stack.aws("rds", "describe-events", "--source-type", "db-instance",
                       "--source-identifier", "replsrc-r1")["Events"]  # fmt: skip
    promoted_event = "Promoted Read Replica to a stand-alone database instance"
    assert promoted_event in [e["Message"] for e in events], events

    for ident in ("replsrc-r1", "replsrc"):
        stack.aws("rds", "delete-db-instance", "--db-instance-identifier", ident,
                  "--skip-final-snapshot")  # fmt: skip


def test_a_replica_needs_a_source_with_backups(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> None:
    joined_instance(stack, directory, rds_role, "nobackups")
    done = stack.aws("rds", "create-db-instance-read-replica", "--db-instance-identifier",
                     "nobackups-r1", "--source-db-instance-identifier", "nobackups",
                     check=False)  # fmt: skip
    assert "(InvalidDBInstanceState)" in done.stderr, done.stderr
    assert "Automated backups are not enabled" in done.stderr
    listed = stack.aws("rds", "describe-db-instances")["DBInstances"]
    assert "nobackups-r1" not in [i["DBInstanceIdentifier"] for i in listed]
    stack.aws("rds", "delete-db-instance", "--db-instance-identifier", "nobackups",
              "--skip-final-snapshot")  # fmt: skip


def test_a_replica_in_another_vpc_streams_over_the_peering(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> None:
    """A replica in a peered VPC: the routes both ways and the directory's group (for
    its join) are the user's work, as on AWS; replication itself needs no group rule."""
    source, master = joined_instance(stack, directory, rds_role, "xsrc", backups=1)
    as_master = {"PATH": "/usr/bin:/bin", "PGPASSWORD": master}
    made = psql(as_master, f"host={source} dbname=postgres user=master",
                "CREATE TABLE t (n int); INSERT INTO t VALUES (42)")  # fmt: skip
    assert made.returncode == 0, made.stderr
    vpc_a = directory["VpcSettings"]["VpcId"]
    vpc_d, subnets = _vpc(stack, D_CIDR)
    pcx = _peer(stack, vpc_d, vpc_a)
    _route(stack, vpc_d, "172.31.0.0/16", pcx)
    _route(stack, vpc_a, D_CIDR, pcx)
    rule = _allow(stack, directory["VpcSettings"]["SecurityGroupId"], D_CIDR)
    stack.client("rds").create_db_subnet_group(
        DBSubnetGroupName="vpc-d", DBSubnetGroupDescription="vpc-D", SubnetIds=subnets
    )
    _available(stack, "xsrc")
    stack.aws(
        "rds",
        "create-db-instance-read-replica",
        "--db-instance-identifier",
        "xsrc-r1",
        "--source-db-instance-identifier",
        "xsrc",
        "--db-subnet-group-name",
        "vpc-d",
    )
    replica = _available(stack, "xsrc-r1")
    assert replica["DBSubnetGroup"]["VpcId"] == vpc_d
    assert [m["Status"] for m in replica["DomainMemberships"]] == ["kerberos-enabled"]
    read = psql(as_master, f"host={replica['Endpoint']['Address']} dbname=postgres user=master",
                "SELECT n FROM t")  # fmt: skip
    assert read.stdout.strip() == "42", read
    for ident in ("xsrc-r1", "xsrc"):
        stack.aws("rds", "delete-db-instance", "--db-instance-identifier", ident,
                  "--skip-final-snapshot")  # fmt: skip
    stack.client("ec2").revoke_security_group_ingress(
        GroupId=directory["VpcSettings"]["SecurityGroupId"], IpPermissions=[rule]
    )
