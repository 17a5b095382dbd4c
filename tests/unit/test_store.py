"""The state store: documents survive reopening, updates are atomic, counters are durable."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from pgrealm.store import Store


def test_put_get_list_delete(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    store.put("directory", "000000000000", "us-east-1", "d-1", {"Name": "a"})
    store.put("directory", "000000000000", "eu-west-1", "d-2", {"Name": "b"})
    assert store.get("directory", "000000000000", "us-east-1", "d-1") == {"Name": "a"}
    assert [d["Name"] for d in store.list("directory", "000000000000")] == ["a", "b"]
    assert [d["Name"] for d in store.list("directory", region="eu-west-1")] == ["b"]
    assert store.keys("directory")[0] == ("000000000000", "us-east-1", "d-1")
    assert store.items("directory")[1] == (("000000000000", "eu-west-1", "d-2"), {"Name": "b"})
    assert store.delete("directory", "000000000000", "us-east-1", "d-1")
    assert store.get("directory", "000000000000", "us-east-1", "d-1") is None


def test_committed_writes_survive_reopening(tmp_path: Path) -> None:
    Store(tmp_path / "state.db").put("k", "a", "r", "1", {"x": 1})
    assert Store(tmp_path / "state.db").get("k", "a", "r", "1") == {"x": 1}


def test_insert_refuses_a_taken_id(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    assert store.insert("k", "a", "r", "1", {"v": 1})
    assert not store.insert("k", "a", "r", "1", {"v": 2})
    assert store.get("k", "a", "r", "1") == {"v": 1}


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    store.put("k", "a", "r", "1", {"n": 0})

    def bump() -> None:
        for _ in range(25):
            store.update("k", "a", "r", "1", lambda d: d.__setitem__("n", d["n"] + 1))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("k", "a", "r", "1") == {"n": 100}
    assert [store.next_value("c") for _ in range(3)] == [1, 2, 3]


def test_a_damaged_store_is_refused_with_how_to_recover(tmp_path: Path) -> None:
    from pgrealm.errors import StoreError

    path = tmp_path / "state.db"
    store = Store(path)
    for n in range(200):
        store.put("directory", "1", "r", f"d-{n}", {"aws": {"n": n}})
    store._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a torn page where the records' tree starts
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="is damaged .*sqlite3 .* .recover"):
        Store(path).check()
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="will not run on it"):
        Store(tmp_path / "junk.db")


def test_the_server_will_not_start_on_a_damaged_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from pgrealm.cli.main import cli

    (tmp_path / "state.db").write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("PGREALM_HOME", str(tmp_path))
    monkeypatch.setattr("os.geteuid", lambda: 0)
    result = CliRunner().invoke(cli, ["server"])
    assert result.exit_code == 3 and "is damaged" in result.output


def _copy_while_open(store: Store, target: Path) -> Path:
    """The store's files as a killed daemon leaves them: the database and its log."""
    target.mkdir()
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{store.path}{suffix}", target / f"state.db{suffix}")
    return target / "state.db"


def _records(store: Store, count: int) -> None:
    store._conn().execute("PRAGMA wal_autocheckpoint=0")  # every commit stays in the log
    for n in range(count):
        store.put("directory", "1", "r", f"d-{n}", {"aws": {"n": n}})


def test_a_damaged_log_frame_before_later_commits_is_refused(tmp_path: Path) -> None:
    from pgrealm.errors import StoreError

    store = Store(tmp_path / "live" / "state.db")
    _records(store, 20)
    path = _copy_while_open(store, tmp_path / "killed")
    wal = path.with_name("state.db-wal")
    data = bytearray(wal.read_bytes())
    data[32 + 24 + 100] ^= 0xFF  # a byte of the first frame's page
    wal.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="frame 1 of its write-ahead log is damaged"):
        Store(path)


def test_a_torn_last_log_frame_loses_only_what_never_committed(tmp_path: Path) -> None:
    store = Store(tmp_path / "live" / "state.db")
    _records(store, 20)
    path = _copy_while_open(store, tmp_path / "killed")
    wal = path.with_name("state.db-wal")
    wal.write_bytes(wal.read_bytes()[:-100])  # the crash cut the last frame short
    reopened = Store(path)
    assert len(reopened.list("directory")) == 19  # the last put's commit never completed
