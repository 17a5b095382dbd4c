"""Domain memberships: RDS's Kerberos statuses, their legal moves, the maintenance window,
and a join that cannot complete failing the membership rather than the instance (samba
faked)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pgrealm.engines import postgres, samba
from pgrealm.errors import EngineError
from pgrealm.model.membership import (
    MembershipStatus,
    applied_status,
    check_move,
    in_maintenance_window,
)
from pgrealm.reconcile import db_instance
from pgrealm.reconcile.db_instance import DbInstanceReconciler
from pgrealm.store import Store
from tests.fixtures.settings import settings_in

ACCOUNT, REGION = "111122223333", "us-east-1"


def test_statuses_are_rds_names() -> None:
    assert {s.value for s in MembershipStatus} == {
        "enabling-kerberos",
        "kerberos-enabled",
        "pending-enable-kerberos",
        "pending-maintenance-enable-kerberos",
        "enable-kerberos-failed",
        "pending-disable-kerberos",
        "pending-maintenance-disable-kerberos",
        "disabling-kerberos",
    }


def test_legal_and_illegal_moves() -> None:
    check_move("", "enabling-kerberos")
    check_move("enable-kerberos-failed", "enabling-kerberos")  # the documented retry
    check_move("kerberos-enabled", "disabling-kerberos")
    with pytest.raises(ValueError, match="cannot go from none to kerberos-enabled"):
        check_move("", "kerberos-enabled")
    with pytest.raises(ValueError):
        check_move("disabling-kerberos", "kerberos-enabled")


def test_a_reboot_applies_pending_changes_only() -> None:
    assert applied_status("pending-enable-kerberos") == "enabling-kerberos"
    assert applied_status("pending-disable-kerberos") == "disabling-kerberos"
    assert applied_status("kerberos-enabled") == "kerberos-enabled"


@pytest.mark.parametrize(
    ("window", "moment", "inside"),
    [
        ("sun:05:00-sun:05:30", datetime(2026, 11, 29, 5, 10, tzinfo=UTC), True),  # a Sunday
        ("sun:05:00-sun:05:30", datetime(2026, 11, 29, 5, 30, tzinfo=UTC), False),
        ("sun:05:00-sun:05:30", datetime(2026, 11, 30, 5, 10, tzinfo=UTC), False),
        ("sun:23:30-mon:00:30", datetime(2026, 11, 30, 0, 10, tzinfo=UTC), True),  # wraps
        ("nonsense", datetime(2026, 11, 29, 5, 10, tzinfo=UTC), False),
    ],
)
def test_maintenance_window(window: str, moment: datetime, inside: bool) -> None:
    assert in_maintenance_window(window, moment) is inside


class _Directories:
    def dc(self, directory: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(name="dc1", domain=SimpleNamespace(dns_name="corp.example.com"))


def _reconciler(tmp_path: Path, store: Store) -> DbInstanceReconciler:
    settings = settings_in(tmp_path)
    return DbInstanceReconciler(store, settings, None, None, _Directories())  # type: ignore[arg-type]


def _instance(store: Store, stage: str) -> tuple[tuple[str, str, str], dict[str, Any]]:
    directory = {"aws": {"DirectoryId": "d-0000000001", "Stage": stage}, "desired": "present"}
    store.put("directory", ACCOUNT, REGION, "d-0000000001", directory)
    doc = {
        "aws": {
            "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:joiner",
            "DBInstanceIdentifier": "joiner",
            "Endpoint": {"Address": "joiner.example.internal"},
            "DomainMemberships": [
                {
                    "Domain": "d-0000000001",
                    "FQDN": "corp.example.com",
                    "Status": "enabling-kerberos",
                }
            ],
        },
        "address": "127.160.0.9",
        "directory": [ACCOUNT, REGION, "d-0000000001"],
    }
    key = (ACCOUNT, REGION, "joiner")
    store.put("db_instance", *key, doc)
    return key, doc


def test_an_unreachable_directory_fails_the_membership_not_the_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(dc: Any, *args: Any) -> None:
        raise EngineError(["samba-tool", "user", "add"], 1, "Failed to connect to 10.1.0.10:389")

    monkeypatch.setattr(samba, "ensure_service_account", unreachable)
    monkeypatch.setattr(postgres, "ensure_os_user", lambda name: (os.getuid(), os.getgid()))
    store = Store(tmp_path / "state.db")
    rec = _reconciler(tmp_path, store)
    key, doc = _instance(store, "Active")
    ctx = db_instance._Ctx(key, doc, rec.spec(doc))
    for _ in range(db_instance._JOIN_ATTEMPTS - 1):
        with pytest.raises(EngineError):  # retried by the runner, with backoff
            rec._join(ctx)
    rec._join(ctx)  # the last attempt settles it
    stored = store.get("db_instance", *key)
    assert stored is not None
    assert stored["aws"]["DomainMemberships"][0]["Status"] == "enable-kerberos-failed"
    assert "Failed to connect to 10.1.0.10:389" in stored["membership_reason"]
    assert "\n" not in stored["membership_reason"]
    assert ctx.spec.realm is None  # the instance goes on, without Kerberos
    assert rec._keytab_done(ctx)


def test_a_join_waits_for_a_directory_being_created(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    rec = _reconciler(tmp_path, store)
    key, doc = _instance(store, "Creating")
    with pytest.raises(db_instance._Waiting):
        rec._join(db_instance._Ctx(key, doc, rec.spec(doc)))
    stored = store.get("db_instance", *key)
    assert stored is not None and "join_attempts" not in stored


def test_a_failed_directory_fails_the_join_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    rec = _reconciler(tmp_path, store)
    key, doc = _instance(store, "Failed")
    rec._join(db_instance._Ctx(key, doc, rec.spec(doc)))
    stored = store.get("db_instance", *key)
    assert stored is not None
    assert stored["aws"]["DomainMemberships"][0]["Status"] == "enable-kerberos-failed"
    assert stored["membership_reason"] == "directory d-0000000001 is Failed"


def test_statuses_stored_by_older_versions_are_renamed(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    rec = _reconciler(tmp_path, store)
    key, _ = _instance(store, "Active")
    store.update(
        "db_instance", *key, lambda d: d["aws"]["DomainMemberships"][0].update(Status="failed")
    )
    rec.upgrade_memberships()
    stored = store.get("db_instance", *key)
    assert stored is not None
    assert stored["aws"]["DomainMemberships"][0]["Status"] == "enable-kerberos-failed"


def test_the_same_domain_again_cancels_a_pending_leave() -> None:
    from pgrealm.services.rds.service import _join

    doc: dict[str, Any] = {
        "aws": {
            "DomainMemberships": [
                {"Domain": "d-1", "Status": "pending-disable-kerberos", "IAMRoleName": "old"}
            ]
        },
        "directory": ["1", "r", "d-1"],
    }
    _join(doc, {"Domain": "d-1", "Status": "pending-enable-kerberos", "IAMRoleName": "new"}, [])
    assert doc["aws"]["DomainMemberships"][0]["Status"] == "kerberos-enabled"
    assert doc["aws"]["DomainMemberships"][0]["IAMRoleName"] == "new"
