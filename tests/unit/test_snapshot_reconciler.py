"""A snapshot whose instance has no data fails at once instead of retrying forever, and a
final snapshot that fails so lets its instance's deletion go on (nothing was there to keep).
The engine is a fake: no PostgreSQL runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pgrealm.reconcile.db_snapshot import DbSnapshotReconciler
from pgrealm.store import Store
from tests.fixtures.settings import settings_in

KEY = ("111122223333", "us-east-1", "final-snap")
SOURCE = ("111122223333", "us-east-1", "gone-db")


class NoClusterEngine:
    def exists(self, path: Path) -> bool:
        return False

    def is_initialized(self, spec: Any) -> bool:
        return False

    def take_snapshot(self, spec: Any, dest: Path) -> None:
        raise AssertionError("nothing to snapshot: it must not try")


def test_a_snapshot_of_an_instance_without_data_fails_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    settings = settings_in(tmp_path)
    instance = {
        "aws": {"DBInstanceIdentifier": SOURCE[2], "DBInstanceStatus": "deleting"},
        "desired": "absent",
        "final_snapshot": list(KEY),
    }
    store.put("db_instance", *SOURCE, instance)
    snapshot = {"aws": {"Status": "creating"}, "desired": "present", "source": list(SOURCE)}
    store.put("db_snapshot", *KEY, snapshot)
    instances = SimpleNamespace(pg=NoClusterEngine(), spec=lambda doc: doc)
    DbSnapshotReconciler(store, settings, instances).reconcile(KEY)  # type: ignore[arg-type]
    stored = store.get("db_snapshot", *KEY)
    assert stored is not None and stored["aws"]["Status"] == "failed"
    assert stored["status_reason"] == "DB instance gone-db has no data to snapshot"
    assert KEY not in DbSnapshotReconciler(store, settings, instances).pending()  # type: ignore[arg-type]
