"""A ds log subscription, through the aws CLI, on real Samba: the DCs' authentication
events reach the CloudWatch Logs group it names, so a kinit that failed for a wrong
password is there with the principal and Samba's reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.acceptance.conftest import REALM
from tests.acceptance.test_seed_flow import kinit, new_directory_user
from tests.acceptance.test_trusts import _dcs_settled
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def test_failed_kinits_reach_the_subscribed_log_group(
    stack: StackHandle, directory: dict[str, Any], tmp_path: Path
) -> None:
    did = directory["DirectoryId"]
    group = f"/aws/directoryservice/{did}"
    # lola exists before the subscription restarts the DCs: the directory's data calls go
    # to one DC, and one made while it restarts would go to the other.
    new_directory_user(stack, did, "lola")
    missing = stack.aws("ds", "create-log-subscription", "--directory-id", did,
                        "--log-group-name", group, check=False)  # fmt: skip
    assert "(EntityDoesNotExistException)" in missing.stderr, missing.stderr
    stack.aws("logs", "create-log-group", "--log-group-name", group)
    stack.aws("ds", "create-log-subscription", "--directory-id", did, "--log-group-name", group)
    again = stack.aws("ds", "create-log-subscription", "--directory-id", did,
                      "--log-group-name", group, check=False)  # fmt: skip
    assert "(EntityAlreadyExistsException)" in again.stderr, again.stderr
    [listed] = stack.aws("ds", "list-log-subscriptions", "--directory-id", did)["LogSubscriptions"]
    assert listed["LogGroupName"] == group

    conf = tmp_path / "krb5.conf"
    conf.write_text(render_krb5_conf(REALM, stack.kdcs(directory)))
    env = {"KRB5_CONFIG": str(conf), "KRB5CCNAME": f"FILE:{tmp_path}/cc", "PATH": "/usr/bin:/bin"}

    def failure_logged() -> Any:
        # The DCs restart with the auditing on, one at a time; until then, nothing is logged.
        assert kinit(env, f"lola@{REALM}", "not-her-password").returncode != 0
        found = stack.aws("logs", "filter-log-events", "--log-group-name", group,
                          "--filter-pattern", '"lola" "Kerberos KDC"')["events"]  # fmt: skip
        return [
            e
            for e in found
            if json.loads(e["message"])["Authentication"]["status"] != "NT_STATUS_OK"
        ]

    events = stack.wait(
        "lola's failed kinit in the log group", failure_logged, timeout=180, every=3
    )
    event = json.loads(events[0]["message"])["Authentication"]
    assert event["clientAccount"].lower().startswith("lola"), event
    streams = stack.aws("logs", "describe-log-streams", "--log-group-name", group)["logStreams"]
    assert len(streams) == len(directory["DnsIpAddrs"])

    stack.aws("ds", "delete-log-subscription", "--directory-id", did)
    assert (
        stack.aws("ds", "list-log-subscriptions", "--directory-id", did)["LogSubscriptions"] == []
    )
    stack.aws("logs", "delete-log-group", "--log-group-name", group)
    _dcs_settled(stack, did)  # the next module finds the DCs restarted without auditing
