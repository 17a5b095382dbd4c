"""Directory snapshots on real Samba, through the aws CLI: create-snapshot backs the
directory up, restore-from-snapshot takes it back to that moment (a user made before is
there on both DCs, one made after is gone), delete-snapshot removes it. A snapshot whose
backup was lost on disk fails to restore (RestoreFailed, with the reason) and leaves the
DCs serving; restoring a good one then brings the directory back. A directory of its
own, so the session's keeps its users."""

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


def _snapshot(stack: StackHandle, did: str, name: str) -> str:
    """A Completed snapshot of ``did``, named ``name``."""
    snapshot_id = str(
        stack.aws("ds", "create-snapshot", "--directory-id", did, "--name", name)["SnapshotId"]
    )

    def completed() -> Any:
        found = stack.aws("ds", "describe-snapshots", "--snapshot-ids", snapshot_id)["Snapshots"]
        assert found[0]["Status"] != "Failed"
        return found[0]["Status"] == "Completed"

    stack.wait(f"the snapshot {name}", completed, timeout=120)
    return snapshot_id


def _each_dc(stack: StackHandle, did: str, tmp_path: Path) -> list[dict[str, str]]:
    """A Kerberos client environment for each of the directory's DCs, alone."""
    envs = []
    for n, address in enumerate(stack.kdcs(_stage(stack, did))):
        conf = tmp_path / f"krb5-{n}.conf"
        conf.write_text(render_krb5_conf(REALM, [address]))
        envs.append({"KRB5_CONFIG": str(conf), "KRB5CCNAME": f"FILE:{tmp_path}/cc{n}",
                     "PATH": "/usr/bin:/bin"})  # fmt: skip
    return envs


def _kinit_works(stack: StackHandle, env: dict[str, str], password: str) -> None:
    stack.wait(
        f"before@ with {env['KRB5_CONFIG']}",
        lambda: kinit(env, f"before@{REALM}", password).returncode == 0,
        timeout=120,
        every=1.0,
    )


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

    snapshot_id = _snapshot(stack, did, "nightly")
    shown = stack.aws("ds", "describe-snapshots", "--snapshot-ids", snapshot_id)["Snapshots"][0]
    assert (shown["Type"], shown["Name"], shown["DirectoryId"]) == ("Manual", "nightly", did)
    limits = stack.aws("ds", "get-snapshot-limits", "--directory-id", did)["SnapshotLimits"]
    assert limits["ManualSnapshotsCurrentCount"] == 1
    after = new_directory_user(stack, did, "after")

    stack.aws("ds", "restore-from-snapshot", "--snapshot-id", snapshot_id)
    stack.wait("Active again", lambda: _stage(stack, did)["Stage"] == "Active", timeout=300)

    for env in _each_dc(stack, did, tmp_path):  # each on its own: dc2 joined again from dc1
        _kinit_works(stack, env, before)
        gone = kinit(env, f"after@{REALM}", after)
        assert gone.returncode != 0 and "not found" in gone.stderr, gone.stderr

    # A snapshot whose backup is lost fails to restore; the DCs keep serving.
    lost = _snapshot(stack, did, "lost")
    backup = stack.home / "directory-snapshots" / did / lost / "backup.tar.bz2"
    backup.write_bytes(backup.read_bytes()[:4096])  # what a failing disk leaves
    stack.aws("ds", "restore-from-snapshot", "--snapshot-id", lost)

    def restore_failed() -> Any:
        shown = _stage(stack, did)
        return shown if shown["Stage"] == "RestoreFailed" else None

    failed = stack.wait("RestoreFailed", restore_failed, timeout=120)
    assert lost in failed["StageReason"], failed
    for env in _each_dc(stack, did, tmp_path):
        _kinit_works(stack, env, before)
    stack.aws("ds", "restore-from-snapshot", "--snapshot-id", snapshot_id)
    stack.wait("Active again", lambda: _stage(stack, did)["Stage"] == "Active", timeout=300)

    for sid in (snapshot_id, lost):
        stack.aws("ds", "delete-snapshot", "--snapshot-id", sid)
    assert stack.aws("ds", "describe-snapshots", "--directory-id", did)["Snapshots"] == []
    stack.aws("ds", "delete-directory", "--directory-id", did)

    def deleted() -> bool:
        done = stack.aws("ds", "describe-directories", "--directory-ids", did, check=False)
        return done.returncode != 0

    stack.wait("the directory to go", deleted, timeout=120)
