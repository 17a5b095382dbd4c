"""EC2 tag operations over the resources pgrealm keeps: VPCs, subnets, security groups."""

from __future__ import annotations

import logging
from typing import Any

from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._base import Ec2Base
from pgrealm.services.ec2._common import (
    SG,
    SUBNET,
    VPC,
    Getter,
    check_dry_run,
    filtered,
    group_not_found,
    subnet_not_found,
    vpc_not_found,
)
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page
from pgrealm.store import Doc

__all__ = ["TagOps"]

log = logging.getLogger(__name__)

# id prefix -> (store kind, resource type, not-found error, id field)
_KINDS = {
    "vpc-": (VPC, "vpc", vpc_not_found, "VpcId"),
    "subnet-": (SUBNET, "subnet", subnet_not_found, "SubnetId"),
    "sg-": (SG, "security-group", group_not_found, "GroupId"),
}

_TAG_FILTERS: dict[str, Getter] = {
    "resource-id": lambda d: [d["ResourceId"]],
    "resource-type": lambda d: [d["ResourceType"]],
    "key": lambda d: [d["Key"]],
    "value": lambda d: [d["Value"]],
}


def _kind(resource_id: str) -> tuple[str, str, Any, str]:
    for prefix, kind in _KINDS.items():
        if resource_id.startswith(prefix):
            return kind
    raise CommonError("InvalidID", f"The ID '{resource_id}' is not valid")


class TagOps(Ec2Base):
    """Tag operations (mixed into Ec2Service)."""

    def _retag(self, ctx: RequestContext, resources: list[str], change: Any) -> None:
        with self.store.transaction():
            docs: list[tuple[str, str, Doc]] = []
            for resource_id in resources:
                kind, _, not_found, _ = _kind(resource_id)
                doc = self.store.get(kind, ctx.account_id, ctx.region, resource_id)
                if doc is None:
                    raise not_found(resource_id)
                docs.append((kind, resource_id, doc))
            for kind, resource_id, doc in docs:
                doc["Tags"] = change(doc.get("Tags") or [])
                self.store.put(kind, ctx.account_id, ctx.region, resource_id, doc)

    def create_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        new = {t["Key"]: {"Key": t["Key"], "Value": t.get("Value", "")} for t in params["Tags"]}

        def change(tags: list[dict[str, str]]) -> list[dict[str, str]]:
            merged = {t["Key"]: t for t in tags}
            merged.update(new)
            return list(merged.values())

        self._retag(ctx, params["Resources"], change)
        return {}

    def delete_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        doomed = params.get("Tags")

        def change(tags: list[dict[str, str]]) -> list[dict[str, str]]:
            if doomed is None:  # no Tags given: delete every tag
                return []
            return [t for t in tags if not any(_hits(d, t) for d in doomed)]

        self._retag(ctx, params["Resources"], change)
        return {}

    def describe_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        rows = []
        for kind, resource_type, _, id_field in _KINDS.values():
            for doc in self.store.list(kind, ctx.account_id, ctx.region):
                rows += [
                    {
                        "ResourceId": doc[id_field],
                        "ResourceType": resource_type,
                        "Key": t["Key"],
                        "Value": t.get("Value", ""),
                    }
                    for t in doc.get("Tags") or []
                ]
        rows = filtered(rows, params.get("Filters"), _TAG_FILTERS)
        rows.sort(key=lambda r: (r["ResourceId"], r["Key"]))
        return page("ec2", "DescribeTags", rows, params)


def _hits(spec: dict[str, Any], tag: dict[str, str]) -> bool:
    # A Value in the request (even "") must match; no Value deletes whatever the value.
    if spec["Key"] != tag["Key"]:
        return False
    return "Value" not in spec or spec["Value"] == tag.get("Value", "")
