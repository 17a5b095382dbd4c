"""update-number-of-domain-controllers on the session's directory: a third and a fourth DC
join and replicate (a user made through one DC is there on the new ones), then going back
to two demotes them from the domain and gives back their addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.acceptance.conftest import REALM
from tests.acceptance.test_seed_flow import kinit, new_directory_user
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def _controllers(stack: StackHandle, directory_id: str) -> list[dict[str, Any]]:
    return list(
        stack.aws("ds", "describe-domain-controllers", "--directory-id", directory_id)[
            "DomainControllers"
        ]
    )


def test_more_domain_controllers_join_and_fewer_leave(
    stack: StackHandle, directory: dict[str, Any], tmp_path: Path
) -> None:
    did = directory["DirectoryId"]
    stack.aws("ds", "update-number-of-domain-controllers", "--directory-id", did,
              "--desired-number", "4")  # fmt: skip
    shown = _controllers(stack, did)
    assert len(shown) == 4 and {c["Status"] for c in shown[2:]} == {"Creating"}

    def four() -> Any:
        found = _controllers(stack, did)
        return found if [c["Status"] for c in found] == ["Active"] * 4 else None

    found = stack.wait("four Active domain controllers", four, timeout=300)
    assert [c["SubnetId"] for c in found[2:]] == directory["VpcSettings"]["SubnetIds"]
    desc = stack.aws("ds", "describe-directories", "--directory-ids", did)["DirectoryDescriptions"][
        0
    ]
    assert desc["Stage"] == "Active" and desc["DesiredNumberOfDomainControllers"] == 4
    assert sorted(desc["DnsIpAddrs"]) == sorted(c["DnsIpAddr"] for c in found)

    # A user made now reaches the new DCs by replication: kinit against dc3 alone.
    password = new_directory_user(stack, did, "dcuser")
    dc3 = stack.kdcs({**desc, "DnsIpAddrs": [found[2]["DnsIpAddr"]]})
    conf = tmp_path / "krb5.conf"
    conf.write_text(render_krb5_conf(REALM, dc3))
    env = {"KRB5_CONFIG": str(conf), "KRB5CCNAME": f"FILE:{tmp_path}/cc", "PATH": "/usr/bin:/bin"}

    def replicated() -> bool:
        return kinit(env, f"dcuser@{REALM}", password).returncode == 0

    stack.wait("dcuser on dc3", replicated, timeout=120, every=1.0)

    stack.aws("ds", "update-number-of-domain-controllers", "--directory-id", did,
              "--desired-number", "2")  # fmt: skip

    def two() -> Any:
        left = _controllers(stack, did)
        return left if len(left) == 2 else None

    left = stack.wait("two domain controllers", two, timeout=300)
    assert [c["Status"] for c in left] == ["Active", "Active"]
    interfaces = stack.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "description",
                  "Values": [f"AWS created network interface for directory {did}"]}]
    )["NetworkInterfaces"]  # fmt: skip
    assert len(interfaces) == 2
    # The two left still replicate with each other: a user made now kinits on dc2 alone.
    password = new_directory_user(stack, did, "dcuser2")
    conf.write_text(
        render_krb5_conf(REALM, stack.kdcs({**desc, "DnsIpAddrs": [left[1]["DnsIpAddr"]]}))
    )
    stack.wait(
        "dcuser2 on dc2",
        lambda: kinit(env, f"dcuser2@{REALM}", password).returncode == 0,
        timeout=120,
        every=1.0,
    )
