"""The seed's whole flow, run through the AWS API as a user would, reusing what exists.

Directory corp.example.com, an IAM role for RDS, a user alice, a DB instance joined to
the directory, alice's Kerberos login; then a real ``kinit`` and ``psql`` to prove it.
Passwords are random, held in memory only: alice's keys go to a 0600 keytab, the only
credential the demo leaves behind.
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
from pgrealm.config import Settings
from pgrealm.passwords import random_password

__all__ = ["DemoResult", "run_demo"]

DOMAIN = "corp.example.com"
ROLE = "rds-directory-service-access-role"
INSTANCE = "demo-db"
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
    krb5_conf: Path
    keytab: Path
    principal: str


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


def ensure_directory(settings: Settings) -> dict[str, Any]:
    ds = client(settings, "ds")
    found = [d for d in ds.describe_directories()["DirectoryDescriptions"] if d["Name"] == DOMAIN]
    if found:
        directory_id = found[0]["DirectoryId"]
        _say(f"directory {DOMAIN}: exists as {directory_id}")
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


def ensure_instance(settings: Settings, directory_id: str) -> tuple[dict[str, Any], str | None]:
    rds = client(settings, "rds")
    try:
        inst = rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)["DBInstances"][0]
        _say(f"DB instance {INSTANCE}: exists")
        password = None
    except rds.exceptions.DBInstanceNotFoundFault:
        password = random_password()
        started = time.monotonic()
        rds.create_db_instance(
            DBInstanceIdentifier=INSTANCE,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="master",
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


def _available(rds: Any) -> Any:
    inst = rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)["DBInstances"][0]
    if inst["DBInstanceStatus"] == "failed":
        raise RuntimeError("the DB instance failed")
    ok = inst["DBInstanceStatus"] == "available" and all(
        m["Status"] == "kerberos-enabled" for m in inst["DomainMemberships"]
    )
    return inst if ok else None


def create_login(endpoint: str, address: str, realm: str, master_password: str) -> None:
    """Seed step 6, as the master user over the network with scram-sha-256."""
    sql = f'CREATE USER "{USER}@{realm}" WITH LOGIN;\nGRANT rds_ad TO "{USER}@{realm}";\n'
    env = {**os.environ, "PGPASSWORD": master_password}  # env, not argv: not world-readable
    subprocess.run(
        [
            "psql",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            f"host={endpoint} hostaddr={address} dbname=postgres user=master",
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
    endpoint = inst["Endpoint"]["Address"]
    demo_dir = settings.home / "demo"
    demo_dir.mkdir(mode=0o700, exist_ok=True)
    conf = demo_dir / "krb5.conf"
    conf.write_text(render_krb5_conf(realm, desc["DnsIpAddrs"], [endpoint]))
    keytab = demo_dir / f"{USER}.keytab"
    if new_user or not keytab.exists():
        export_keytab(directory_id, f"{USER}@{realm}", keytab)
    if master_password:
        import socket

        create_login(endpoint, socket.gethostbyname(endpoint), realm, master_password)
    return DemoResult(directory_id, realm, endpoint, conf, keytab, f"{USER}@{realm}")


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
                f"host={result.endpoint} dbname=postgres user={result.principal}",
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
