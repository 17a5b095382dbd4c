"""Where each resource keeps its files under the stack's home (``PGREALM_HOME``).

    directories/<directory id>/dc1, dc2        each DC's Samba tree (provision, sam.ldb)
    instances/<account>-<region>-<id>/         a DB instance: data/, krb5.keytab, log/,
                                               wal-archive/, backups/
        node-b/                                a Multi-AZ instance's other server: data/,
                                               krb5.keytab, log/ (model/multi_az.py)
    snapshots/<account>-<region>-<snapshot>/   a DB snapshot (pg_basebackup)
    directory-snapshots/<directory>/<s-id>/backup.tar.bz2  a directory snapshot (samba-tool)
    retained-backups/<account>-<region>-<dbi>/ automated backups kept after their instance

Pure path rules: nothing here reads or writes the disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgrealm.config import Settings
from pgrealm.model.multi_az import SLOT_A, primary_slot

__all__ = [
    "directory_home",
    "directory_snapshot",
    "directory_snapshots",
    "instance_home",
    "instance_keytab",
    "instance_root",
    "instances_root",
    "node_home",
    "retained_backups_root",
    "snapshot_home",
]


def directory_home(settings: Settings, doc: dict[str, Any]) -> Path:
    return settings.home / "directories" / str(doc["aws"]["DirectoryId"])


def directory_snapshots(settings: Settings, directory_id: str) -> Path:
    return settings.home / "directory-snapshots" / directory_id


def directory_snapshot(settings: Settings, directory_id: str, snapshot_id: str) -> Path:
    return directory_snapshots(settings, directory_id) / snapshot_id / "backup.tar.bz2"


def instances_root(settings: Settings) -> Path:
    return settings.home / "instances"


def instance_root(settings: Settings, doc: dict[str, Any]) -> Path:
    """The instance's own folder, from its ARN (the same identifier in two accounts or
    regions never clash): its backups and WAL archive, and its first server's files."""
    arn = doc["aws"]["DBInstanceArn"].split(":")
    return instances_root(settings) / f"{arn[4]}-{arn[3]}-{doc['aws']['DBInstanceIdentifier']}"


def node_home(settings: Settings, doc: dict[str, Any], slot: str) -> Path:
    """Where the server in ``slot`` keeps its files (a Multi-AZ instance has two)."""
    root = instance_root(settings, doc)
    return root if slot == SLOT_A else root / f"node-{slot}"


def instance_home(settings: Settings, doc: dict[str, Any]) -> Path:
    """The home of the instance's primary server: the one its endpoint reaches."""
    return node_home(settings, doc, primary_slot(doc))


def instance_keytab(settings: Settings, doc: dict[str, Any], slot: str | None = None) -> Path:
    """A server's service keytab (postgres/<endpoint>@REALM), while it is in a domain: the
    primary's, or the one in ``slot``'s."""
    return node_home(settings, doc, slot or primary_slot(doc)) / "krb5.keytab"


def snapshot_home(settings: Settings, key: Sequence[str]) -> Path:
    account, region, snapshot_id = key
    return settings.home / "snapshots" / f"{account}-{region}-{snapshot_id}"


def retained_backups_root(settings: Settings) -> Path:
    return settings.home / "retained-backups"
