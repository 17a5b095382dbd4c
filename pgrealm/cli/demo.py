"""The seed's whole flow, run through the AWS API as a user would, reusing what exists.

Directory corp.example.com, an IAM role for RDS, a user alice, a DB instance joined to
the directory, alice's Kerberos login; then a real ``kinit`` and ``psql`` to prove it.
Passwords are random, held in memory only: alice's keys go to a 0600 keytab, the only
credential the demo leaves behind.

Whatever state it finds, it brings the demo back: a demo directory or instance that
failed is deleted and made again, an impaired one is waited for, and a failed Kerberos
join is retried the way RDS documents it (modify-db-instance --domain <the same id>).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.client.target import machine_dcs
from pgrealm.config import Settings
from pgrealm.passwords import random_password

__all__ = ["DemoResult", "run_demo"]

DOMAIN = "corp.example.com"
ROLE = "rds-directory-service-access-role"
INSTANCE = "demo-db"
MASTER = "postgres"  # the RDS console's default master user
USER = "alice"
POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSDirectoryServiceAccess"
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


@dataclass(frozen=True)
class DemoResult:
    directory_id: str
    realm: str
    endpoint: str
    port: int
    krb5_conf: Path
    keytab: Path
    principal: str

    @property
    def conninfo(self) -> str:
        """alice's libpq connection string; the port is always named, as RDS users do with
        Endpoint.Port: Debian's psql otherwise takes the local cluster's port."""
        return f"host={self.endpoint} port={self.port} dbname=postgres user={self.principal}"


def client(settings: Settings, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=settings.api_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _say(msg: str) -> None:
    print(f"  {msg}", flush=True)


def _wait(what: str, probe: Any, timeout: float = 300.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def ensure_role(settings: Settings) -> None:
    iam = client(settings, "iam")
    try:
        iam.get_role(RoleName=ROLE)
        _say(f"IAM role {ROLE}: exists")
        return
    except iam.exceptions.NoSuchEntityException:
        pass
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    _say(f"IAM role {ROLE}: created, AmazonRDSDirectoryServiceAccess attached")


def _usable_directory(ds: Any) -> list[dict[str, Any]]:
    """The demo's directory if one can serve; a failed one is deleted first, and one being
    deleted is waited out."""
    found = [d for d in ds.describe_directories()["DirectoryDescriptions"] if d["Name"] == DOMAIN]
    for desc in found:
        if desc["Stage"] == "Failed":
            why = desc.get("StageReason", "no reason given")
            _say(f"directory {desc['DirectoryId']}: Failed ({why}); deleting it and starting again")
            ds.delete_directory(DirectoryId=desc["DirectoryId"])
        if desc["Stage"] in ("Failed", "Deleting"):
            _wait("the failed directory to go", lambda d=desc: _gone(ds, d["DirectoryId"]))
    return [d for d in found if d["Stage"] not in ("Failed", "Deleting", "Deleted")]


def _gone(ds: Any, directory_id: str) -> bool:
    try:
        ds.describe_directories(DirectoryIds=[directory_id])
    except ds.exceptions.EntityDoesNotExistException:
        return True
    return False


def ensure_directory(settings: Settings) -> dict[str, Any]:
    ds = client(settings, "ds")
    found = _usable_directory(ds)
    if found:
        directory_id = found[0]["DirectoryId"]
        _say(f"directory {DOMAIN}: exists as {directory_id} ({found[0]['Stage']})")
    else:
        subnets = client(settings, "ec2").describe_subnets(
            Filters=[{"Name": "default-for-az", "Values": ["true"]}]
        )["Subnets"][:2]
        started = time.monotonic()
        directory_id = ds.create_microsoft_ad(
            Name=DOMAIN,
            ShortName="CORP",
            Password=random_password(),
            Edition="Standard",
            VpcSettings={
                "VpcId": subnets[0]["VpcId"],
                "SubnetIds": [s["SubnetId"] for s in subnets],
            },
        )["DirectoryId"]
        _say(f"directory {DOMAIN}: creating {directory_id} (the Admin password is not kept)")
    desc = _wait("the directory to be Active", lambda: _stage(ds, directory_id, "Active"))
    if not found:
        _say(
            f"directory {directory_id}: Active in {time.monotonic() - started:.1f} s, "
            f"DNS {', '.join(desc['DnsIpAddrs'])}"
        )
    if ds.describe_directory_data_access(DirectoryId=directory_id)["DataAccessStatus"] != "Enabled":
        ds.enable_directory_data_access(DirectoryId=directory_id)
    return dict(desc)


def _stage(ds: Any, directory_id: str, stage: str) -> Any:
    desc = ds.describe_directories(DirectoryIds=[directory_id])["DirectoryDescriptions"][0]
    if desc["Stage"] == "Failed":
        raise RuntimeError(f"directory failed: {desc.get('StageReason')}")
    return desc if desc["Stage"] == stage else None


def ensure_user(settings: Settings, directory_id: str) -> bool:
    """Create alice with a random password; False if she existed already."""
    dsd = client(settings, "ds-data")
    try:
        dsd.describe_user(DirectoryId=directory_id, SAMAccountName=USER)
        _say(f"user {USER}: exists")
        return False
    except dsd.exceptions.ResourceNotFoundException:
        pass
    dsd.create_user(
        DirectoryId=directory_id, SAMAccountName=USER, GivenName="Alice", Surname="Example"
    )
    client(settings, "ds").reset_user_password(
        DirectoryId=directory_id, UserName=USER, NewPassword=random_password()
    )
    _say(f"user {USER}: created in the directory with a random password")
    return True


def _existing_instance(rds: Any, directory_id: str) -> dict[str, Any] | None:
    """demo-db if it can serve: a failed one is deleted, a stopped one started, and one
    whose Kerberos join failed, or that left or is leaving the directory, joined again."""
    try:
        inst: dict[str, Any] = rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)[
            "DBInstances"
        ][0]
    except rds.exceptions.DBInstanceNotFoundFault:
        return None
    if inst["DBInstanceStatus"] in ("failed", "deleting"):
        if inst["DBInstanceStatus"] == "failed":
            _say(f"DB instance {INSTANCE}: failed; deleting it and starting again")
            rds.delete_db_instance(DBInstanceIdentifier=INSTANCE, SkipFinalSnapshot=True)
        _wait("the failed DB instance to go", lambda: _instance_gone(rds))
        return None
    _say(f"DB instance {INSTANCE}: exists ({inst['DBInstanceStatus']})")
    if inst["DBInstanceStatus"] == "stopped":
        _say(f"DB instance {INSTANCE}: stopped; starting it")
        rds.start_db_instance(DBInstanceIdentifier=INSTANCE)
    members = inst.get("DomainMemberships") or []
    if not any(m["Status"] in _SERVING for m in members):
        why = members[0]["Status"] if members else "no domain membership"
        _say(f"DB instance {INSTANCE}: {why}; joining it to {directory_id} again")
        _wait("the DB instance to accept changes", lambda: _available(rds, kerberos=False))
        rds.modify_db_instance(
            DBInstanceIdentifier=INSTANCE,
            Domain=directory_id,
            DomainIAMRoleName=ROLE,
            ApplyImmediately=True,
        )
    return inst


# Memberships that serve Kerberos logins now or soon; anything else the demo joins again.
_SERVING = ("kerberos-enabled", "enabling-kerberos")


def _instance_gone(rds: Any) -> bool:
    try:
        rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)
    except rds.exceptions.DBInstanceNotFoundFault:
        return True
    return False


def ensure_instance(settings: Settings, directory_id: str) -> tuple[dict[str, Any], str | None]:
    rds = client(settings, "rds")
    password = None
    if _existing_instance(rds, directory_id) is None:
        password = random_password()
        started = time.monotonic()
        rds.create_db_instance(
            DBInstanceIdentifier=INSTANCE,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername=MASTER,
            MasterUserPassword=password,
            AllocatedStorage=20,
            Domain=directory_id,
            DomainIAMRoleName=ROLE,
        )
        _say(f"DB instance {INSTANCE}: creating, joined to {directory_id}")
    inst = _wait("the DB instance to be available", lambda: _available(rds))
    if password:
        _say(
            f"DB instance {INSTANCE}: available and kerberos-enabled in "
            f"{time.monotonic() - started:.1f} s"
        )
    return dict(inst), password


def _available(rds: Any, kerberos: bool = True) -> Any:
    inst = rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)["DBInstances"][0]
    if inst["DBInstanceStatus"] == "failed":
        raise RuntimeError("the DB instance failed")
    members = inst["DomainMemberships"]
    if kerberos and any(m["Status"] == "enable-kerberos-failed" for m in members):
        raise RuntimeError(
            "the DB instance could not join the directory (enable-kerberos-failed); "
            "`make up` again retries the join"
        )
    ok = inst["DBInstanceStatus"] == "available" and (
        not kerberos or all(m["Status"] == "kerberos-enabled" for m in members)
    )
    return inst if ok else None


def create_login(endpoint: str, port: int, realm: str, master_password: str) -> None:
    """Seed step 6, as the master user over the network with scram-sha-256."""
    sql = f'CREATE USER "{USER}@{realm}" WITH LOGIN;\nGRANT rds_ad TO "{USER}@{realm}";\n'
    env = {**os.environ, "PGPASSWORD": master_password}  # env, not argv: not world-readable
    subprocess.run(
        [
            "psql",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            f"host={endpoint} port={port} dbname=postgres user={MASTER}",
        ],
        input=sql,
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    _say(f'login "{USER}@{realm}" created and granted rds_ad')


def run_demo(settings: Settings, export_keytab: Any) -> DemoResult:
    """Run the flow; ``export_keytab(directory_doc_id, principal, path)`` writes alice's keys."""
    ensure_role(settings)
    desc = ensure_directory(settings)
    directory_id = desc["DirectoryId"]
    realm = DOMAIN.upper()
    new_user = ensure_user(settings, directory_id)
    inst, master_password = ensure_instance(settings, directory_id)
    endpoint, port = inst["Endpoint"]["Address"], int(inst["Endpoint"]["Port"])
    demo_dir = settings.home / "demo"
    demo_dir.mkdir(mode=0o700, exist_ok=True)
    conf = demo_dir / "krb5.conf"
    kdcs = machine_dcs(client(settings, "ec2"), desc)
    conf.write_text(render_krb5_conf(realm, kdcs, [endpoint]))
    keytab = demo_dir / f"{USER}.keytab"
    if new_user or not keytab.exists():
        export_keytab(directory_id, f"{USER}@{realm}", keytab)
    if master_password:
        create_login(endpoint, port, realm, master_password)
    return DemoResult(directory_id, realm, endpoint, port, conf, keytab, f"{USER}@{realm}")


def prove_login(result: DemoResult) -> str:
    """kinit from the keytab and log in with psql; returns what psql printed."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "KRB5_CONFIG": str(result.krb5_conf),
            "KRB5CCNAME": f"FILE:{tmp}/ccache",
        }
        subprocess.run(
            ["kinit", "-kt", str(result.keytab), result.principal],
            env=env,
            check=True,
            capture_output=True,
        )
        out = subprocess.run(
            [
                "psql",
                "-At",
                result.conninfo,
                "-c",
                "SELECT current_user, gss_authenticated FROM pg_stat_gssapi "
                "WHERE pid = pg_backend_pid()",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()
