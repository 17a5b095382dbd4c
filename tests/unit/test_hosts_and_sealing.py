"""The hosts-file block of one stack, and sealed secrets."""

from __future__ import annotations

from pathlib import Path

from pgrealm.engines import hosts
from pgrealm.sealing import Sealer


def test_each_stack_owns_its_own_block(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1 localhost\n")
    hosts.publish(path, "/var/lib/pgrealm", "db1.x", "127.64.0.4")
    hosts.publish(path, "/tmp/test-home", "db1.x", "127.192.0.4")
    hosts.publish(path, "/var/lib/pgrealm", "db2.x", "127.64.0.5")
    assert hosts.published(path, "/var/lib/pgrealm") == {
        "db1.x": "127.64.0.4",
        "db2.x": "127.64.0.5",
    }
    hosts.unpublish(path, "/tmp/test-home", "db1.x")
    text = path.read_text()
    assert text.startswith("127.0.0.1 localhost\n")
    assert "127.192.0.4" not in text and "127.64.0.4 db1.x" in text


def test_sealed_secret_is_not_plain_text_and_key_is_private(tmp_path: Path) -> None:
    sealer = Sealer(tmp_path)
    token = sealer.seal("Sup3r-Secret!")
    assert "Sup3r" not in token
    assert Sealer(tmp_path).unseal(token) == "Sup3r-Secret!"
    assert (tmp_path / "seal.key").stat().st_mode & 0o777 == 0o600
