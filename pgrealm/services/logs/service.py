"""CloudWatch Logs (logs), as far as pgrealm's exports need it.

Log groups are made with create-log-group (a directory's log subscription needs one, as
on AWS), or by RDS for an instance that exports its PostgreSQL logs. Their events are
read from the real log files when asked (sources.py): get-log-events pages one stream,
filter-log-events searches a group with CloudWatch's plain term patterns (every term, or
"quoted phrase", must appear).
"""

from __future__ import annotations

import base64
import logging
import shlex
import zlib
from datetime import UTC, datetime
from typing import Any

from pgrealm.config import Settings
from pgrealm.services.base import Service
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.services.logs.sources import Event, Stream, exported_groups, subscribed_streams
from pgrealm.services.pagination import page
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["LogsService"]

log = logging.getLogger(__name__)

_KIND = Kind.LOG_GROUP
_MAX_EVENTS = 10_000  # GetLogEvents and FilterLogEvents: at most this many a page


class LogsService(Service):
    service_name = "logs"

    def __init__(self, store: Store, registry: dict[str, Service], settings: Settings) -> None:
        super().__init__(store, registry)
        self.settings = settings

    # -- groups ----------------------------------------------------------------------------
    def create_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["logGroupName"]
        made = {"logGroupName": name, "creationTime": _now_ms(), "tags": params.get("tags") or {}}
        if name in self._groups(ctx) or not self.store.insert(
            _KIND, ctx.account_id, ctx.region, name, made
        ):
            raise ServiceError(
                "ResourceAlreadyExistsException", "The specified log group already exists"
            )
        return {}

    def delete_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["logGroupName"]
        if self.store.get(_KIND, ctx.account_id, ctx.region, name) is None:
            raise _no_group()
        self.store.delete(_KIND, ctx.account_id, ctx.region, name)
        return {}

    def describe_log_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("logGroupNamePrefix") or ""
        pattern = params.get("logGroupNamePattern") or ""
        shown = [
            self._group_shape(ctx, name, created)
            for name, (created, _) in sorted(self._groups(ctx).items())
            if name.startswith(prefix) and pattern in name
        ]
        return page("logs", "DescribeLogGroups", shown, params)

    # -- streams and events ------------------------------------------------------------------
    def describe_log_streams(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        streams = self._streams(ctx, params)
        prefix = params.get("logStreamNamePrefix") or ""
        shown = [self._stream_shape(ctx, params, s) for s in streams if s.name.startswith(prefix)]
        if params.get("orderBy") == "LastEventTime":
            shown.sort(key=lambda s: s.get("lastEventTimestamp", 0))
        if params.get("descending"):
            shown.reverse()
        return page("logs", "DescribeLogStreams", shown, params)

    def get_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stream = next((s for s in self._streams(ctx, params) if s.name == params["logStreamName"]),
                      None)  # fmt: skip
        if stream is None:
            raise ServiceError(
                "ResourceNotFoundException", "The specified log stream does not exist."
            )
        events = _between(stream.read(), params)
        limit = min(params.get("limit") or _MAX_EVENTS, _MAX_EVENTS)
        token = params.get("nextToken")
        forward = params.get("startFromHead", False)
        if token:
            forward, start = _read_token(token)
        else:
            start = 0 if forward else max(0, len(events) - limit)
        chosen = events[start : start + limit]
        ingested = _now_ms()
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": ingested}
                for e in chosen
            ],
            "nextForwardToken": _token("f", min(start + len(chosen), len(events))),
            "nextBackwardToken": _token("b", max(0, start - limit)),
        }

    def filter_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("logStreamNames")
        streams = [s for s in self._streams(ctx, params) if not wanted or s.name in wanted]
        prefix = params.get("logStreamNamePrefix") or ""
        terms = _terms(params.get("filterPattern") or "")
        matched: list[dict[str, Any]] = []
        ingested = _now_ms()
        for stream in streams:
            if not stream.name.startswith(prefix):
                continue
            tag = zlib.crc32(stream.name.encode())
            for n, event in enumerate(_between(stream.read(), params)):
                if all(term in event.message for term in terms):
                    matched.append({
                        "logStreamName": stream.name, "timestamp": event.timestamp,
                        "message": event.message, "ingestionTime": ingested,
                        "eventId": f"{event.timestamp:013d}{tag:010d}{n:010d}",
                    })  # fmt: skip
        matched.sort(key=lambda e: e["timestamp"])
        limit = min(params.get("limit") or _MAX_EVENTS, _MAX_EVENTS)
        start = _read_token(params["nextToken"])[1] if params.get("nextToken") else 0
        out: dict[str, Any] = {"events": matched[start : start + limit], "searchedLogStreams": [
            {"logStreamName": s.name, "searchedCompletely": True} for s in streams
        ]}  # fmt: skip
        if start + limit < len(matched):
            out["nextToken"] = _token("f", start + limit)
        return out

    # -- what the groups are -------------------------------------------------------------------
    def _groups(self, ctx: RequestContext) -> dict[str, tuple[int, list[Stream]]]:
        """Every group of the caller: made ones (with a subscription's streams, if one
        feeds it) and RDS's exports."""
        fed = subscribed_streams(self.store, self.settings, ctx.account_id, ctx.region)
        groups = {
            doc["logGroupName"]: (int(doc["creationTime"]), fed.get(doc["logGroupName"], []))
            for doc in self.store.list(_KIND, ctx.account_id, ctx.region)
        }
        groups.update(exported_groups(self.store, self.settings, ctx.account_id, ctx.region))
        return groups

    def _streams(self, ctx: RequestContext, params: dict[str, Any]) -> list[Stream]:
        name = params.get("logGroupName") or _name_of(params.get("logGroupIdentifier"))
        found = self._groups(ctx).get(name or "")
        if found is None:
            raise _no_group()
        return found[1]

    def _group_shape(self, ctx: RequestContext, name: str, created: int) -> Doc:
        arn = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}"
        return {
            "logGroupName": name, "creationTime": created, "metricFilterCount": 0,
            "arn": f"{arn}:*", "logGroupArn": arn, "storedBytes": 0, "logGroupClass": "STANDARD",
        }  # fmt: skip

    def _stream_shape(self, ctx: RequestContext, params: dict[str, Any], stream: Stream) -> Doc:
        group = params.get("logGroupName") or _name_of(params.get("logGroupIdentifier"))
        events = stream.read()
        shape: Doc = {
            "logStreamName": stream.name,
            "creationTime": stream.created,
            "arn": f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{group}:"
            f"log-stream:{stream.name}",
            "storedBytes": 0,
        }
        if events:
            shape.update(
                firstEventTimestamp=events[0].timestamp,
                lastEventTimestamp=events[-1].timestamp,
                lastIngestionTime=events[-1].timestamp,
            )
        return shape


