"""Automated backups: which base backups the retention period keeps, and which WAL the
oldest kept one needs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pgrealm.engines.postgres import pitr

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


def test_retention_keeps_the_window_and_the_backup_it_starts_from() -> None:
    times = _days_ago(9, 8, 7.5, 6, 1, 0.1)
    assert pitr.backups_to_drop(times, NOW, retention_days=7) == _days_ago(9, 8)
    assert pitr.backups_to_drop(_days_ago(2, 1), NOW, retention_days=7) == []
    assert pitr.backups_to_drop(_days_ago(3, 2), NOW, retention_days=1) == _days_ago(3)


def test_base_backups_are_listed_oldest_first_and_unfinished_ones_ignored(tmp_path: Path) -> None:
    for name in ("base-20261125T110000.000000Z", "base-20261124T110000.500000Z", "incoming"):
        (tmp_path / name).mkdir()
    (tmp_path / "incoming.partial").mkdir()
    found = pitr.base_backups(tmp_path)
    assert [t for t, _ in found] == [
        datetime(2026, 11, 24, 11, 0, 0, 500000, tzinfo=UTC),
        datetime(2026, 11, 25, 11, tzinfo=UTC),
    ]
    assert pitr.base_backups(tmp_path / "missing") == []


def test_the_first_wal_segment_comes_from_the_backup_manifest(tmp_path: Path) -> None:
    ranges = [{"Timeline": 2, "Start-LSN": "1/A4000028", "End-LSN": "1/A4000100"}]
    (tmp_path / "backup_manifest").write_text(json.dumps({"WAL-Ranges": ranges}))
    assert pitr.wal_start_segment(tmp_path) == "0000000200000001000000A4"


def test_retained_backups_are_shown_as_rds_shows_them() -> None:
    from datetime import UTC, datetime

    from pgrealm.reconcile.db_backups import _retained
    from pgrealm.services.rds.point_in_time import retained_shape

    arn = "arn:aws:rds:us-east-1:111122223333:db:gone"
    doc = {
        "aws": {
            "DBInstanceArn": arn,
            "DBInstanceIdentifier": "gone",
            "DbiResourceId": "db-ABC",
            "BackupRetentionPeriod": 1,
            "DBSubnetGroup": {"VpcId": "vpc-1"},
            "Endpoint": {"Port": 5432},
            "StorageEncrypted": False,
            "InstanceCreateTime": "2026-11-28T10:00:00+00:00",
        },
        "restorable_since": "2026-11-28T10:05:00+00:00",
    }
    shape = retained_shape(_retained(doc, datetime(2026, 11, 29, 9, 0, tzinfo=UTC)))
    assert shape["Status"] == "retained" and shape["VpcId"] == "vpc-1"
    assert shape["RestoreWindow"] == {
        "EarliestTime": datetime(2026, 11, 28, 10, 5, tzinfo=UTC),
        "LatestTime": datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
    }
    assert shape["InstanceCreateTime"] == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert shape["DBInstanceAutomatedBackupsArn"].endswith(":auto-backup:db-ABC")
