"""Faults of the machine: the stack's home on a file system that fills up. A create fails
with a reason that says so, what exists keeps working, and once space is freed creates
work again. The home is a small tmpfs of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgrealm.devstack import DevStack, cleanup, free_port
from tests.acceptance.conftest import TRUST, new_password
from tests.fixtures.addresses import spare_block

pytestmark = pytest.mark.acceptance


@pytest.fixture
def small_home() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    home = Path(tempfile.mkdtemp(prefix="pgrealm-full-"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40m,mode=0711", "tmpfs", str(home)], check=True
    )
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)
        home.rmdir()


def _directory(stack: DevStack, name: str) -> str:
    subnets = stack.client("ec2").describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"][:2]
    out = stack.client("ds").create_microsoft_ad(
        Name=name,
        ShortName=name.split(".")[0].upper(),
        Password=new_password(),
        Edition="Standard",
        VpcSettings={"VpcId": subnets[0]["VpcId"], "SubnetIds": [s["SubnetId"] for s in subnets]},
    )
    return str(out["DirectoryId"])


def _settled(stack: DevStack, directory_id: str) -> dict[str, Any]:
    ds = stack.client("ds")

    def done() -> Any:
        desc = ds.describe_directories(DirectoryIds=[directory_id])["DirectoryDescriptions"][0]
        return desc if desc["Stage"] in ("Active", "Failed") else None

    result: dict[str, Any] = stack.wait("the directory to settle", done, timeout=300)
    return result


def test_a_full_state_directory(small_home: Path) -> None:
    stack = DevStack(small_home, free_port(), spare_block(), account="555555555555")
    stack.start()
    ok = False
    try:
        iam = stack.client("iam")
        iam.create_role(RoleName="before", AssumeRolePolicyDocument=json.dumps(TRUST))
        failed = _settled(stack, _directory(stack, "full.example.com"))
        assert failed["Stage"] == "Failed"
        assert "no space left for its files" in failed["StageReason"], failed["StageReason"]
        assert "\n" not in failed["StageReason"]
        assert iam.get_role(RoleName="before")["Role"]["RoleName"] == "before"  # still there

        subprocess.run(["mount", "-o", "remount,size=600m", str(small_home)], check=True)
        stack.client("ds").delete_directory(DirectoryId=failed["DirectoryId"])
        again = _settled(stack, _directory(stack, "roomy.example.com"))
        assert again["Stage"] == "Active", again.get("StageReason")
        stack.client("ds").delete_directory(DirectoryId=again["DirectoryId"])
        deadline = time.monotonic() + 120
        while stack.client("ds").describe_directories()["DirectoryDescriptions"]:
            assert time.monotonic() < deadline, "the directories did not go"
            time.sleep(0.5)
        ok = True
    finally:
        stack.stop()
        cleanup(small_home, keep=not ok, block=spare_block())
