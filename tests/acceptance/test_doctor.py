"""The client kit of seed step 7 on the real stack: ``pgrealm client krb5-conf``,
``connect`` and ``doctor``, the doctor tried on one deliberately broken variant each.

Each variant is its own krb5.conf, credentials cache or keytab (k5test's special_env);
the only thing broken in the shared directory is a DC held with SIGSTOP, released in
``finally``. One DB instance and two users are made here: dora (in rds_ad) and dave
(a login without rds_ad).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pgrealm.cli.main import cli
from pgrealm.store import Store
from tests.acceptance.conftest import REALM, new_password
from tests.acceptance.test_seed_flow import kinit, psql, wait_available
from tests.fixtures.stack import ROOT, StackHandle

pytestmark = pytest.mark.acceptance

INSTANCE = "doctordb"  # unique: endpoint names are shared in /etc/hosts across stacks
DORA, DAVE = f"dora@{REALM}", f"dave@{REALM}"


def pgrealm(
    stack: StackHandle,
    env: dict[str, str],
    *args: str,
    input: str | None = None,
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    full = {
        **env,
        "PGREALM_HOME": str(stack.home),
        "PGREALM_API_PORT": str(stack.port),
        "AWS_ACCESS_KEY_ID": stack.account,  # the CLI's --account, as the aws CLI reads it
    }
    return subprocess.run(
        [*prefix, sys.executable, "-m", "pgrealm", *args],
        env=full,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def db(stack: StackHandle, directory: dict[str, Any], rds_role: str) -> dict[str, Any]:
    """doctordb joined to the shared directory, with dora (rds_ad) and dave (no rds_ad)."""
    rds, did = stack.client("rds"), directory["DirectoryId"]
    rds.create_db_subnet_group(
        DBSubnetGroupName="doctor-subnets",
        DBSubnetGroupDescription="for the doctor",
        SubnetIds=directory["VpcSettings"]["SubnetIds"],
    )
    master = new_password()
    rds.create_db_instance(
        DBInstanceIdentifier=INSTANCE,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="master",
        MasterUserPassword=master,
        AllocatedStorage=20,
        DBSubnetGroupName="doctor-subnets",
        Domain=did,
        DomainIAMRoleName=rds_role,
    )
    passwords = {}
    for name in ("dora", "dave"):
        passwords[name] = new_password()
        stack.client("ds-data").create_user(DirectoryId=did, SAMAccountName=name)
        stack.client("ds").reset_user_password(
            DirectoryId=did, UserName=name, NewPassword=passwords[name]
        )
    inst = wait_available(stack, INSTANCE)
    host = inst["Endpoint"]["Address"]
    sql = f'CREATE USER "{DORA}" LOGIN; GRANT rds_ad TO "{DORA}"; CREATE USER "{DAVE}" LOGIN;'
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": master}
    done = psql(env, f"host={host} port=5432 dbname=postgres user=master", sql)
    assert done.returncode == 0, done.stderr
    return {"instance": inst, "passwords": passwords, "directory_id": did}


@pytest.fixture(scope="module")
def client(
    stack: StackHandle, db: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """A client machine's environment: krb5.conf from `pgrealm client krb5-conf`, dora's ticket."""
    tmp = tmp_path_factory.mktemp("doctor")
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "KRB5_CONFIG": str(tmp / "krb5.conf"),
        "KRB5CCNAME": f"FILE:{tmp}/dora.cc",
    }
    out = pgrealm(
        stack,
        env,
        "client",
        "krb5-conf",
        "--db-instance-identifier",
        INSTANCE,
        "--output",
        env["KRB5_CONFIG"],
    )
    assert out.returncode == 0, out.stderr
    assert kinit(env, DORA, db["passwords"]["dora"]).returncode == 0
    return {**env, "TMP": str(tmp)}


def doctor(
    stack: StackHandle,
    env: dict[str, str],
    *args: str,
    user: str = DORA,
    prefix: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    """Run the doctor: in-process through click (fast), or as a process under ``prefix``."""
    argv = ["client", "doctor", INSTANCE, "--user", user, "--json", *args]
    if prefix:
        out = pgrealm(stack, env, *argv, prefix=prefix)
        code, stdout, stderr = out.returncode, out.stdout, out.stderr
    else:
        full = {
            **env,
            "PGREALM_HOME": str(stack.home),
            "PGREALM_API_PORT": str(stack.port),
            "AWS_ACCESS_KEY_ID": stack.account,  # the CLI's --account, as the aws CLI reads it
        }
        result = CliRunner().invoke(cli, argv, env=full)
        code, stdout, stderr = result.exit_code, result.stdout, repr(result.exception)
    assert stdout.startswith("{"), stderr
    report = json.loads(stdout)
    return code, report, {f["check"]: f for f in report["findings"]}


def dc_pids(stack: StackHandle, directory_id: str) -> dict[str, int]:
    """Running DC processes of the directory by name (dc1, dc2), from the supervisor's store."""
    procs = Store(stack.home / "state.db").list("process")
    return {
        p["name"].split("/", 1)[1]: int(p["pid"])
        for p in procs
        if p["name"].startswith(directory_id + "/dc") and p.get("pid")
    }


