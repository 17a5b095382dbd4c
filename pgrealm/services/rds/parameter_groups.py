"""DB parameter groups: the postgresql.conf settings of the instances that use one.

A group is one store document of kind ``db_parameter_group``: its ``DBParameterGroup``
shape and, under ``_parameters``, the values set in it. ``default.postgres15`` exists
in every account and region and cannot be changed, as on RDS. Names and values are
checked against PostgreSQL's own catalog (:mod:`pgrealm.gateways.parameters`);
the settings pgrealm manages (addresses, paths, authentication, archiving) are not
modifiable, except ``krb_caseins_users``, which Kerberos users ask for.

A change reaches the instances using the group: each is marked (ParameterApplyStatus
``applying``) and the db-instance reconciler rewrites its configuration and reloads it;
a static setting leaves the instance ``pending-reboot`` until it is rebooted.
"""

from __future__ import annotations

from typing import Any

from pgrealm.gateways.parameters import SettingsCatalog
from pgrealm.model.parameters import GROUP_MAY_SET, Setting, value_problem
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.services.pagination import page
from pgrealm.services.rds import rules
from pgrealm.services.rds.catalog import FAMILY
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["DEFAULT_GROUP", "GROUP", "ParameterGroupsMixin", "applying"]

GROUP = Kind.DB_PARAMETER_GROUP
DEFAULT_GROUP = "default.postgres15"
_INSTANCE = Kind.DB_INSTANCE


