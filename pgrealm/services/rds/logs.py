"""describe-db-log-files and download-db-log-file-portion, over the instance's real
PostgreSQL logs; and which logs an instance exports to CloudWatch Logs (the logs service
reads them from the same files: services/logs/sources.py).

The postmaster's logging collector writes ``log/postgresql.log.YYYY-MM-DD-HH`` in the
instance's home (engines/postgres/conf.py), the names RDS for PostgreSQL gives its logs;
the API shows each as ``error/postgresql.log.YYYY-MM-DD-HH``, as RDS does.

Portions follow RDS's rules: with Marker "0", NumberOfLines lines from the start, and the
Marker to ask for the next ones until AdditionalDataPending is false (how the aws CLI
pages ``--starting-token 0``); with no Marker, the last NumberOfLines lines (10,000 by
default); a portion stops at 1 MB. A Marker is the line the next portion starts at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pgrealm.config import Settings
from pgrealm.model.layout import instance_home
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["LOG_TYPES", "LogsMixin", "changed_exports", "log_exports"]

_PREFIX = "error/"
_NAME = re.compile(r"postgresql\.log\.\d{4}-\d{2}-\d{2}-\d{2}")
_DEFAULT_LINES = 10_000
_MAX_BYTES = 1_000_000
# The log types RDS for PostgreSQL exports to CloudWatch Logs.
LOG_TYPES = ("postgresql", "upgrade", "iam-db-auth-error")


def log_exports(asked: list[str] | None) -> list[str]:
    """EnableCloudwatchLogsExports, checked as RDS checks it."""
    wrong = [t for t in asked or [] if t not in LOG_TYPES]
    if wrong:
        raise CommonError(
            "InvalidParameterCombination",
            f"You cannot use the log types '{', '.join(wrong)}' with engine version postgres "
            f"15. For supported log types, see the documentation.",
        )
    return sorted(set(asked or []))


def changed_exports(current: list[str] | None, change: dict[str, Any]) -> list[str]:
    """ModifyDBInstance's CloudwatchLogsExportConfiguration applied to ``current``."""
    enable = log_exports(change.get("EnableLogTypes"))
    disable = log_exports(change.get("DisableLogTypes"))
    if set(enable) & set(disable):
        raise CommonError(
            "InvalidParameterCombination",
            "A log type cannot be both enabled and disabled in one request.",
        )
    return sorted((set(current or []) | set(enable)) - set(disable))


class LogsMixin:
    """The log file operations, mixed into ``RdsService``."""

    settings: Settings
    store: Store

    def describe_db_log_files(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._logged_instance(ctx, params["DBInstanceIdentifier"])
        wanted = params.get("FilenameContains") or ""
        files = []
        for path in self._log_files(doc):
            stat = path.stat()
            written, size = int(stat.st_mtime * 1000), stat.st_size
            if wanted not in path.name or written < (params.get("FileLastWritten") or 0):
                continue
            if size < (params.get("FileSize") or 0):
                continue
            files.append({"LogFileName": _PREFIX + path.name, "LastWritten": written, "Size": size})
        return page("rds", "DescribeDBLogFiles", files, params)

    def download_db_log_file_portion(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._logged_instance(ctx, params["DBInstanceIdentifier"])
        name = params["LogFileName"]
        path = self._log_dir(doc) / name.removeprefix(_PREFIX)
        if not name.startswith(_PREFIX) or not _NAME.fullmatch(path.name) or not path.is_file():
            raise ServiceError(
                "DBLogFileNotFoundFault",
                f"DBLog File: {name}, is not found on the DB instance",
            )
        lines = path.read_text(errors="replace").splitlines(keepends=True)
        count = params.get("NumberOfLines") or _DEFAULT_LINES
        if count < 0:
            raise CommonError("InvalidParameterValue", "NumberOfLines must not be negative.")
        marker = params.get("Marker")
        if marker is None:
            start = max(0, len(lines) - count)
        elif marker.isdigit():
            start = int(marker)
        else:
            raise CommonError("InvalidParameterValue", f"Invalid marker {marker!r}.")
        portion: list[str] = []
        size, end = 0, start
        for line in lines[start : start + count]:
            if size + len(line.encode()) > _MAX_BYTES and portion:
                break
            portion.append(line)
            size += len(line.encode())
            end += 1
        return {
            "LogFileData": "".join(portion),
            "Marker": str(end),
            "AdditionalDataPending": end < len(lines),
        }

    def _logged_instance(self, ctx: RequestContext, ident: str) -> Doc:
        doc = self.store.get(Kind.DB_INSTANCE, ctx.account_id, ctx.region, ident.lower())
        if doc is None:
            raise ServiceError("DBInstanceNotFoundFault", f"DBInstance {ident} not found.")
        return doc

    def _log_dir(self, doc: Doc) -> Path:
        return instance_home(self.settings, doc) / "log"

    def _log_files(self, doc: Doc) -> list[Path]:
        folder = self._log_dir(doc)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if _NAME.fullmatch(p.name) and p.is_file())
