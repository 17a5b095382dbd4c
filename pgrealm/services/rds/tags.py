"""RDS tagging by ARN: AddTagsToResource, ListTagsForResource, RemoveTagsFromResource.

Terraform's AWS provider reads and writes the tags of every RDS resource it manages
through these calls. Tags live where DescribeDBInstances and DescribeDBSnapshots show
them (``TagList``); a DB subnet group's, which its describe shape does not show, under
``_tags`` in its document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pgrealm.services.base import merge_tags
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["TagsMixin"]

_ARN = re.compile(
    r"^arn:aws:rds:(?P<region>[^:]+):(?P<account>\d{12}):(?P<kind>[a-z-]+):(?P<name>.+)$"
)
# resource type in the ARN -> (store kind, where the tags are, the not-found error shape)
_TARGETS = {
    "db": (Kind.DB_INSTANCE, ("aws", "TagList"), "DBInstanceNotFoundFault"),
    "snapshot": (Kind.DB_SNAPSHOT, ("aws", "TagList"), "DBSnapshotNotFoundFault"),
    "subgrp": (Kind.DB_SUBNET_GROUP, ("_tags",), "DBSubnetGroupNotFoundFault"),
    "pg": (Kind.DB_PARAMETER_GROUP, ("_tags",), "DBParameterGroupNotFoundFault"),
}
_MAX_TAGS = 50


class TagsMixin:
    """The tagging operations, mixed into ``RdsService``."""

    store: Store

    def add_tags_to_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        def add(tags: list[dict[str, str]]) -> list[dict[str, str]]:
            merged = merge_tags(tags, params["Tags"])
            if len(merged) > _MAX_TAGS:
                raise CommonError(
                    "TagQuotaPerResourceExceeded",
                    f"A resource can have at most {_MAX_TAGS} tags.",
                )
            return merged

        self._change_tags(ctx, params["ResourceName"], add)
        return {}

    def remove_tags_from_resource(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        keys = set(params["TagKeys"])
        self._change_tags(
            ctx, params["ResourceName"], lambda tags: [t for t in tags if t["Key"] not in keys]
        )
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind, key, path = self._tag_target(ctx, params["ResourceName"])
        doc = self.store.get(kind, *key)
        assert doc is not None  # _tag_target checked it
        return {"TagList": list(_tags_at(doc, path))}

    def _change_tags(
        self,
        ctx: RequestContext,
        arn: str,
        change: Callable[[list[dict[str, str]]], list[dict[str, str]]],
    ) -> None:
        kind, key, path = self._tag_target(ctx, arn)

        def apply(doc: Doc) -> None:
            holder = doc
            for part in path[:-1]:
                holder = holder[part]
            holder[path[-1]] = change(list(_tags_at(doc, path)))

        self.store.update(kind, *key, apply)

    def _tag_target(
        self, ctx: RequestContext, arn: str
    ) -> tuple[str, tuple[str, str, str], tuple[str, ...]]:
        match = _ARN.match(arn)
        if match is None or match["kind"] not in _TARGETS:
            raise CommonError("InvalidParameterValue", f"Invalid resource name: {arn}")
        kind, path, missing = _TARGETS[match["kind"]]
        key = (match["account"], match["region"], match["name"].lower())
        doc = self.store.get(kind, *key) if key[:2] == (ctx.account_id, ctx.region) else None
        if doc is None or (kind == Kind.DB_SNAPSHOT and doc["desired"] == "absent"):
            raise ServiceError(missing, f"{match['name']} not found: {arn}")
        return kind, key, path


def _tags_at(doc: Doc, path: tuple[str, ...]) -> list[dict[str, str]]:
    holder: Any = doc
    for part in path:
        holder = holder.get(part) if isinstance(holder, dict) else None
    return list(holder or [])
