"""RDS events from an instance's changes: RDS's messages, and pgrealm's for memberships."""

from __future__ import annotations

from typing import Any

from pgrealm.model.events import instance_events


def _doc(status: str, members: list[dict[str, str]] | None = None, **extra: Any) -> Any:
    return {"aws": {"DBInstanceStatus": status, "DomainMemberships": members or []}, **extra}


def test_status_changes_are_rds_events() -> None:
    assert instance_events(_doc("creating"), _doc("backing-up")) == [
        ("DB instance created", "creation")
    ]
    assert instance_events(_doc("stopping"), _doc("stopped")) == [
        ("DB instance stopped", "notification")
    ]
    assert instance_events(_doc("rebooting"), _doc("available")) == [
        ("DB instance restarted", "availability")
    ]
    failed = instance_events(_doc("creating"), _doc("failed", status_reason="initdb failed: x"))
    assert failed == [("DB instance put into failed state: initdb failed: x", "failure")]
    assert instance_events(_doc("available"), _doc("available")) == []


def test_membership_changes() -> None:
    joining = [{"Domain": "d-1", "Status": "enabling-kerberos"}]
    enabled = [{"Domain": "d-1", "Status": "kerberos-enabled"}]
    assert instance_events(_doc("modifying", joining), _doc("available", enabled)) == [
        ("Kerberos authentication enabled with domain d-1", "configuration change")
    ]
    failed = [{"Domain": "d-1", "Status": "enable-kerberos-failed"}]
    events = instance_events(
        _doc("modifying", joining), _doc("modifying", failed, membership_reason="no KDC")
    )
    assert events == [
        ("Kerberos authentication could not be enabled with domain d-1: no KDC", "failure")
    ]
    assert instance_events(_doc("modifying", enabled), _doc("available")) == [
        ("Kerberos authentication disabled: left domain d-1", "configuration change")
    ]
