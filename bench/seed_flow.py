"""The seed's flow from nothing to a Kerberos psql login, through the real aws CLI,
each step timed. Waits for Active/available poll with boto3 every 50 ms, so the wait
times are not rounded up by the CLI's ~0.5 s start-up.

Secrets (the Admin, alice's and the master password) reach the aws CLI through
``--cli-input-json`` files (0600), psql through PGPASSWORD and kinit on stdin.

Run alone: ``python bench/seed_flow.py`` (starts and stops its own stack).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stack import BenchStack, running_stack
from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.passwords import random_password

__all__ = ["SeedResult", "after_seed_flow", "new_password", "run_seed_flow"]

DOMAIN = "corp.example.com"
REALM = DOMAIN.upper()
ROLE = "rds-ad-role"
INSTANCE = "benchdb"
USER = "alice"
SCRAM_USER = "bench_scram"
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


def new_password() -> str:
    return random_password()


@dataclass
class SeedResult:
    steps: list[tuple[str, float]] = field(default_factory=list)
    directory: dict[str, Any] = field(default_factory=dict)
    instance: dict[str, Any] = field(default_factory=dict)
    directory_active_s: float = 0.0  # from the CLI call's start to Active observed
    directory_active_api_s: float = 0.0  # from the API's answer to Active observed
    instance_available_s: float = 0.0
    instance_kerberos_s: float = 0.0  # the membership kerberos-enabled: logins work
    instance_available_api_s: float = 0.0
    alice_password: str = ""
    scram_password: str = ""
    master_password: str = ""  # the instance's master user (benchmarks that add roles)
    client_dir: Path = Path()

    @property
    def endpoint(self) -> str:
        return str(self.instance["Endpoint"]["Address"])

    @property
    def address(self) -> str:
        return socket.gethostbyname(self.endpoint)

    def client_env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KRB5_CONFIG": str(self.client_dir / "krb5.conf"),
            "KRB5CCNAME": f"FILE:{self.client_dir / 'ccache'}",
        }


class _Timer:
    def __init__(self, result: SeedResult) -> None:
        self.result = result

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        value = action()
        elapsed = time.monotonic() - started
        self.result.steps.append((name, elapsed))
        print(f"  seed: {name:<58} {elapsed * 1000:8.0f} ms", flush=True)
        return value


def run_seed_flow(stack: BenchStack) -> SeedResult:
    res = SeedResult(client_dir=stack.home / "client")
    res.client_dir.mkdir(mode=0o700, exist_ok=True)
    t = _Timer(res)
    subnets = t.step(
        "ec2 describe-subnets (default VPC)",
        lambda: stack.aws(
            "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true"
        )["Subnets"][:2],
    )
    _create_directory(stack, t, subnets)
    t.step("iam create-role", lambda: _create_role(stack))
    t.step("iam attach-role-policy", lambda: _attach_policy(stack))
    did = res.directory["DirectoryId"]
    t.step(
        "ds enable-directory-data-access",
        lambda: stack.aws("ds", "enable-directory-data-access", "--directory-id", did),
    )
    t.step(
        "ds-data create-user alice",
        lambda: stack.aws(
            "ds-data", "create-user", "--directory-id", did, "--sam-account-name", USER
        ),
    )
    res.alice_password = new_password()
    t.step(
        "ds reset-user-password alice",
        lambda: stack.aws(
            "ds",
            "reset-user-password",
            inputs={"DirectoryId": did, "UserName": USER, "NewPassword": res.alice_password},
        ),
    )
    _create_instance(stack, t, subnets)
    master = res.master_password = res.instance.pop("_master_password")
    res.scram_password = new_password()
    t.step("psql (master, scram): CREATE USER alice, GRANT rds_ad", lambda: _logins(res, master))
    t.step("kinit alice (password on stdin)", lambda: _kinit(res))
    t.step("psql as alice@REALM with GSSAPI", lambda: _kerberos_login(res))
    return res


def _create_directory(stack: BenchStack, t: _Timer, subnets: list[dict[str, Any]]) -> None:
    res = t.result
    spec = {
        "Name": DOMAIN,
        "ShortName": "CORP",
        "Password": new_password(),
        "Edition": "Standard",
        "VpcSettings": {
            "VpcId": subnets[0]["VpcId"],
            "SubnetIds": [s["SubnetId"] for s in subnets],
        },
    }
    started = time.monotonic()
    did = t.step(
        "ds create-microsoft-ad (API answer)",
        lambda: stack.aws("ds", "create-microsoft-ad", inputs=spec)["DirectoryId"],
    )
    answered = time.monotonic()
    ds = stack.client("ds")

    def active() -> Any:
        d = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]
        if d["Stage"] == "Failed":
            raise RuntimeError(f"directory failed: {d.get('StageReason')}")
        return d if d["Stage"] == "Active" else None

    res.directory = t.step(
        "  ...directory Creating -> Active", lambda: stack.wait("Active", active, 300, every=0.05)
    )
    res.directory_active_s = time.monotonic() - started
    res.directory_active_api_s = time.monotonic() - answered


def _create_role(stack: BenchStack) -> None:
    stack.aws(
        "iam",
        "create-role",
        "--role-name",
        ROLE,
        "--assume-role-policy-document",
        json.dumps(TRUST),
    )


def _attach_policy(stack: BenchStack) -> None:
    stack.aws("iam", "attach-role-policy", "--role-name", ROLE, "--policy-arn", POLICY_ARN)


def _create_instance(stack: BenchStack, t: _Timer, subnets: list[dict[str, Any]]) -> None:
    res = t.result
    t.step(
        "rds create-db-subnet-group",
        lambda: stack.aws(
            "rds",
            "create-db-subnet-group",
            "--db-subnet-group-name",
            "bench-subnets",
            "--db-subnet-group-description",
            "benchmark",
            "--subnet-ids",
            *[s["SubnetId"] for s in subnets],
        ),
    )
    master = new_password()
    spec = {
        "DBInstanceIdentifier": INSTANCE,
        "DBInstanceClass": "db.t3.micro",
        "Engine": "postgres",
        "MasterUsername": "master",
        "MasterUserPassword": master,
        "AllocatedStorage": 20,
        "DBSubnetGroupName": "bench-subnets",
        "Domain": res.directory["DirectoryId"],
        "DomainIAMRoleName": ROLE,
    }
    started = time.monotonic()
    t.step(
        "rds create-db-instance --domain (API answer)",
        lambda: stack.aws("rds", "create-db-instance", inputs=spec),
    )
    answered = time.monotonic()
    rds = stack.client("rds")

    def ready() -> Any:
        inst = rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)["DBInstances"][0]
        if inst["DBInstanceStatus"] == "failed":
            raise RuntimeError("the DB instance failed")
        members = all(m["Status"] == "kerberos-enabled" for m in inst["DomainMemberships"])
        if members and not res.instance_kerberos_s:  # logins work from here on
            res.instance_kerberos_s = time.monotonic() - started
        # then backing-up (its first automated backup, as on RDS) until available
        return inst if inst["DBInstanceStatus"] == "available" and members else None

    res.instance = t.step(
        "  ...instance creating -> available + kerberos-enabled",
        lambda: stack.wait("available", ready, 300, every=0.05),
    )
    res.instance_available_s = time.monotonic() - started
    res.instance_available_api_s = time.monotonic() - answered
    res.instance["_master_password"] = master
    (res.client_dir / "krb5.conf").write_text(
        render_krb5_conf(REALM, stack.kdcs(res.directory), [res.endpoint])
    )


def _psql(env: dict[str, str], conninfo: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", conninfo],
        input=sql,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql: {done.stderr.strip()}")
    return done.stdout.strip()


def _logins(res: SeedResult, master: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": master}
    sql = (
        f'CREATE USER "{USER}@{REALM}" WITH LOGIN;\n'
        f'GRANT rds_ad TO "{USER}@{REALM}";\n'
        # psql reads this from stdin: the password is not on any command line.
        f"CREATE USER {SCRAM_USER} WITH LOGIN PASSWORD '{res.scram_password}';\n"
    )
    _psql(env, f"host={res.endpoint} port=5432 dbname=postgres user=master sslmode=disable", sql)


def _kinit(res: SeedResult) -> None:
    """kinit, retried a few times: a second DC may not have the new password replicated yet."""
    error = ""
    for _ in range(10):
        done = subprocess.run(
            ["kinit", f"{USER}@{REALM}"],
            input=res.alice_password + "\n",
            env=res.client_env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode == 0:
            return
        error = done.stderr.strip()
        print(f"  seed: kinit failed, retrying: {error}", flush=True)
        time.sleep(1)
    raise RuntimeError(f"kinit: {error}")


def _kerberos_login(res: SeedResult) -> None:
    out = _psql(
        res.client_env(),
        f"host={res.endpoint} port=5432 dbname=postgres user={USER}@{REALM}",
        "SELECT current_user, gss_authenticated, encrypted FROM pg_stat_gssapi "
        "WHERE pid = pg_backend_pid();\n",
    )
    if out != f"{USER}@{REALM}|t|t":
        raise RuntimeError(f"unexpected Kerberos login result: {out!r}")


def main() -> None:
    with running_stack() as stack:
        res = run_seed_flow(stack)
        total = sum(s for _, s in res.steps)
        print(f"seed flow total {total:.1f} s; directory Active {res.directory_active_s:.1f} s")


if __name__ == "__main__":
    main()


def after_seed_flow(prog: str, work: Callable[[BenchStack, SeedResult], str], output: Path) -> None:
    """A benchmark's main: ``work`` on a stack of its own after the seed flow; the report
    it renders is printed and written to ``output``."""
    if os.geteuid() != 0:
        raise SystemExit(f"python -m {prog} needs root (a stack, Samba, PostgreSQL)")
    with running_stack() as stack:
        print(f"stack: {stack.url}, home {stack.home}, block {stack.block}", flush=True)
        text = work(stack, run_seed_flow(stack))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)
    print(f"written to {output}")
