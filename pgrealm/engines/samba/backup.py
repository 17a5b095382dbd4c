"""A directory snapshot: a backup of one DC's database, and restoring it in place.

``samba-tool domain backup offline`` copies a running DC's databases under their locks
into one tar.bz2: ``private/`` (sam.ldb and its partitions, secrets), ``state/``, the
DC home's files as ``etc/``, and ``sysvol.tar.gz``. Restoring puts ``private/``, ``state/``
and the sysvol back into the same DC's home, so the DC keeps its name and identity and
its database returns to the snapshot's moment. The other DCs must not replicate their
newer state back into it: the caller wipes and joins them again afterwards (a DC that
has seen later changes of this one would take the rollback for a USN rollback).
"""

from __future__ import annotations

import logging
import shutil
import tarfile
import tempfile
from pathlib import Path

from pgrealm.engines import _exec, netns
from pgrealm.engines.samba import tool
from pgrealm.engines.samba.dc import confined
from pgrealm.engines.samba.errors import SambaError
from pgrealm.engines.samba.provision import SAMBA_TOOL
from pgrealm.engines.samba.spec import DcSpec

__all__ = ["backup_dc", "restore_dc"]

log = logging.getLogger(__name__)


def backup_dc(dc: DcSpec, target: Path) -> int:
    """Back ``dc`` (running or not) up into the file ``target`` (0600); its size."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        argv = confined(dc, [SAMBA_TOOL, "domain", "backup", "offline", f"--targetdir={work}",
                             f"--configfile={dc.paths.smb_conf}"])  # fmt: skip
        if dc.netns:
            argv = netns.wrap(dc.netns, argv)
        _exec.run(argv, env=tool.samba_env(dc), timeout=600)
        made = sorted(Path(work).glob("samba-backup-*.tar.bz2"))
        if not made:
            raise SambaError(argv, "samba-tool domain backup offline made no archive")
        made[-1].chmod(0o600)
        made[-1].replace(target)
    log.info("%s: backed up to %s", dc.hostname, target)
    return target.stat().st_size


def restore_dc(dc: DcSpec, backup: Path) -> None:
    """Put ``backup``'s databases and sysvol back into the (stopped) ``dc``'s home."""
    with tempfile.TemporaryDirectory(dir=dc.home) as work:
        _extract(backup, "r:bz2", Path(work))
        unpacked = Path(work)
        for name, into in (("private", dc.paths.private), ("state", dc.paths.state)):
            if not (unpacked / name).is_dir():
                raise SambaError(["restore"], f"{backup.name} has no {name}/: not a DC backup")
            shutil.rmtree(into, ignore_errors=True)
            shutil.move(str(unpacked / name), into)
        sysvol = unpacked / "sysvol.tar.gz"
        if sysvol.exists():
            # Samba's own restore of it sets each file's NT ACL from the .NTACL file the
            # backup wrote beside it, and leaves those out: a plain unpack would leave them
            # in the sysvol, where the next backup trips over them (init_files_struct:
            # NT_STATUS_INVALID_PARAMETER).
            _check_members(sysvol, "r:gz")
            shutil.rmtree(dc.paths.sysvol, ignore_errors=True)
            dc.paths.sysvol.mkdir(parents=True)
            tool.call(dc, "restore_sysvol", fresh=True, timeout=300,
                      tarball=str(sysvol), sysvol=str(dc.paths.sysvol))  # fmt: skip
    cleared = tool.call(dc, "clear_backup_markers", fresh=True)["cleared"]
    log.debug("%s: backup markers cleared: %s", dc.hostname, cleared)
    log.info("%s: restored from %s", dc.hostname, backup.name)


def _extract(archive_path: Path, mode: str, into: Path) -> None:
    """Unpack an archive of ours, refusing any member that would land outside ``into``
    (Debian's Python 3.11.2 has no extraction filters)."""
    members = _check_members(archive_path, mode)
    with tarfile.open(archive_path, mode) as archive:  # type: ignore[call-overload]
        archive.extractall(into, members=members)  # noqa: S202 (checked)


def _check_members(archive_path: Path, mode: str) -> list[tarfile.TarInfo]:
    """The archive's members, once none would land outside where it is unpacked."""
    with tarfile.open(archive_path, mode) as archive:  # type: ignore[call-overload]
        members: list[tarfile.TarInfo] = archive.getmembers()
    for member in members:
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or member.isdev():
            raise SambaError(["restore"], f"{archive_path.name}: unsafe member {member.name}")
        if member.issym() or member.islnk():
            target = Path(member.linkname)
            if target.is_absolute() or ".." in target.parts:
                raise SambaError(["restore"], f"{archive_path.name}: unsafe link {member.name}")
    return members
