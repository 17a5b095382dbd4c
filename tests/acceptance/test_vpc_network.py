"""Step 4 for real: VPCs are network namespaces, and security groups, route tables,
peering and network ACLs decide what reaches what, as on AWS.

The session's directory lives in the default VPC (vpc-A, 172.31.0.0/16). Here a DB
instance joins it from vpc-B (10.20.0.0/16): the join fails, naming what is missing,
until the VPCs are peered, both sides route to each other and the controllers' group
lets vpc-B in; then ``modify-db-instance --domain`` retries it. A client in a third VPC
(10.30.0.0/16, through ``pgrealm vpc exec``) times out until it too is allowed.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.acceptance.conftest import REALM, new_password
from tests.acceptance.test_seed_flow import kinit, new_directory_user, psql
from tests.fixtures.stack import ROOT, StackHandle

pytestmark = pytest.mark.acceptance

B_CIDR, C_CIDR = "10.20.0.0/16", "10.30.0.0/16"


def _vpc(stack: StackHandle, cidr: str) -> tuple[str, list[str]]:
    ec2 = stack.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    base = cidr.split(".")
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"{base[0]}.{base[1]}.{n}.0/24", AvailabilityZone=zone
        )["Subnet"]["SubnetId"]
        for n, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]
    return vpc_id, subnets


def _peer(stack: StackHandle, one: str, other: str) -> str:
    ec2 = stack.client("ec2")
    pcx = ec2.create_vpc_peering_connection(VpcId=one, PeerVpcId=other)["VpcPeeringConnection"]
    pcx_id = pcx["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    return str(pcx_id)


def _route(stack: StackHandle, vpc_id: str, cidr: str, pcx_id: str) -> None:
    ec2 = stack.client("ec2")
    main = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]
    ec2.create_route(
        RouteTableId=main["RouteTableId"], DestinationCidrBlock=cidr, VpcPeeringConnectionId=pcx_id
    )


def _allow(stack: StackHandle, group_id: str, cidr: str, port: int = -1) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": cidr}]}
    if port >= 0:
        perm = {
            "IpProtocol": "tcp",
            "FromPort": port,
            "ToPort": port,
            "IpRanges": [{"CidrIp": cidr}],
        }
    stack.client("ec2").authorize_security_group_ingress(GroupId=group_id, IpPermissions=[perm])
    return perm


def _membership(stack: StackHandle, ident: str, wanted: set[str]) -> dict[str, Any]:
    rds = stack.client("rds")

    def settled() -> Any:
        inst = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
        member = inst["DomainMemberships"][0]
        done = inst["DBInstanceStatus"] == "available" and member["Status"] in wanted
        return inst if done else None

    return dict(stack.wait(f"{ident}'s membership to be {wanted}", settled, timeout=240))


def _doctor_join(stack: StackHandle, ident: str) -> dict[str, Any]:
    """The doctor's join finding for ``ident``, from the real CLI."""
    done = subprocess.run(
        [sys.executable, "-m", "pgrealm", "client", "doctor", ident, "--user",
         f"nobody@{REALM}", "--json", "--endpoint-url", stack.url],
        env={**stack.env, "AWS_ACCESS_KEY_ID": stack.account},
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    findings = json.loads(done.stdout)["findings"]
    return dict(next(f for f in findings if f["check"] == "join"))


def _in_vpc(
    stack: StackHandle, vpc_id: str, argv: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``pgrealm vpc exec``: ``argv`` run as a host in ``vpc_id``."""
    return subprocess.run(
        [sys.executable, "-m", "pgrealm", "vpc", "exec", vpc_id, "--", *argv],
        env={**stack.env, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


# Connect once to argv[1]:5432; print the connection's retransmissions (tcp_info's
# tcpi_total_retrans: eight one-byte fields, then 32-bit ones, this the 24th).
_RETRANSMITS = """
import socket, struct, sys
sock = socket.create_connection((sys.argv[1], 5432), timeout=5)
info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
print(struct.unpack_from("I", info, 8 + 4 * 23)[0])
"""


@pytest.fixture(scope="module")
def network(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> Iterator[dict[str, Any]]:
    vpc_b, subnets_b = _vpc(stack, B_CIDR)
    vpc_c, _ = _vpc(stack, C_CIDR)
    rds = stack.client("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName="vpc-b", DBSubnetGroupDescription="vpc-B", SubnetIds=subnets_b
    )
    password = new_password()
    rds.create_db_instance(
        DBInstanceIdentifier="crossdb",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="master",
        MasterUserPassword=password,
        DBSubnetGroupName="vpc-b",
        BackupRetentionPeriod=0,
        Domain=directory["DirectoryId"],
        DomainIAMRoleName=rds_role,
    )
    yield {"b": vpc_b, "c": vpc_c, "password": password}
    rds.delete_db_instance(DBInstanceIdentifier="crossdb", SkipFinalSnapshot=True)


def test_nothing_can_leave_the_machine(stack: StackHandle, network: dict[str, Any]) -> None:
    """The stack's block is blackholed on the machine, and no namespace routes anywhere but
    to its own VPC's router (routers drop what they cannot route)."""
    routes = subprocess.run(
        ["ip", "route", "show", "type", "blackhole"], capture_output=True, text=True, check=True
    ).stdout
    assert stack.block in routes, routes
    # A router may be half-made at this moment (crossdb's is being built): give it time.
    deadline = time.monotonic() + 15
    wrong = _wrong_defaults(stack)
    while wrong and time.monotonic() < deadline:
        time.sleep(0.2)
        wrong = _wrong_defaults(stack)
    assert not wrong, wrong


def _wrong_defaults(stack: StackHandle) -> dict[str, str]:
    """Namespaces of the stack whose default route is not the one they must have."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    ours = [n.split()[0] for n in names.splitlines() if _owned(stack, n.split()[0])]
    assert ours
    wrong = {}
    for ns in ours:
        default = subprocess.run(
            ["ip", "-n", ns, "route", "show", "default", "table", "all"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        wanted = (
            "blackhole default table 99"
            if "-vpc-" in ns
            else "default via 169.254.1.1 dev eth0 onlink"
        )
        if default != wanted:
            wrong[ns] = default
    return wrong


def _inside(text: str, block: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(text) in block
    except ValueError:
        return False


def _owned(stack: StackHandle, namespace: str) -> bool:
    return namespace.startswith(stack.network().prefix)


def test_the_controllers_group_has_awss_rules(
    stack: StackHandle, directory: dict[str, Any]
) -> None:
    group_id = directory["VpcSettings"]["SecurityGroupId"]
    group = stack.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert group["GroupName"] == f"{directory['DirectoryId']}_controllers"
    inbound = {
        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort")) for p in group["IpPermissions"]
    }
    for port in (53, 88, 389, 464):
        assert ("tcp", port, port) in inbound and ("udp", port, port) in inbound
    assert ("tcp", 1024, 65535) in inbound and ("tcp", 3268, 3269) in inbound
    for perm in group["IpPermissions"]:
        if perm["IpProtocol"] in ("tcp", "udp"):  # AWS's rules, from the VPC's CIDR
            assert {"CidrIp": "172.31.0.0/16"} in perm["IpRanges"], perm


def test_a_join_across_vpcs_needs_peering_routes_and_the_controllers_group(
    stack: StackHandle, directory: dict[str, Any], network: dict[str, Any], rds_role: str
) -> None:
    failed = _membership(stack, "crossdb", {"enable-kerberos-failed", "kerberos-enabled"})
    member = failed["DomainMemberships"][0]
    assert member["Status"] == "enable-kerberos-failed"
    events = stack.client("rds").describe_events(
        SourceIdentifier="crossdb", SourceType="db-instance"
    )
    said = " ".join(e["Message"] for e in events["Events"])
    assert "no active VPC peering" in said, said
    found = _doctor_join(stack, "crossdb")
    assert found["severity"] == "fail" and "no active VPC peering" in str(found), found
    vpc_a = directory["VpcSettings"]["VpcId"]
    pcx = _peer(stack, network["b"], vpc_a)
    _route(stack, network["b"], "172.31.0.0/16", pcx)
    _route(stack, vpc_a, B_CIDR, pcx)
    network["pcx_ab"] = pcx
    group_id = directory["VpcSettings"]["SecurityGroupId"]
    _allow(stack, group_id, B_CIDR)
    stack.client("rds").modify_db_instance(
        DBInstanceIdentifier="crossdb",
        Domain=directory["DirectoryId"],
        DomainIAMRoleName=rds_role,
        ApplyImmediately=True,
    )
    joined = _membership(stack, "crossdb", {"kerberos-enabled"})
    network["endpoint"] = joined["Endpoint"]["Address"]


def test_a_client_in_a_third_vpc_waits_until_it_is_allowed(
    stack: StackHandle, directory: dict[str, Any], network: dict[str, Any], tmp_path: Any
) -> None:
    password = new_directory_user(stack, directory["DirectoryId"], "vince")
    principal = f"vince@{REALM}"
    conninfo = f"host={network['endpoint']} port=5432 dbname=postgres user=master"
    made = psql(
        {"PATH": "/usr/bin:/bin", "PGPASSWORD": network["password"]},
        conninfo,
        f'CREATE USER "{principal}" LOGIN; GRANT rds_ad TO "{principal}";',
    )
    assert made.returncode == 0, made.stderr
    env = {"KRB5CCNAME": f"FILE:{tmp_path}/ccache", "PGCONNECT_TIMEOUT": "5"}
    login = [
        "psql",
        "-X",
        "-At",
        f"host={network['endpoint']} port=5432 dbname=postgres user={principal}",
        "-c",
        "SELECT 1",
    ]
    kinit_argv = ["timeout", "10", "kinit", principal]
    blocked = _in_vpc(stack, network["c"], kinit_argv, env, password + "\n")
    assert blocked.returncode != 0, blocked.stdout
    vpc_a = directory["VpcSettings"]["VpcId"]
    to_a = _peer(stack, network["c"], vpc_a)
    _route(stack, network["c"], "172.31.0.0/16", to_a)
    _route(stack, vpc_a, C_CIDR, to_a)
    _allow(stack, directory["VpcSettings"]["SecurityGroupId"], C_CIDR)
    got = _in_vpc(stack, network["c"], kinit_argv, env, password + "\n")
    assert got.returncode == 0, got.stderr
    waited = _in_vpc(stack, network["c"], login, env)
    assert "timeout expired" in waited.stderr, waited.stderr  # dropped, not refused
    to_b = _peer(stack, network["c"], network["b"])
    _route(stack, network["c"], B_CIDR, to_b)
    _route(stack, network["b"], C_CIDR, to_b)
    db_group = stack.client("rds").describe_db_instances(DBInstanceIdentifier="crossdb")[
        "DBInstances"
    ][0]["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    rule = _allow(stack, db_group, C_CIDR, 5432)
    # A new host in vpc-C makes its router and the peering's link afresh: its very first
    # SYN is answered (no retransmission, which would cost the user a second).
    first = _in_vpc(
        stack, network["c"], [sys.executable, "-c", _RETRANSMITS, network["endpoint"]], {}
    )
    assert first.returncode == 0 and first.stdout.strip() == "0", (first.stdout, first.stderr)
    ok = _in_vpc(stack, network["c"], login, env)
    assert ok.returncode == 0 and ok.stdout.strip() == "1", ok.stderr
    # A revoked rule stops new connections.
    stack.client("ec2").revoke_security_group_ingress(GroupId=db_group, IpPermissions=[rule])
    assert "timeout expired" in _in_vpc(stack, network["c"], login, env).stderr
    _allow(stack, db_group, C_CIDR, 5432)
    assert _in_vpc(stack, network["c"], login, env).returncode == 0
    # A network ACL that denies vpc-C on the directory's subnets stops its logins.
    _acl_denies(
        stack,
        directory,
        C_CIDR,
        lambda: _in_vpc(stack, network["c"], kinit_argv, env, password + "\n"),
    )
    # The instance's groups follow modify-db-instance: one without the rule stops logins.
    _swap_groups(stack, network["b"], db_group, lambda: _in_vpc(stack, network["c"], login, env))
    # Deleting the peering stops traffic.
    stack.client("ec2").delete_vpc_peering_connection(VpcPeeringConnectionId=to_b)
    assert "timeout expired" in _in_vpc(stack, network["c"], login, env).stderr


def _swap_groups(stack: StackHandle, vpc_id: str, group_id: str, attempt: Any) -> None:
    ec2, rds = stack.client("ec2"), stack.client("rds")
    bare = ec2.create_security_group(GroupName="bare", Description="no ingress", VpcId=vpc_id)
    for groups in ([bare["GroupId"]], [group_id]):
        rds.modify_db_instance(
            DBInstanceIdentifier="crossdb", VpcSecurityGroupIds=groups, ApplyImmediately=True
        )
        shown = rds.describe_db_instances(DBInstanceIdentifier="crossdb")["DBInstances"][0]
        assert [g["VpcSecurityGroupId"] for g in shown["VpcSecurityGroups"]] == groups
        done = attempt()
        if groups == [group_id]:
            assert done.returncode == 0, done.stderr
        else:
            assert "timeout expired" in done.stderr, done.stderr
        _membership(stack, "crossdb", {"kerberos-enabled"})  # available again
    ec2.delete_security_group(GroupId=bare["GroupId"])


def _acl_denies(stack: StackHandle, directory: dict[str, Any], cidr: str, attempt: Any) -> None:
    ec2 = stack.client("ec2")
    vpc_a = directory["VpcSettings"]["VpcId"]
    acl_id = ec2.create_network_acl(VpcId=vpc_a)["NetworkAcl"]["NetworkAclId"]
    for egress in (False, True):
        ec2.create_network_acl_entry(
            NetworkAclId=acl_id, RuleNumber=10, Protocol="-1", RuleAction="deny",
            Egress=egress, CidrBlock=cidr,
        )  # fmt: skip
        ec2.create_network_acl_entry(
            NetworkAclId=acl_id, RuleNumber=100, Protocol="-1", RuleAction="allow",
            Egress=egress, CidrBlock="0.0.0.0/0",
        )  # fmt: skip
    subnets = directory["VpcSettings"]["SubnetIds"]
    acls = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": subnets}])
    former = {
        a["SubnetId"]: (a["NetworkAclAssociationId"], acl["NetworkAclId"])
        for acl in acls["NetworkAcls"]
        for a in acl["Associations"]
        if a["SubnetId"] in subnets
    }
    moved = {
        s: ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl_id)[
            "NewAssociationId"
        ]
        for s, (assoc, _) in former.items()
    }
    try:
        assert attempt().returncode != 0
    finally:
        for s, assoc in moved.items():
            ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=former[s][1])
    assert attempt().returncode == 0
    ec2.delete_network_acl(NetworkAclId=acl_id)


def test_the_network_comes_back_after_a_stop_and_leaves_only_the_blackhole(
    stack: StackHandle, directory: dict[str, Any], kerberos: dict[str, str]
) -> None:
    """``make down`` removes every namespace of the stack (the blackhole stays, so nothing
    sent to a host address meanwhile leaves the machine); the next start makes them again
    from the records, and logins work as before."""
    stack.stop()
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [n for n in names.split() if _owned(stack, n)], names
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    assert f"blackhole {stack.block}" in routes
    block = ipaddress.ip_network(stack.block)
    hosts = [r for r in routes.splitlines() if "via" in r and _inside(r.split()[0], block)]
    assert not hosts, hosts
    stack.start(verbose=True)
    ds = stack.client("ds")

    def active() -> bool:
        desc = ds.describe_directories(DirectoryIds=[directory["DirectoryId"]])
        return bool(desc["DirectoryDescriptions"][0]["Stage"] == "Active")

    stack.wait("the directory to be Active again", active, timeout=120)
    password = new_directory_user(stack, directory["DirectoryId"], "nadia")
    done = kinit(kerberos, f"nadia@{REALM}", password)
    assert done.returncode == 0, done.stderr


def test_a_program_on_the_machines_port_88_does_not_stop_a_dc(stack: StackHandle) -> None:
    """Debian's krb5kdc (or anything) on 0.0.0.0:88: a DC listens in its own namespace."""
    held = _hold_port_88()
    ds = stack.client("ds")
    subnets = stack.client("ec2").describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"][:2]
    try:
        did = ds.create_microsoft_ad(
            Name="held.example.com",
            ShortName="HELD",
            Password=new_password(),
            Edition="Standard",
            VpcSettings={
                "VpcId": subnets[0]["VpcId"],
                "SubnetIds": [s["SubnetId"] for s in subnets],
            },
        )["DirectoryId"]

        def stage() -> str | None:
            found = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]
            return found["Stage"] if found["Stage"] in ("Active", "Failed") else None

        assert stack.wait("the directory to settle", stage, timeout=180) == "Active"
        ds.delete_directory(DirectoryId=did)
    finally:
        for sock in held:
            sock.close()


def _hold_port_88() -> list[socket.socket]:
    """0.0.0.0:88, TCP and UDP, held by this test, or already by another program."""
    tcp, udp = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.bind(("0.0.0.0", 88))
        tcp.listen()
        udp.bind(("0.0.0.0", 88))
        return [tcp, udp]
    except OSError:
        tcp.close()
        udp.close()
        listeners = subprocess.run(
            ["ss", "-Hltn", "sport = :88"], capture_output=True, text=True, check=True
        ).stdout
        assert listeners.strip(), "port 88 could not be bound, yet nothing listens on it"
        return []
