"""describe-db-log-files and download-db-log-file-portion over log files in a temporary
instance home: RDS's names, filters, and the portion rules (Marker "0" from the start,
no Marker the last lines, the Marker of the next portion, AdditionalDataPending)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.config import Settings
from pgrealm.model.layout import instance_home
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.services.rds.logs import LogsMixin
from pgrealm.store import Store
from pgrealm.store.kinds import Kind
from tests.fixtures.settings import settings_in

ACCOUNT, REGION = "111111111111", "us-east-1"
CTX = RequestContext(account_id=ACCOUNT, region=REGION, request_id="r", service="rds")


class Logs(LogsMixin):
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store


@pytest.fixture
def logs(tmp_path: Path) -> Logs:
    settings = settings_in(tmp_path)
    store = Store(tmp_path / "state.db")
    doc: dict[str, Any] = {
        "aws": {
            "DBInstanceIdentifier": "db1",
            "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:db1",
        }
    }
    store.put(Kind.DB_INSTANCE, ACCOUNT, REGION, "db1", doc)
    folder = instance_home(settings, doc) / "log"
    folder.mkdir(parents=True)
    (folder / "postgresql.log.2026-11-29-15").write_text("".join(f"old {n}\n" for n in range(3)))
    (folder / "postgresql.log.2026-11-29-16").write_text("".join(f"line {n}\n" for n in range(5)))
    (folder / "not-a-log.txt").write_text("x\n")
    return Logs(settings, store)


def portion(logs: Logs, **params: Any) -> dict[str, Any]:
    return logs.download_db_log_file_portion(
        CTX,
        {
            "DBInstanceIdentifier": "db1",
            "LogFileName": "error/postgresql.log.2026-11-29-16",
            **params,
        },
    )


def test_files_are_listed_as_rds_names_them(logs: Logs) -> None:
    files = logs.describe_db_log_files(CTX, {"DBInstanceIdentifier": "db1"})["DescribeDBLogFiles"]
    assert [f["LogFileName"] for f in files] == [
        "error/postgresql.log.2026-11-29-15",
        "error/postgresql.log.2026-11-29-16",
    ]
    assert [f["Size"] for f in files] == [18, 35]
    only = logs.describe_db_log_files(
        CTX, {"DBInstanceIdentifier": "db1", "FilenameContains": "11-29-16"}
    )["DescribeDBLogFiles"]
    assert len(only) == 1


def test_portions_page_from_the_start_with_marker_zero(logs: Logs) -> None:
    first = portion(logs, Marker="0", NumberOfLines=2)
    assert first == {
        "LogFileData": "line 0\nline 1\n",
        "Marker": "2",
        "AdditionalDataPending": True,
    }
    last = portion(logs, Marker="4", NumberOfLines=2)
    assert last == {"LogFileData": "line 4\n", "Marker": "5", "AdditionalDataPending": False}


def test_no_marker_gives_the_last_lines(logs: Logs) -> None:
    assert portion(logs, NumberOfLines=2)["LogFileData"] == "line 3\nline 4\n"
    assert portion(logs)["LogFileData"].count("\n") == 5


@pytest.mark.parametrize(
    "name", ["postgresql.log.2026-11-29-16", "error/not-a-log.txt", "error/../../state.db"]
)
def test_other_names_are_not_found(logs: Logs, name: str) -> None:
    with pytest.raises(ServiceError) as exc:
        portion(logs, LogFileName=name)
    assert exc.value.shape == "DBLogFileNotFoundFault"


def test_an_unknown_instance(logs: Logs) -> None:
    with pytest.raises(ServiceError) as exc:
        logs.describe_db_log_files(CTX, {"DBInstanceIdentifier": "nope"})
    assert exc.value.shape == "DBInstanceNotFoundFault"
