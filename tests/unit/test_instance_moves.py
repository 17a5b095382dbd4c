"""modify-db-instance --domain from one directory to another: the computer account in the
directory it left is deleted before the new one is made (samba faked; the acceptance
tests drive the real calls for a single directory)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pgrealm.engines import postgres, samba
from pgrealm.reconcile import db_instance
from pgrealm.reconcile.db_instance import DbInstanceReconciler
from pgrealm.store import Store
from tests.fixtures.settings import settings_in

ACCOUNT, REGION = "111122223333", "us-east-1"
ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:mover"


class Directories:
    def dc(self, directory: dict[str, Any]) -> SimpleNamespace:
        name = f"dc-of-{directory['aws']['DirectoryId']}"
        return SimpleNamespace(name=name, domain=SimpleNamespace(dns_name="two.example.com"))


def _directory(store: Store, directory_id: str) -> list[str]:
    doc = {"aws": {"DirectoryId": directory_id, "Stage": "Active"}, "desired": "present"}
    store.put("directory", ACCOUNT, REGION, directory_id, doc)
    return [ACCOUNT, REGION, directory_id]


def test_a_moved_instance_leaves_no_account_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(
        samba, "delete_user", lambda dc, name: calls.append(("delete", dc.name, name))
    )
    monkeypatch.setattr(
        samba, "ensure_service_account", lambda dc, *a: calls.append(("create", dc.name))
    )
    monkeypatch.setattr(samba, "export_keytab", lambda dc, *a: calls.append(("keytab", dc.name)))
    monkeypatch.setattr(postgres, "ensure_os_user", lambda name: (os.getuid(), os.getgid()))
    store = Store(tmp_path / "state.db")
    settings = settings_in(tmp_path)
    old, new = _directory(store, "d-0000000001"), _directory(store, "d-0000000002")
    doc = {
        "aws": {
            "DBInstanceArn": ARN,
            "DBInstanceIdentifier": "mover",
            "Endpoint": {"Address": "mover.example.internal"},
            "DomainMemberships": [
                {"Domain": new[2], "FQDN": "two.example.com", "Status": "enabling-kerberos"}
            ],
        },
        "address": "127.160.0.9",
        "directory": new,
        "former_directory": old,
        "keytab_for": old[2],
    }
    key = (ACCOUNT, REGION, "mover")
    store.put("db_instance", *key, doc)
    rec = DbInstanceReconciler(store, settings, None, None, Directories())  # type: ignore[arg-type]
    ctx = db_instance._Ctx(key, doc, rec.spec(doc))
    rec._export_keytab(ctx)

    account = db_instance._service_account(doc).upper() + "$"
    assert calls == [
        ("delete", f"dc-of-{old[2]}", account),
        ("create", f"dc-of-{new[2]}"),
        ("keytab", f"dc-of-{new[2]}"),
    ]
    stored = store.get("db_instance", *key)
    assert stored is not None and "former_directory" not in stored
    assert stored["keytab_for"] == new[2]