def test_krb5_conf_for_the_directory(
    stack: StackHandle, db: dict[str, Any], directory: dict[str, Any]
) -> None:
    out = pgrealm(
        stack,
        {"PATH": os.environ["PATH"]},
        "client",
        "krb5-conf",
        "--directory-id",
        db["directory_id"],
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for dc in stack.kdcs(directory):  # where this machine reaches them
        assert f"kdc = {dc}" in text and f"kpasswd_server = {dc}" in text
    assert "rdns = false" in text and "dns_canonicalize_hostname = false" in text
    assert f"{db['instance']['Endpoint']['Address']} = {REALM}" in text
    assert f".corp.example.com = {REALM}" in text


def test_doctor_passes_on_a_healthy_login(
    stack: StackHandle, db: dict[str, Any], client: dict[str, str]
) -> None:
    code, report, checks = doctor(stack, client)
    running = dc_pids(stack, db["directory_id"])
    # Until every DC of the directory runs, the missing ones may only warn.
    bad = {c: f for c, f in checks.items() if f["severity"] not in ("pass", "skip")}
    assert all(
        c.split("/")[-1] not in running and f["severity"] == "warn" for c, f in bad.items()
    ), bad
    assert code == (0 if not bad else 1)
    assert checks["login"]["severity"] == "pass", checks["login"]
    assert "as in the instance keytab" in checks["spn"]["summary"]
    assert checks["clock"]["severity"] == "pass"


def test_connect_runs_kinit_then_psql(
    stack: StackHandle, db: dict[str, Any], client: dict[str, str]
) -> None:
    env = {**client, "KRB5CCNAME": f"FILE:{client['TMP']}/connect.cc"}
    out = pgrealm(
        stack,
        env,
        "client",
        "connect",
        INSTANCE,
        "--user",
        "dora",
        "-c",
        "SELECT current_user, gss_authenticated FROM pg_stat_gssapi WHERE pid = pg_backend_pid()",
        input=db["passwords"]["dora"] + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert f"{DORA} | t" in out.stdout


def test_doctor_names_a_lower_case_realm(stack: StackHandle, client: dict[str, str]) -> None:
    broken = Path(client["TMP"]) / "lower-realm.conf"
    broken.write_text(Path(client["KRB5_CONFIG"]).read_text().replace(REALM, REALM.lower()))
    code, report, checks = doctor(stack, {**client, "KRB5_CONFIG": str(broken)})
    assert code == 2
    assert report["first_problem"] == "krb5-conf"
    assert "case-sensitive" in checks["krb5-conf"]["cause"]


def test_doctor_names_a_missing_ticket(stack: StackHandle, client: dict[str, str]) -> None:
    code, report, checks = doctor(stack, {**client, "KRB5CCNAME": f"FILE:{client['TMP']}/none"})
    assert code == 2
    assert checks["ticket"]["severity"] == "fail"
    assert f"kinit {DORA}" in checks["ticket"]["fix"]


def test_doctor_names_a_role_without_rds_ad(
    stack: StackHandle, db: dict[str, Any], client: dict[str, str]
) -> None:
    env = {**client, "KRB5CCNAME": f"FILE:{client['TMP']}/dave.cc"}
    assert kinit(env, DAVE, db["passwords"]["dave"]).returncode == 0
    code, report, checks = doctor(stack, env, user=DAVE)
    assert code == 2
    assert checks["role"]["severity"] == "fail"
    assert "rds_ad" in checks["role"]["cause"]
    assert f'GRANT rds_ad TO "{DAVE}"' in checks["role"]["fix"]


def test_doctor_names_a_stale_keytab(stack: StackHandle, client: dict[str, str]) -> None:
    keytab = next(stack.home.glob(f"instances/*-{INSTANCE}/krb5.keytab"))
    stale = Path(client["TMP"]) / "stale.keytab"
    stale.write_bytes(with_kvno_shifted(keytab.read_bytes(), -1))
    code, report, checks = doctor(stack, client, "--instance-keytab", str(stale))
    assert code == 2
    assert checks["spn"]["severity"] == "fail"
    assert "stale keytab" in checks["spn"]["summary"]


def test_doctor_names_a_skewed_clock(stack: StackHandle, client: dict[str, str]) -> None:
    code, report, checks = doctor(stack, client, prefix=("faketime", "-f", "+10m"))
    assert code == 2
    assert checks["clock"]["severity"] == "fail"
    assert "10 min" in checks["clock"]["summary"] and "ahead" in checks["clock"]["summary"]
    assert checks["login"]["severity"] == "fail"


def test_doctor_names_a_stopped_dc(
    stack: StackHandle, db: dict[str, Any], client: dict[str, str], directory: dict[str, Any]
) -> None:
    pid = dc_pids(stack, db["directory_id"])["dc1"]
    dc1 = stack.kdcs(directory)[0]
    with held(pid):
        code, report, checks = doctor(stack, client)
    assert code != 0
    for check in ("dns/dc1", "kdc/dc1"):
        assert checks[check]["severity"] in ("warn", "fail"), checks[check]
        assert dc1 in checks[check]["summary"]


@contextmanager
def held(pid: int) -> Iterator[None]:
    """Freeze a DC (its whole process group: samba's workers too); it keeps its sockets."""
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


def with_kvno_shifted(data: bytes, delta: int) -> bytes:
    """A copy of a keytab (format 0x0502, MIT's keytab_file_format) with every kvno moved."""
    out = bytearray(data)
    assert out[:2] == b"\x05\x02"
    pos = 2
    while pos + 4 <= len(out):
        size = struct.unpack_from(">i", out, pos)[0]
        entry, pos = pos + 4, pos + 4 + abs(size)
        if size <= 0:
            continue  # a hole left by a deleted entry
        p = entry
        components = struct.unpack_from(">H", out, p)[0]
        p += 2
        for _ in range(components + 1):  # the realm, then each component
            p += 2 + struct.unpack_from(">H", out, p)[0]
        p += 8  # name type, timestamp
        vno8_at, p = p, p + 1
        p += 2  # enctype
        p += 2 + struct.unpack_from(">H", out, p)[0]  # key
        kvno = out[vno8_at]
        if pos - p >= 4:  # the 32-bit kvno that follows when the entry has room
            kvno = struct.unpack_from(">I", out, p)[0]
            struct.pack_into(">I", out, p, kvno + delta)
        out[vno8_at] = (kvno + delta) & 0xFF
    return bytes(out)


@pytest.mark.parametrize(("shift", "works"), [("+4m", True), ("-4m", True), ("+6m", False)])
def test_logins_keep_ads_five_minute_rule(
    stack: StackHandle, client: dict[str, str], shift: str, works: bool
) -> None:
    """A client clock off by less than five minutes still logs in with its ticket, as with
    AD; more does not (MIT's kinit itself corrects for the KDC's time, so the rule bites at
    the service). The doctor's login check runs the real GSSAPI login under faketime."""
    _, _, checks = doctor(stack, client, prefix=("faketime", "-f", shift))
    assert (checks["login"]["severity"] == "pass") is works, checks["login"]
