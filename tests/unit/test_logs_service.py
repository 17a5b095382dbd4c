"""The logs service over a real Store and log files in a temporary home: made groups,
RDS's export group read from PostgreSQL's files (a multi-line entry is one event), a
directory's subscription read from Samba's JSON audit lines, and the errors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pgrealm.config import Settings
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.services.logs import LogsService
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

ACCOUNT, REGION = "111122223333", "us-east-1"
CTX = RequestContext(account_id=ACCOUNT, region=REGION, request_id="r", service="logs")


@pytest.fixture
def logs(tmp_path: Path) -> LogsService:
    settings = Settings.from_env({"PGREALM_HOME": str(tmp_path)})
    return LogsService(Store(tmp_path / "state.db"), {}, settings)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _call(logs: LogsService, op: str, **params: Any) -> Any:
    return getattr(logs, op)(CTX, params)


def test_made_groups_and_their_errors(logs: LogsService) -> None:
    _call(logs, "create_log_group", logGroupName="/app/one")
    with pytest.raises(ServiceError) as exc:
        _call(logs, "create_log_group", logGroupName="/app/one")
    assert exc.value.shape == "ResourceAlreadyExistsException"
    shown = _call(logs, "describe_log_groups", logGroupNamePrefix="/app/")["logGroups"]
    assert [g["logGroupName"] for g in shown] == ["/app/one"]
    assert _call(logs, "describe_log_streams", logGroupName="/app/one")["logStreams"] == []
    _call(logs, "delete_log_group", logGroupName="/app/one")
    for op in ("delete_log_group", "describe_log_streams"):
        with pytest.raises(ServiceError) as exc:
            _call(logs, op, logGroupName="/app/one")
        assert exc.value.shape == "ResourceNotFoundException"


def test_an_instance_export_reads_its_postgres_logs(logs: LogsService, tmp_path: Path) -> None:
    doc = {"aws": {"DBInstanceIdentifier": "db1", "DbiResourceId": "db-ABC",
                   "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:db1",
                   "EnabledCloudwatchLogsExports": ["postgresql"]},
           "desired": "present"}  # fmt: skip
    logs.store.put(Kind.DB_INSTANCE, ACCOUNT, REGION, "db1", doc)
    from pgrealm.model.layout import instance_home

    folder = instance_home(logs.settings, doc) / "log"
    folder.mkdir(parents=True)
    (folder / "postgresql.log.2026-11-29-10").write_text(
        "2026-11-29 10:00:01 UTC:10.0.1.5(40000):bob@postgres:[42]:FATAL:  GSSAPI failed\n"
        "2026-11-29 10:00:02 UTC::@:[7]:LOG:  statement: SELECT 1,\n\t2\n"
    )
    group = "/aws/rds/instance/db1/postgresql"
    events = _call(logs, "get_log_events", logGroupName=group, logStreamName="db1")["events"]
    assert len(events) == 2 and events[0]["message"].endswith("FATAL:  GSSAPI failed")
    assert events[1]["message"].endswith("SELECT 1,\n\t2")  # one entry, two lines
    assert events[0]["timestamp"] == _ms("2026-11-29T10:00:01+00:00")
    found = _call(logs, "filter_log_events", logGroupName=group, filterPattern='"GSSAPI failed"')
    assert len(found["events"]) == 1 and found["events"][0]["logStreamName"] == "db1"


def test_a_subscription_reads_the_dcs_auth_audit(logs: LogsService) -> None:
    doc = {
        "aws": {"DirectoryId": "d-0123456789"},
        "desired": "present",
        "dcs": [{"name": "dc1"}],
        "log_subscription": {
            "LogGroupName": "/ds/corp",
            "SubscriptionCreatedDateTime": "2026-11-29T10:00:00+00:00",
        },
    }
    logs.store.put(Kind.DIRECTORY, ACCOUNT, REGION, "d-0123456789", doc)  # fmt: skip
    _call(logs, "create_log_group", logGroupName="/ds/corp")
    from pgrealm.model.layout import directory_home

    folder = directory_home(logs.settings, doc) / "dc1" / "log"
    folder.mkdir(parents=True)
    audit = {
        "timestamp": "2026-11-29T10:00:05.000000+0000",
        "type": "Authentication",
        "Authentication": {"status": "NT_STATUS_WRONG_PASSWORD", "clientAccount": "lola"},
    }
    (folder / "log.samba").write_text(
        "[2026/11/29 10:00:05.000000,  3] ../../auth/auth_log.c:1(log_json)\n"
        f"  {json.dumps(audit)}\n"
    )  # fmt: skip
    [stream] = _call(logs, "describe_log_streams", logGroupName="/ds/corp")["logStreams"]
    assert stream["logStreamName"] == "dc-01234567891"
    found = _call(logs, "filter_log_events", logGroupName="/ds/corp", filterPattern="lola")
    [event] = found["events"]
    assert json.loads(event["message"])["Authentication"]["status"] == "NT_STATUS_WRONG_PASSWORD"
    assert event["timestamp"] == _ms("2026-11-29T10:00:05+00:00")
