"""`pgrealm status` says why a Kerberos join failed, in one line per instance."""

from __future__ import annotations

from pgrealm.cli.main import _instance_line


def test_a_failed_join_shows_its_reason() -> None:
    doc = {
        "aws": {
            "DBInstanceStatus": "available",
            "DomainMemberships": [{"Domain": "d-1", "Status": "enable-kerberos-failed"}],
        },
        "membership_reason": "directory d-1 is Failed",
    }
    assert _instance_line(("111111111111", "us-east-1", "db1"), doc) == (
        "  db instance db1 (111111111111, us-east-1): available; "
        "d-1: enable-kerberos-failed (directory d-1 is Failed)"
    )