def _no_group() -> ServiceError:
    return ServiceError("ResourceNotFoundException", "The specified log group does not exist.")


def _name_of(identifier: str | None) -> str | None:
    """A logGroupIdentifier is a name or an ARN (arn:aws:logs:region:account:log-group:NAME)."""
    if identifier and identifier.startswith("arn:"):
        return identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    return identifier


def _between(events: list[Event], params: dict[str, Any]) -> list[Event]:
    start, end = params.get("startTime"), params.get("endTime")
    return [
        e for e in events
        if (start is None or e.timestamp >= start) and (end is None or e.timestamp <= end)
    ]  # fmt: skip


def _terms(pattern: str) -> list[str]:
    """CloudWatch's unstructured pattern: terms (and "quoted phrases"), all required."""
    try:
        return shlex.split(pattern)
    except ValueError as exc:
        raise ServiceError("InvalidParameterException", f"Invalid filter pattern: {exc}.") from exc


def _token(direction: str, offset: int) -> str:
    return f"{direction}/" + base64.urlsafe_b64encode(str(offset).encode()).decode()


def _read_token(token: str) -> tuple[bool, int]:
    try:
        direction, encoded = token.split("/", 1)
        return direction == "f", int(base64.urlsafe_b64decode(encoded).decode())
    except (ValueError, UnicodeDecodeError):
        raise ServiceError(
            "InvalidParameterException", "The specified nextToken is not valid."
        ) from None


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
