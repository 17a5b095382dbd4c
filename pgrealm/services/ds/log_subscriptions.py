"""Log subscriptions (CreateLogSubscription, ListLogSubscriptions, DeleteLogSubscription),
mixed into ``DsService``.

A subscription sends the directory's DCs' authentication events to a CloudWatch Logs
group that exists already (create-log-group first, as on AWS): Kerberos and NTLM
successes and failures, with the principal, so "why did alice's kinit fail" has an
answer. The DCs start writing them (Samba's ``auth_json_audit``) when the directory
reconciler restarts them with the subscription, one at a time; the logs service reads
them from the DCs' logs (services/logs/sources.py). One subscription per directory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgrealm.model.directory import now
from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.ds.rules import require_microsoft_ad
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store.kinds import Kind

__all__ = ["LogSubscriptionsMixin"]


class LogSubscriptionsMixin(DsMixin):
    def create_log_subscription(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        directory_id, group = params["DirectoryId"], params["LogGroupName"]
        with self.store.transaction():
            doc = self.get_directory(ctx, directory_id)
            require_microsoft_ad(doc, "A log subscription")
            if doc.get("log_subscription"):
                raise ServiceError(
                    "EntityAlreadyExistsException",
                    f"Directory {directory_id} already has a log subscription.",
                )
            if self.store.get(Kind.LOG_GROUP, ctx.account_id, ctx.region, group) is None:
                raise ServiceError(
                    "EntityDoesNotExistException",
                    f"The log group {group} does not exist: create it with create-log-group.",
                )
            doc["log_subscription"] = {
                "LogGroupName": group,
                "SubscriptionCreatedDateTime": now().isoformat(),
            }
            self.store.put(Kind.DIRECTORY, ctx.account_id, ctx.region, directory_id, doc)
        self.kick()
        return {}

    def list_log_subscriptions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("DirectoryId"):
            docs = [self.get_directory(ctx, params["DirectoryId"])]
        else:
            docs = self.store.list(Kind.DIRECTORY, ctx.account_id, ctx.region)
        shown = [
            {
                "DirectoryId": doc["aws"]["DirectoryId"],
                "LogGroupName": doc["log_subscription"]["LogGroupName"],
                "SubscriptionCreatedDateTime": datetime.fromisoformat(
                    doc["log_subscription"]["SubscriptionCreatedDateTime"]
                ),
            }
            for doc in docs
            if doc.get("log_subscription")
        ]
        return page("ds", "ListLogSubscriptions", shown, params)

    def delete_log_subscription(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        directory_id = params["DirectoryId"]
        with self.store.transaction():
            doc = self.get_directory(ctx, directory_id)
            if not doc.pop("log_subscription", None):
                raise ServiceError(
                    "EntityDoesNotExistException",
                    f"Directory {directory_id} has no log subscription.",
                )
            self.store.put(Kind.DIRECTORY, ctx.account_id, ctx.region, directory_id, doc)
        self.kick()
        return {}
