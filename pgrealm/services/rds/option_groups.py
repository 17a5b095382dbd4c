"""DB option groups. RDS for PostgreSQL offers no options, so a group holds none: the
default ``default:postgres-15`` every instance is in, and empty ones a user makes (which
Terraform and CloudFormation templates often declare)."""

from __future__ import annotations

import re
from typing import Any

from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = ["DEFAULT_OPTION_GROUP", "OptionGroupsMixin"]

DEFAULT_OPTION_GROUP = "default:postgres-15"
_MAJOR = "15"
_NAME = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$")
_QUOTA = 20  # option groups an account may make


class OptionGroupsMixin:
    """The option group operations, mixed into ``RdsService``."""

    store: Store

    def describe_option_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        groups = [_default(ctx), *self.store.list(Kind.DB_OPTION_GROUP, ctx.account_id, ctx.region)]
        name = (params.get("OptionGroupName") or "").lower()
        groups = [
            g
            for g in groups
            if name in ("", g["OptionGroupName"])
            and params.get("EngineName") in (None, g["EngineName"])
            and params.get("MajorEngineVersion") in (None, g["MajorEngineVersion"])
        ]
        if name and not groups:
            raise ServiceError(
                "OptionGroupNotFoundFault", f"Specified OptionGroupName: {name} not found."
            )
        return page("rds", "DescribeOptionGroups", [_public(g) for g in groups], params)

    def describe_option_group_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        _check_engine(params["EngineName"], params.get("MajorEngineVersion") or _MAJOR)
        return page("rds", "DescribeOptionGroupOptions", [], params)

    def create_option_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["OptionGroupName"].lower()
        if not _NAME.match(name) or name.startswith("default"):
            raise CommonError(
                "InvalidParameterValue",
                f"The parameter OptionGroupName is not a valid identifier: {name}.",
            )
        _check_engine(params["EngineName"], params["MajorEngineVersion"])
        if len(self.store.list(Kind.DB_OPTION_GROUP, ctx.account_id, ctx.region)) >= _QUOTA:
            raise ServiceError("OptionGroupQuotaExceededFault", "Option group quota exceeded.")
        group = {
            "OptionGroupName": name,
            "OptionGroupDescription": params["OptionGroupDescription"],
            "EngineName": "postgres",
            "MajorEngineVersion": _MAJOR,
            "Options": [],
            "AllowsVpcAndNonVpcInstanceMemberships": True,
            "OptionGroupArn": f"arn:aws:rds:{ctx.region}:{ctx.account_id}:og:{name}",
            "_tags": params.get("Tags") or [],
        }
        if not self.store.insert(Kind.DB_OPTION_GROUP, ctx.account_id, ctx.region, name, group):
            raise ServiceError(
                "OptionGroupAlreadyExistsFault", f"Option group {name} already exists."
            )
        return {"OptionGroup": _public(group)}

    def delete_option_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["OptionGroupName"].lower()
        if name == DEFAULT_OPTION_GROUP:
            raise ServiceError(
                "InvalidOptionGroupStateFault", f"Default option group {name} cannot be deleted."
            )
        users = [
            d["aws"]["DBInstanceIdentifier"]
            for d in self.store.list(Kind.DB_INSTANCE, ctx.account_id, ctx.region)
            if any(m["OptionGroupName"] == name for m in d["aws"].get("OptionGroupMemberships", []))
        ]
        if users:
            raise ServiceError(
                "InvalidOptionGroupStateFault",
                f"The option group {name} cannot be deleted because it is in use by {users[0]}.",
            )
        if not self.store.delete(Kind.DB_OPTION_GROUP, ctx.account_id, ctx.region, name):
            raise ServiceError(
                "OptionGroupNotFoundFault", f"Specified OptionGroupName: {name} not found."
            )
        return {}


def _not_found(name: str) -> ServiceError:
    return ServiceError("OptionGroupNotFoundFault", f"Specified OptionGroupName: {name} not found.")


def _check_engine(engine: str, major: str) -> None:
    if engine != "postgres" or major != _MAJOR:
        raise CommonError(
            "InvalidParameterCombination",
            f"Cannot find major version {major} for {engine}: pgrealm runs postgres {_MAJOR}.",
        )


def _default(ctx: RequestContext) -> dict[str, Any]:
    return {
        "OptionGroupName": DEFAULT_OPTION_GROUP,
        "OptionGroupDescription": "Default option group for postgres 15",
        "EngineName": "postgres",
        "MajorEngineVersion": _MAJOR,
        "Options": [],
        "AllowsVpcAndNonVpcInstanceMemberships": True,
        "OptionGroupArn": f"arn:aws:rds:{ctx.region}:{ctx.account_id}:og:{DEFAULT_OPTION_GROUP}",
    }


def _public(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in group.items() if not k.startswith("_")}
