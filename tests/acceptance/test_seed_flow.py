"""The seed's whole flow on real Samba AD and PostgreSQL, through boto3 and the aws CLI.

Steps 1-2 (directory, role) are the session fixtures; this module creates a user
(step 3), a DB instance joined to the directory (step 5), the Kerberos login (step 6)
and connects with kinit and psql (step 7).
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import REALM, new_password
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

INSTANCE = "kerbdb"


def wait_available(
    stack: StackHandle, ident: str, timeout: float = 120, account: str | None = None
) -> dict[str, Any]:
    rds = stack.client("rds", account=account)

    def ready() -> Any:
        inst = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
        assert inst["DBInstanceStatus"] != "failed", stack.log_tail()
        members_ok = all(m["Status"] == "kerberos-enabled" for m in inst["DomainMemberships"])
        return inst if inst["DBInstanceStatus"] == "available" and members_ok else None

    result: dict[str, Any] = stack.wait(f"{ident} to be available", ready, timeout)
    return result


def new_instance(stack: StackHandle, ident: str, **extra: Any) -> tuple[dict[str, Any], str]:
    """A postgres instance ``ident`` (db.t3.micro, master user "master"), once available,
    and its master password; ``extra`` goes to CreateDBInstance as it is."""
    password = new_password()
    stack.client("rds").create_db_instance(
        DBInstanceIdentifier=ident,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="master",
        MasterUserPassword=password,
        **extra,
    )
    return wait_available(stack, ident), password


def new_directory_user(stack: StackHandle, directory_id: str, name: str) -> str:
    """A user ``name`` in the directory, made through ds-data; its new password."""
    password = new_password()
    stack.client("ds-data").create_user(DirectoryId=directory_id, SAMAccountName=name)
    stack.client("ds").reset_user_password(
        DirectoryId=directory_id, UserName=name, NewPassword=password
    )
    return password


def kinit(env: dict[str, str], principal: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kinit", principal],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture(scope="module")
def instance(stack: StackHandle, directory: dict[str, Any], rds_role: str) -> dict[str, Any]:
    """Step 5 with the aws CLI: a subnet group over the directory's subnets, then the
    instance, with the RDS console's default master user, postgres."""
    stack.client("rds").create_db_subnet_group(
        DBSubnetGroupName="kerb-subnets",
        DBSubnetGroupDescription="for the seed flow",
        SubnetIds=directory["VpcSettings"]["SubnetIds"],
    )
    password = new_password()
    created = stack.aws(
        "rds",
        "create-db-instance",
        "--db-instance-identifier",
        INSTANCE,
        "--db-instance-class",
        "db.t3.micro",
        "--engine",
        "postgres",
        "--master-username",
        "postgres",
        "--allocated-storage",
        "20",
        "--db-subnet-group-name",
        "kerb-subnets",
        "--domain",
        directory["DirectoryId"],
        "--domain-iam-role-name",
        rds_role,
        inputs={"MasterUserPassword": password},
    )["DBInstance"]
    assert created["DBInstanceStatus"] == "creating"
    assert created["DomainMemberships"][0]["Status"] == "enabling-kerberos"
    inst = wait_available(stack, INSTANCE)
    inst["_master_password"] = password
    return inst


def test_directory_is_described_as_aws_does(stack: StackHandle, directory: dict[str, Any]) -> None:
    assert directory["Type"] == "MicrosoftAD"
    assert directory["Edition"] == "Standard"
    assert directory["ShortName"] == "CORP"
    assert directory["AccessUrl"] == f"{directory['DirectoryId']}.awsapps.com"
    vpc = directory["VpcSettings"]
    assert vpc["SecurityGroupId"].startswith("sg-")
    assert len(set(vpc["AvailabilityZones"])) == 2
    # VPC addresses, in the subnets' CIDRs, as AWS shows them
    ids = directory["VpcSettings"]["SubnetIds"]
    subnets = stack.client("ec2").describe_subnets(SubnetIds=ids)["Subnets"]
    vpc_cidrs = [ipaddress.ip_network(s["CidrBlock"]) for s in subnets]
    assert all(
        any(ipaddress.ip_address(ip) in c for c in vpc_cidrs) for ip in directory["DnsIpAddrs"]
    )