class ParameterGroupsMixin:
    """The DB parameter group operations, mixed into ``RdsService``."""

    store: Store
    catalog: SettingsCatalog

    def create_db_parameter_group(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["DBParameterGroupName"]
        problem = rules.parameter_group_name_problem(name)
        if problem:
            raise CommonError("InvalidParameterValue", problem)
        if params["DBParameterGroupFamily"] != FAMILY:
            raise CommonError(
                "InvalidParameterValue",
                f"DBParameterGroupFamily {params['DBParameterGroupFamily']} is not supported: "
                f"pgrealm runs PostgreSQL 15 ({FAMILY}).",
            )
        name = name.lower()
        doc = {
            **_shape(ctx, name, params["Description"]),
            "_parameters": {},
            "_tags": list(params.get("Tags") or []),
        }
        if name == DEFAULT_GROUP or not self.store.insert(
            GROUP, ctx.account_id, ctx.region, name, doc
        ):
            raise ServiceError(
                "DBParameterGroupAlreadyExistsFault",
                f"Parameter group {name} already exists",
            )
        return {"DBParameterGroup": _public(doc)}

    def describe_db_parameter_groups(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        if params.get("DBParameterGroupName"):
            return {
                "DBParameterGroups": [
                    _public(self.parameter_group(ctx, params["DBParameterGroupName"]))
                ]
            }
        groups = [_default(ctx), *self.store.list(GROUP, ctx.account_id, ctx.region)]
        out = page("rds", "DescribeDBParameterGroups", groups, params)
        out["DBParameterGroups"] = [_public(g) for g in out["DBParameterGroups"]]
        return out

    def modify_db_parameter_group(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = self._changeable(ctx, params["DBParameterGroupName"])
        settings = self.catalog.settings()
        changes = {}
        for parameter in params["Parameters"]:
            setting = self._modifiable(settings, parameter["ParameterName"])
            value = str(parameter.get("ParameterValue", ""))
            problem = value_problem(setting, value)
            if problem:
                raise CommonError("InvalidParameterValue", problem)
            if setting.static and parameter.get("ApplyMethod") == "immediate":
                raise CommonError(
                    "InvalidParameterCombination",
                    f"cannot use immediate apply method for static parameter {setting.name}",
                )
            changes[setting.name] = value
        self._change(ctx, name, lambda values: values.update(changes))
        return {"DBParameterGroupName": name}

    def reset_db_parameter_group(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = self._changeable(ctx, params["DBParameterGroupName"])
        names = {p["ParameterName"] for p in params.get("Parameters") or []}
        if not params.get("ResetAllParameters") and not names:
            raise CommonError(
                "InvalidParameterCombination",
                "Either ResetAllParameters or Parameters must be specified.",
            )

        def reset(values: dict[str, str]) -> None:
            for key in list(values):
                if params.get("ResetAllParameters") or key in names:
                    del values[key]

        self._change(ctx, name, reset)
        return {"DBParameterGroupName": name}

    def delete_db_parameter_group(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = self._changeable(ctx, params["DBParameterGroupName"])
        if self._users(ctx, name):
            raise ServiceError(
                "InvalidDBParameterGroupStateFault",
                "One or more database instances are still members of this parameter group "
                f"{name}, so the group cannot be deleted",
            )
        self.store.delete(GROUP, ctx.account_id, ctx.region, name)
        return {}

    def describe_db_parameters(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.parameter_group(ctx, params["DBParameterGroupName"])
        values = group.get("_parameters", {})
        source = params.get("Source")
        managed = self.catalog.managed() - GROUP_MAY_SET
        settings = sorted(self.catalog.settings().items())
        rows = [_parameter(setting, values.get(name), managed) for name, setting in settings]
        rows = [r for r in rows if source is None or r["Source"] == source]
        return page("rds", "DescribeDBParameters", rows, params)

    # -- used by DB instance operations ------------------------------------------------------
    def parameter_group(self, ctx: RequestContext, name: str) -> Doc:
        if name.lower() == DEFAULT_GROUP:
            return _default(ctx)
        doc = self.store.get(GROUP, ctx.account_id, ctx.region, name.lower())
        if doc is None:
            raise ServiceError(
                "DBParameterGroupNotFoundFault", f"DBParameterGroup not found: {name}"
            )
        return doc

    # -- helpers ------------------------------------------------------------------------------
    def _changeable(self, ctx: RequestContext, name: str) -> str:
        if name.lower() == DEFAULT_GROUP:
            raise CommonError(
                "InvalidParameterValue", f"Default parameter groups cannot be modified: {name}"
            )
        return str(self.parameter_group(ctx, name)["DBParameterGroupName"])

    def _modifiable(self, settings: dict[str, Setting], name: str) -> Setting:
        setting = settings.get(name.lower())
        if setting is None:
            raise CommonError(
                "InvalidParameterValue", f"Could not find parameter with name: {name}"
            )
        if setting.name in self.catalog.managed() - GROUP_MAY_SET:
            raise CommonError("InvalidParameterValue", f"Unmodifiable DB Parameter: {name}")
        return setting

    def _change(self, ctx: RequestContext, name: str, change: Any) -> None:
        self.store.update(
            GROUP, ctx.account_id, ctx.region, name, lambda d: change(d["_parameters"])
        )
        for ident in self._users(ctx, name):  # the reconciler applies it to each
            self.store.update(_INSTANCE, ctx.account_id, ctx.region, ident, applying)
        self.kick()  # type: ignore[attr-defined]

    def _users(self, ctx: RequestContext, name: str) -> list[str]:
        return [
            d["aws"]["DBInstanceIdentifier"]
            for d in self.store.list(_INSTANCE, ctx.account_id, ctx.region)
            if d.get("parameter_group") == name
        ]


def applying(doc: Doc) -> None:
    """Mark an instance for the reconciler: its group's settings changed."""
    for group in doc["aws"]["DBParameterGroups"]:
        group["ParameterApplyStatus"] = "applying"
    doc["parameters_due"] = True


def _shape(ctx: RequestContext, name: str, description: str) -> dict[str, Any]:
    return {
        "DBParameterGroupName": name,
        "DBParameterGroupFamily": FAMILY,
        "Description": description,
        "DBParameterGroupArn": f"arn:aws:rds:{ctx.region}:{ctx.account_id}:pg:{name}",
    }


def _default(ctx: RequestContext) -> Doc:
    return _shape(ctx, DEFAULT_GROUP, "Default parameter group for postgres15")


def _public(doc: Doc) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _parameter(setting: Setting, value: str | None, managed: frozenset[str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ParameterName": setting.name,
        "Description": setting.description,
        "Source": "user" if value is not None else "engine-default",
        "ApplyType": "static" if setting.static else "dynamic",
        "DataType": setting.data_type,
        "IsModifiable": setting.name not in managed,
        "ApplyMethod": "pending-reboot" if setting.static else "immediate",
    }
    if value is not None:
        row["ParameterValue"] = value
    if setting.allowed_values:
        row["AllowedValues"] = setting.allowed_values
    return row
