"""`pgrealm demo` (what `make up` runs) on a real stack: its printed login commands work as
printed on a machine whose psql defaults to another port, and it brings back a demo whose
directory failed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest

from pgrealm.store import Store
from tests.fixtures.stack import ROOT, StackHandle

pytestmark = pytest.mark.acceptance

DEMO_ACCOUNT, REGION = "000000000000", "us-east-1"


def _demo(stack: StackHandle) -> subprocess.CompletedProcess[str]:
    # PGPORT stands for a Debian whose own cluster took 5433: psql's default port is not
    # the endpoint's, so only a command that names the port connects.
    env = {**stack.env, "PGPORT": "5433"}
    return subprocess.run(
        [sys.executable, "-m", "pgrealm", "demo"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600 * stack.timeout_mult,
    )


def _printed_commands(out: str) -> list[str]:
    wanted = ("export KRB5_CONFIG=", "kinit -kt ", "psql ")
    return [line.strip() for line in out.splitlines() if line.strip().startswith(wanted)]


def _run_as_printed(stack: StackHandle, commands: list[str], tmp: str) -> str:
    script = "\n".join(
        [
            *commands[:2],
            f"{commands[2]} -At -c 'SELECT current_user, gss_authenticated "
            "FROM pg_stat_gssapi WHERE pid = pg_backend_pid()'",
        ]
    )
    env = {"PATH": os.environ["PATH"], "PGPORT": "5433", "KRB5CCNAME": f"FILE:{tmp}/cc"}
    done = subprocess.run(
        ["bash", "-e", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _fail_the_directory(stack: StackHandle) -> str:
    """Fault injection: the demo's directory as a failed provisioning leaves it."""
    store = Store(stack.home / "state.db")
    (key, _), *_ = [
        (k, d) for k, d in store.items("directory") if k[0] == DEMO_ACCOUNT and k[1] == REGION
    ]

    def failed(doc: dict[str, Any]) -> None:
        doc["aws"]["Stage"] = "Failed"
        doc["aws"]["StageReason"] = "Directory creation failed: injected by the test."

    store.update("directory", *key, failed)
    return key[2]


def test_the_demo_and_its_printed_commands(stack: StackHandle, tmp_path: Any) -> None:
    first = _demo(stack)
    assert first.returncode == 0, first.stdout + first.stderr
    commands = _printed_commands(first.stdout)
    assert len(commands) == 3, first.stdout
    assert re.search(r"port=5432 ", commands[2]), commands[2]
    assert _run_as_printed(stack, commands, str(tmp_path)) == "alice@CORP.EXAMPLE.COM|t"

    # Stopped, and leaving its directory at the next reboot: the demo starts it and keeps
    # it in the directory.
    rds = stack.client("rds", account="test")
    rds.modify_db_instance(DBInstanceIdentifier="demo-db", Domain="none")
    stack.wait(
        "the change to be recorded",
        lambda: rds.describe_db_instances()["DBInstances"][0]["DBInstanceStatus"] == "available",
    )
    rds.stop_db_instance(DBInstanceIdentifier="demo-db")
    stack.wait(
        "demo-db to stop",
        lambda: rds.describe_db_instances()["DBInstances"][0]["DBInstanceStatus"] == "stopped",
    )
    back = _demo(stack)
    assert back.returncode == 0, back.stdout + back.stderr
    assert "stopped; starting it" in back.stdout
    assert "pending-disable-kerberos; joining it to" in back.stdout
    assert _run_as_printed(stack, _printed_commands(back.stdout), str(tmp_path)) == (
        "alice@CORP.EXAMPLE.COM|t"
    )

    # The instance goes first (a directory with a joined instance cannot be deleted);
    # then its directory fails: the next run deletes it, says so, and starts again.
    rds.delete_db_instance(DBInstanceIdentifier="demo-db", SkipFinalSnapshot=True)
    stack.wait("demo-db to go", lambda: not rds.describe_db_instances()["DBInstances"])
    broken = _fail_the_directory(stack)
    again = _demo(stack)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"directory {broken}: Failed (Directory creation failed: injected by the test.)" in (
        again.stdout
    )
    assert "deleting it and starting again" in again.stdout
    assert _run_as_printed(stack, _printed_commands(again.stdout), str(tmp_path)) == (
        "alice@CORP.EXAMPLE.COM|t"
    )
    ds = stack.client("ds", account="test")
    ids = [d["DirectoryId"] for d in ds.describe_directories()["DirectoryDescriptions"]]
    assert broken not in ids and len(ids) == 1
    rds.delete_db_instance(DBInstanceIdentifier="demo-db", SkipFinalSnapshot=True)
    stack.wait("demo-db to go", lambda: not rds.describe_db_instances()["DBInstances"])
    ds.delete_directory(DirectoryId=ids[0])