def test_directory_answers_dns_kerberos_and_kpasswd(
    stack: StackHandle, directory: dict[str, Any]
) -> None:
    dc = stack.kdcs(directory)[0]  # where this machine reaches it
    srv = subprocess.run(
        ["dig", "+short", f"@{dc}", "-t", "SRV", "_kerberos._tcp.corp.example.com"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    assert "88" in srv, srv
    for port in (88, 464, 389):
        with socket.create_connection((dc, port), timeout=5):
            pass


def test_user_created_with_ds_data_can_kinit(
    stack: StackHandle, directory: dict[str, Any], kerberos: dict[str, str]
) -> None:
    dsd = stack.client("ds-data")
    did = directory["DirectoryId"]
    dsd.create_user(DirectoryId=did, SAMAccountName="carol", GivenName="Carol")
    user = dsd.describe_user(DirectoryId=did, SAMAccountName="carol")
    # AD keeps an account without a password disabled; ResetUserPassword enables it.
    assert not user["Enabled"] and user["SID"].startswith("S-1-5-21-")
    assert "carol" in [u["SAMAccountName"] for u in dsd.list_users(DirectoryId=did)["Users"]]
    password = new_password()
    stack.client("ds").reset_user_password(DirectoryId=did, UserName="carol", NewPassword=password)
    assert dsd.describe_user(DirectoryId=did, SAMAccountName="carol")["Enabled"]
    done = kinit(kerberos, f"carol@{REALM}", password)
    assert done.returncode == 0, done.stderr
    dsd.delete_user(DirectoryId=did, SAMAccountName="carol")
    with pytest.raises(dsd.exceptions.ResourceNotFoundException):
        dsd.describe_user(DirectoryId=did, SAMAccountName="carol")


def test_instance_is_joined_to_the_directory(
    stack: StackHandle, instance: dict[str, Any], directory: dict[str, Any], rds_role: str
) -> None:
    member = instance["DomainMemberships"][0]
    assert member["Domain"] == directory["DirectoryId"]
    assert member["FQDN"] == "corp.example.com"
    assert member["IAMRoleName"] == rds_role
    assert member["Status"] == "kerberos-enabled"
    assert member["DnsIps"] == directory["DnsIpAddrs"]
    assert "OU" not in member and "AuthSecretArn" not in member  # self-managed AD only
    assert instance["MasterUsername"] == "postgres"
    endpoint = instance["Endpoint"]
    assert endpoint["Port"] == 5432
    machine = ipaddress.ip_address(socket.gethostbyname(endpoint["Address"]))
    assert machine in ipaddress.ip_network(stack.block)


def test_instance_runs_unprivileged_with_an_aes_keytab(
    stack: StackHandle, instance: dict[str, Any]
) -> None:
    keytabs = list(stack.home.glob(f"instances/*-{INSTANCE}/krb5.keytab"))
    assert len(keytabs) == 1
    st = keytabs[0].stat()
    assert st.st_mode & 0o777 == 0o600
    assert pwd.getpwuid(st.st_uid).pw_name != "root"
    listing = subprocess.run(
        ["klist", "-k", "-e", str(keytabs[0])], capture_output=True, text=True, timeout=10
    ).stdout
    assert f"postgres/{instance['Endpoint']['Address']}@{REALM}" in listing
    enctypes = [line.rsplit("(", 1)[1] for line in listing.splitlines() if "(" in line]
    assert enctypes and all(e.startswith("aes") for e in enctypes), listing
    users = subprocess.run(
        ["ps", "-o", "user=", "-C", "postgres"], capture_output=True, text=True
    ).stdout.split()
    assert users and "root" not in users


def psql(env: dict[str, str], conninfo: str, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "-X", "-At", conninfo, "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_kerberos_login_as_the_seed_describes(
    stack: StackHandle,
    instance: dict[str, Any],
    directory: dict[str, Any],
    kerberos: dict[str, str],
) -> None:
    host = instance["Endpoint"]["Address"]
    did = directory["DirectoryId"]
    alice_pw, bob_pw = new_password(), new_password()
    for name, pw in (("alice", alice_pw), ("bob", bob_pw)):
        stack.client("ds-data").create_user(DirectoryId=did, SAMAccountName=name)
        stack.client("ds").reset_user_password(DirectoryId=did, UserName=name, NewPassword=pw)

    # Step 6: the master user, with its password, creates the Kerberos logins.
    master_env = {"PATH": os.environ["PATH"], "PGPASSWORD": instance["_master_password"]}
    sql = (
        f'CREATE USER "alice@{REALM}" WITH LOGIN; GRANT rds_ad TO "alice@{REALM}"; '
        f"CREATE USER \"bob@{REALM}\" WITH LOGIN PASSWORD '{bob_pw}';"
    )
    done = psql(master_env, f"host={host} port=5432 dbname=postgres user=postgres", sql)
    assert done.returncode == 0, done.stderr
    su = psql(
        master_env,
        f"host={host} port=5432 dbname=postgres user=postgres",
        "SELECT rolsuper, pg_has_role('rds_superuser', 'member') FROM pg_roles "
        "WHERE rolname = current_user",
    )
    assert su.stdout.strip() == "f|t"

    # Step 7: kinit, then psql by the endpoint name, authenticated by GSSAPI.
    assert kinit(kerberos, f"alice@{REALM}", alice_pw).returncode == 0
    login = psql(
        kerberos,
        f"host={host} port=5432 dbname=postgres user=alice@{REALM}",
        "SELECT current_user, gss_authenticated FROM pg_stat_gssapi WHERE pid = pg_backend_pid()",
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"alice@{REALM}|t"

    # alice cannot use a password instead.
    no_ticket = {
        "PATH": os.environ["PATH"],
        "PGPASSWORD": alice_pw,
        "KRB5_CONFIG": kerberos["KRB5_CONFIG"],
        "KRB5CCNAME": "FILE:/nonexistent",
    }
    refused = psql(
        no_ticket,
        f"host={host} port=5432 dbname=postgres user=alice@{REALM} gssencmode=disable",
        "SELECT 1",
    )
    assert refused.returncode != 0

    # bob has a ticket but not rds_ad: Kerberos does not get him in.
    assert kinit(kerberos, f"bob@{REALM}", bob_pw).returncode == 0
    env = {**kerberos, "PGPASSWORD": "wrong"}
    bob = psql(env, f"host={host} port=5432 dbname=postgres user=bob@{REALM}", "SELECT 1")
    assert bob.returncode != 0
    assert "password authentication failed" in bob.stderr


def test_directory_with_a_joined_instance_cannot_be_deleted(
    stack: StackHandle, instance: dict[str, Any], directory: dict[str, Any]
) -> None:
    ds = stack.client("ds")
    with pytest.raises(ds.exceptions.ClientException):
        ds.delete_directory(DirectoryId=directory["DirectoryId"])


def test_instance_delete(stack: StackHandle, directory: dict[str, Any], rds_role: str) -> None:
    rds = stack.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="shortlived",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="master",
        MasterUserPassword=new_password(),
        AllocatedStorage=20,
    )
    inst = wait_available(stack, "shortlived")
    host = inst["Endpoint"]["Address"]
    out = rds.delete_db_instance(DBInstanceIdentifier="shortlived", SkipFinalSnapshot=True)
    assert out["DBInstance"]["DBInstanceStatus"] == "deleting"

    def gone() -> bool:
        try:
            rds.describe_db_instances(DBInstanceIdentifier="shortlived")
        except rds.exceptions.DBInstanceNotFoundFault:
            return True
        return False

    stack.wait("the instance to be deleted", gone, 60)
    assert host not in Path("/etc/hosts").read_text()


def test_a_killed_postmaster_comes_back_with_its_data(
    stack: StackHandle, instance: dict[str, Any]
) -> None:
    """Run after the login test: alice's role must survive a crash of the server process."""
    import signal

    from pgrealm.store import Store

    docs = Store(stack.home / "state.db").list("process")
    (proc,) = [d for d in docs if d["name"].endswith(f"-{INSTANCE}")]
    os.kill(int(proc["pid"]), signal.SIGKILL)
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": instance["_master_password"]}
    conninfo = f"host={instance['Endpoint']['Address']} port=5432 dbname=postgres user=postgres"

    def back() -> bool:
        done = psql(env, conninfo, f"SELECT rolname FROM pg_roles WHERE rolname = 'alice@{REALM}'")
        return done.returncode == 0 and done.stdout.strip() == f"alice@{REALM}"

    stack.wait("the instance to answer again, alice's role intact", back, 60)
    new = [d for d in Store(stack.home / "state.db").list("process") if d["name"] == proc["name"]]
    assert int(new[0]["pid"]) != int(proc["pid"])


def _settled(stack: StackHandle, ident: str) -> None:
    """Wait until the instance is available again, whatever its membership says."""
    rds = stack.client("rds")
    stack.wait(
        f"{ident} to be available",
        lambda: (
            rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0][
                "DBInstanceStatus"
            ]
            == "available"
        ),
    )


def _membership(stack: StackHandle, ident: str) -> list[dict[str, Any]]:
    inst = stack.client("rds").describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
    members: list[dict[str, Any]] = inst["DomainMemberships"]
    return members


def test_an_instance_leaves_and_joins_its_directory_as_rds_documents(
    stack: StackHandle, directory: dict[str, Any], rds_role: str, kerberos: dict[str, str]
) -> None:
    """--domain none waits for the reboot (pending-disable-kerberos), as the seed says;
    modify --domain --apply-immediately joins at once; --disable-domain leaves at once."""
    rds, did = stack.client("rds"), directory["DirectoryId"]
    inst, password = new_instance(
        stack, "leaver", BackupRetentionPeriod=0, Domain=did, DomainIAMRoleName=rds_role
    )
    host = inst["Endpoint"]["Address"]
    leo_pw = new_directory_user(stack, did, "leo")
    master = {"PATH": os.environ["PATH"], "PGPASSWORD": password}
    master_db = f"host={host} port=5432 dbname=postgres user=master"
    sql = f'CREATE USER "leo@{REALM}" WITH LOGIN; GRANT rds_ad TO "leo@{REALM}"'
    assert psql(master, master_db, sql).returncode == 0
    assert kinit(kerberos, f"leo@{REALM}", leo_pw).returncode == 0
    leo = f"host={host} port=5432 dbname=postgres user=leo@{REALM}"
    assert psql(kerberos, leo, "SELECT 1").stdout.strip() == "1"

    # Leaving without --apply-immediately waits for the reboot; Kerberos still works.
    out = stack.aws(
        "rds", "modify-db-instance", "--db-instance-identifier", "leaver", "--domain", "none"
    )
    assert out["DBInstance"]["DomainMemberships"][0]["Status"] == "pending-disable-kerberos"
    _settled(stack, "leaver")
    assert _membership(stack, "leaver")[0]["Status"] == "pending-disable-kerberos"
    assert psql(kerberos, leo, "SELECT 1").stdout.strip() == "1"
    out = stack.aws("rds", "reboot-db-instance", "--db-instance-identifier", "leaver")
    assert out["DBInstance"]["DomainMemberships"][0]["Status"] == "disabling-kerberos"
    left = wait_available(stack, "leaver")
    assert left["DomainMemberships"] == []
    refused = psql({**kerberos, "PGPASSWORD": "not-leo"}, leo, "SELECT 1")
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr
    assert psql(master, master_db, "SELECT 1").returncode == 0

    # Joining again at once, through the CLI: enabling-kerberos, then kerberos-enabled.
    out = stack.aws(
        "rds",
        "modify-db-instance",
        "--db-instance-identifier",
        "leaver",
        "--domain",
        did,
        "--domain-iam-role-name",
        rds_role,
        "--apply-immediately",
    )
    assert out["DBInstance"]["DomainMemberships"][0]["Status"] == "enabling-kerberos"
    wait_available(stack, "leaver")
    # The instance's account is new, with new keys: a fresh ccache drops the old ticket.
    assert kinit(kerberos, f"leo@{REALM}", leo_pw).returncode == 0
    assert psql(kerberos, leo, "SELECT 1").stdout.strip() == "1"

    # --disable-domain with --apply-immediately: disabling-kerberos, then gone.
    out = stack.aws(
        "rds",
        "modify-db-instance",
        "--db-instance-identifier",
        "leaver",
        "--disable-domain",
        "--apply-immediately",
    )
    assert out["DBInstance"]["DomainMemberships"][0]["Status"] == "disabling-kerberos"
    assert wait_available(stack, "leaver")["DomainMemberships"] == []
    rds.delete_db_instance(DBInstanceIdentifier="leaver", SkipFinalSnapshot=True)


def test_a_join_without_apply_immediately_waits_for_the_reboot(
    stack: StackHandle, directory: dict[str, Any], rds_role: str
) -> None:
    did = directory["DirectoryId"]
    new_instance(stack, "joiner", BackupRetentionPeriod=0)
    out = stack.aws(
        "rds",
        "modify-db-instance",
        "--db-instance-identifier",
        "joiner",
        "--domain",
        did,
        "--domain-iam-role-name",
        rds_role,
    )
    assert out["DBInstance"]["DomainMemberships"][0]["Status"] == "pending-enable-kerberos"
    _settled(stack, "joiner")
    assert _membership(stack, "joiner")[0]["Status"] == "pending-enable-kerberos"
    assert not list(stack.home.glob("instances/*-joiner/krb5.keytab"))
    out = stack.aws("rds", "reboot-db-instance", "--db-instance-identifier", "joiner")
    assert out["DBInstance"]["DomainMemberships"][0]["Status"] == "enabling-kerberos"
    wait_available(stack, "joiner")
    assert list(stack.home.glob("instances/*-joiner/krb5.keytab"))
    stack.client("rds").delete_db_instance(DBInstanceIdentifier="joiner", SkipFinalSnapshot=True)


def _set_stage(stack: StackHandle, directory_id: str, stage: str) -> None:
    """Fault injection: the directory's record as a failure leaves it."""
    from pgrealm.store import Store

    store = Store(stack.home / "state.db")
    (key,) = [k for k, _ in store.items("directory") if k[2] == directory_id]
    store.update("directory", *key, lambda d: d["aws"].update(Stage=stage))


def test_a_join_that_cannot_complete_fails_the_membership_and_is_retried(
    stack: StackHandle, directory: dict[str, Any], rds_role: str, kerberos: dict[str, str]
) -> None:
    """enable-kerberos-failed leaves the instance available for passwords; modifying with
    the same --domain retries the join, as the RDS guide says."""
    did = directory["DirectoryId"]
    inst, password = new_instance(stack, "retrier", BackupRetentionPeriod=0)
    host = inst["Endpoint"]["Address"]
    join = [
        "rds",
        "modify-db-instance",
        "--db-instance-identifier",
        "retrier",
        "--domain",
        did,
        "--domain-iam-role-name",
        rds_role,
        "--apply-immediately",
    ]
    _set_stage(stack, did, "Failed")
    try:
        stack.aws(*join)
        stack.wait(
            "the join to fail",
            lambda: _membership(stack, "retrier")[0]["Status"] == "enable-kerberos-failed",
        )
    finally:
        _set_stage(stack, did, "Active")
    _settled(stack, "retrier")
    master = {"PATH": os.environ["PATH"], "PGPASSWORD": password}
    master_db = f"host={host} port=5432 dbname=postgres user=master"
    assert psql(master, master_db, "SELECT 1").stdout.strip() == "1"
    status = subprocess.run(
        [sys.executable, "-m", "pgrealm", "status"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert f"{did}: enable-kerberos-failed (directory {did} is Failed)" in status, status

    out = stack.aws(*join)
    assert out["DBInstance"]["DomainMemberships"][0]["Status"] == "enabling-kerberos"
    wait_available(stack, "retrier")
    ivy_pw = new_directory_user(stack, did, "ivy")
    sql = f'CREATE USER "ivy@{REALM}" WITH LOGIN; GRANT rds_ad TO "ivy@{REALM}"'
    assert psql(master, master_db, sql).returncode == 0
    assert kinit(kerberos, f"ivy@{REALM}", ivy_pw).returncode == 0
    ivy = f"host={host} port=5432 dbname=postgres user=ivy@{REALM}"
    assert psql(kerberos, ivy, "SELECT 1").stdout.strip() == "1"
    stack.client("rds").delete_db_instance(DBInstanceIdentifier="retrier", SkipFinalSnapshot=True)
