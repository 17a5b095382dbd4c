"""Directory snapshots on real Samba, through the aws CLI: create-snapshot backs the
directory up, restore-from-snapshot takes it back to that moment (a user made before is
there on both DCs, one made after is gone), delete-snapshot removes it. A directory of
its own, so the session's keeps its users."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.acceptance.conftest import new_password
from tests.acceptance.test_seed_flow import kinit, new_directory_user
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

DOMAIN = "snap.example.com"
REALM = DOMAIN.upper()


def _stage(stack: StackHandle, directory_id: str) -> dict[str, Any]:
    found = stack.aws("ds", "describe-directories", "--directory-ids", directory_id)
    return dict(found["DirectoryDescriptions"][0])


def test_restore_takes_the_directory_back_to_its_snapshot(
    stack: StackHandle, tmp_path: Path
) -> None:
    subnets = stack.aws("ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true")[
        "Subnets"
    ][:2]
    did = stack.aws(
        "ds", "create-microsoft-ad", "--name", DOMAIN, "--short-name", "SNAP",
        "--edition", "Standard", "--vpc-settings",
        json.dumps({"VpcId": subnets[0]["VpcId"], "SubnetIds": [s["SubnetId"] for s in subnets]}),
        inputs={"Password": new_password()},
    )["DirectoryId"]  # fmt: skip
    stack.wait("Active", lambda: _stage(stack, did)["Stage"] == "Active", timeout=240)
    stack.aws("ds", "enable-directory-data-access", "--directory-id", did)
    before = new_directory_user(stack, did, "before")

    snapshot_id = stack.aws("ds", "create-snapshot", "--directory-id", did, "--name", "nightly")[
        "SnapshotId"
    ]

    def completed() -> Any:
        found = stack.aws("ds", "describe-snapshots", "--snapshot-ids", snapshot_id)["Snapshots"]
        assert found[0]["Status"] != "Failed"
        return found[0] if found[0]["Status"] == "Completed" else None

    shown = stack.wait("the snapshot", completed, timeout=120)
    assert (shown["Type"], shown["Name"], shown["DirectoryId"]) == ("Manual", "nightly", did)
    limits = stack.aws("ds", "get-snapshot-limits", "--directory-id", did)["SnapshotLimits"]
    assert limits["ManualSnapshotsCurrentCount"] == 1
    after = new_directory_user(stack, did, "after")

    stack.aws("ds", "restore-from-snapshot", "--snapshot-id", snapshot_id)
    stack.wait("Active again", lambda: _stage(stack, did)["Stage"] == "Active", timeout=300)

    desc = _stage(stack, did)
    for address in stack.kdcs(desc):  # each DC on its own: dc2 joined again from dc1
        conf = tmp_path / "krb5.conf"
        conf.write_text(render_krb5_conf(REALM, [address]))
        env = {
            "KRB5_CONFIG": str(conf),
            "KRB5CCNAME": f"FILE:{tmp_path}/cc",
            "PATH": "/usr/bin:/bin",
        }
        stack.wait(
            f"before@ on {address}",
            lambda e=env: kinit(e, f"before@{REALM}", before).returncode == 0,
            timeout=120,
            every=1.0,
        )
        gone = kinit(env, f"after@{REALM}", after)
        assert gone.returncode != 0 and "not found" in gone.stderr, gone.stderr

    stack.aws("ds", "delete-snapshot", "--snapshot-id", snapshot_id)
    assert stack.aws("ds", "describe-snapshots", "--directory-id", did)["Snapshots"] == []
    stack.aws("ds", "delete-directory", "--directory-id", did)

    def deleted() -> bool:
        done = stack.aws("ds", "describe-directories", "--directory-ids", did, check=False)
        return done.returncode != 0

    stack.wait("the directory to go", deleted, timeout=120)
