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
