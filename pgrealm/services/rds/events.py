"""describe-events and describe-event-categories: what happened to the account's DB
instances and snapshots in the last 14 days (recorded by model/events.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pgrealm.model.events import CATEGORIES
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = ["EventsMixin"]


class EventsMixin:
    """The event operations, mixed into ``RdsService``."""

    store: Store

    def describe_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("SourceIdentifier") and not params.get("SourceType"):
            raise CommonError(
                "InvalidParameterCombination",
                "Cannot specify source identifier without source type",
            )
        start, end = _window(params)
        categories = set(params.get("EventCategories") or [])
        wanted = {
            "SourceType": params.get("SourceType"),
            "SourceIdentifier": (params.get("SourceIdentifier") or "").lower() or None,
        }
        events = []
        for event in self.store.list(Kind.EVENT, ctx.account_id, ctx.region):
            date = datetime.fromisoformat(event["Date"])
            if not start <= date <= end:
                continue
            if any(v is not None and event[k] != v for k, v in wanted.items()):
                continue
            if categories and not categories & set(event["EventCategories"]):
                continue
            events.append({**event, "Date": date})
        events.sort(key=lambda e: e["Date"])
        return page("rds", "DescribeEvents", events, params)

    def describe_event_categories(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        source = params.get("SourceType")
        if source is not None and source not in CATEGORIES:
            raise CommonError("InvalidParameterValue", f"Invalid source type: {source}")
        maps = [
            {"SourceType": kind, "EventCategories": list(categories)}
            for kind, categories in CATEGORIES.items()
            if source in (None, kind)
        ]
        return {"EventCategoriesMapList": maps}


def _window(params: dict[str, Any]) -> tuple[datetime, datetime]:
    """StartTime and EndTime, or Duration minutes back from now (60 unless told)."""
    now = datetime.now(UTC)
    end = _utc(params.get("EndTime")) or now
    start = _utc(params.get("StartTime"))
    if start is None:
        start = end - timedelta(minutes=int(params.get("Duration") or 60))
    return start, end


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    stamp: datetime = value
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
