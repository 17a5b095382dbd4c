"""Where the events of an exported log come from: the real log files, read when asked.

- A DB instance with ``EnabledCloudwatchLogsExports: [postgresql]`` has the log group
  ``/aws/rds/instance/<id>/postgresql``, with one stream named after the instance: its
  PostgreSQL logs (``log/postgresql.log.*``, services/rds/logs.py), one event per log
  entry; a line without the ``log_line_prefix`` timestamp continues the entry above it.
- A directory with a log subscription (ds create-log-subscription) feeds the group it
  names, one stream per DC: the authentication events its Samba writes as JSON
  (``auth_json_audit``, Kerberos successes and failures with the principal), one event
  each, the JSON as the message.

No copy is kept: an event is in its log as long as the file is (PostgreSQL's hourly
files, Samba's log.samba and the one .old it rotates to).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgrealm.config import Settings
from pgrealm.model.directory import domain_controller_id
from pgrealm.model.layout import directory_home, instance_home
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = ["Event", "Stream", "exported_groups", "subscribed_streams"]

_PG_FILE = re.compile(r"postgresql\.log\.\d{4}-\d{2}-\d{2}-\d{2}")
_PG_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)? ?([A-Z]{2,5})?:")
_AUTH_TYPE = '"type": "Authentication"'


@dataclass(frozen=True)
class Event:
    timestamp: int  # ms since the epoch
    message: str


@dataclass(frozen=True)
class Stream:
    name: str
    created: int  # ms since the epoch
    read: Callable[[], list[Event]]


def exported_groups(
    store: Store, settings: Settings, account: str, region: str
) -> dict[str, tuple[int, list[Stream]]]:
    """The log groups RDS exports to: name -> (creation time, its streams)."""
    groups = {}
    for doc in store.list(Kind.DB_INSTANCE, account, region):
        aws = doc["aws"]
        if "postgresql" not in (aws.get("EnabledCloudwatchLogsExports") or []):
            continue
        ident = aws["DBInstanceIdentifier"]
        created = _ms(aws.get("InstanceCreateTime"))
        folder = instance_home(settings, doc) / "log"
        stream = Stream(ident, created, functools.partial(_postgres_events, folder))
        groups[f"/aws/rds/instance/{ident}/postgresql"] = (created, [stream])
    return groups


def subscribed_streams(
    store: Store, settings: Settings, account: str, region: str
) -> dict[str, list[Stream]]:
    """The log groups directories send their DCs' authentication events to."""
    found: dict[str, list[Stream]] = {}
    for doc in store.list(Kind.DIRECTORY, account, region):
        subscription = doc.get("log_subscription")
        if not subscription or doc["desired"] != "present":
            continue
        created = _ms(subscription["SubscriptionCreatedDateTime"])
        streams = found.setdefault(subscription["LogGroupName"], [])
        for dc in doc.get("dcs", []):
            log = directory_home(settings, doc) / dc["name"] / "log"
            reader = functools.partial(_auth_events, log)
            streams.append(Stream(domain_controller_id(doc, dc), created, reader))
    return found


def _postgres_events(folder: Path) -> list[Event]:
    if not folder.is_dir():
        return []
    events: list[Event] = []
    for path in sorted(p for p in folder.iterdir() if _PG_FILE.fullmatch(p.name)):
        for line in path.read_text(errors="replace").splitlines():
            stamp = _PG_STAMP.match(line)
            if stamp:
                events.append(Event(_pg_time(stamp.group(1), stamp.group(2)), line))
            elif events:  # the rest of a multi-line entry
                events[-1] = Event(events[-1].timestamp, f"{events[-1].message}\n{line}")
    return events


def _auth_events(folder: Path) -> list[Event]:
    events = []
    for path in (folder / "log.samba.old", folder / "log.samba"):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            body = line.strip()  # Samba writes the JSON on its own line, under a header
            if not body.startswith("{") or _AUTH_TYPE not in body:
                continue
            try:
                stamp = json.loads(body)["timestamp"]
            except (ValueError, KeyError, TypeError):
                continue
            events.append(Event(_ms(stamp), body))
    return events


def _pg_time(text: str, zone: str | None) -> int:
    """PostgreSQL's %t: the server's log_timezone, which pgrealm's servers keep at UTC."""
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    if zone in (None, "UTC", "GMT"):
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _ms(stamp: Any) -> int:
    if not stamp:
        return int(datetime.now(UTC).timestamp() * 1000)
    text = str(stamp)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # Samba's +0000
        text = f"{text[:-2]}:{text[-2:]}"
    return int(datetime.fromisoformat(text).timestamp() * 1000)
