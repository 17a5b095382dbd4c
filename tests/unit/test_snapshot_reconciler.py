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


class RestartingEngine(NoClusterEngine):
    """The instance has its cluster, but its server is coming back from a crash."""

    def is_initialized(self, spec: Any) -> bool:
        return True


def test_a_snapshot_waits_while_its_instance_comes_back(tmp_path: Path) -> None:
    # Found by make chaos: a snapshot asked for while the postmaster restarted either
    # failed its three attempts at once, or would have copied the files of a server
    # starting up. It now waits, counting no attempt, and stays creating.
    store = Store(tmp_path / "state.db")
    store.put("db_instance", *SOURCE, {
        "aws": {"DBInstanceIdentifier": SOURCE[2], "DBInstanceStatus": "available"},
        "desired": "present",
    })  # fmt: skip
    store.put("db_snapshot", *KEY, {"aws": {"Status": "creating"}, "desired": "present",
                                    "source": list(SOURCE)})  # fmt: skip
    instances = SimpleNamespace(pg=RestartingEngine(), spec=lambda doc: doc,
                                serving=lambda doc: False)  # fmt: skip
    reconciler = DbSnapshotReconciler(store, settings_in(tmp_path), instances)  # type: ignore[arg-type]
    for _ in range(5):
        reconciler.reconcile(KEY)
    snapshot = store.get("db_snapshot", *KEY)
    assert snapshot["aws"]["Status"] == "creating" and "attempts" not in snapshot
    assert KEY in reconciler.pending()
