"""STS (sts): who the caller is. pgrealm's credentials are account root credentials."""

from __future__ import annotations

import logging
from typing import Any

from pgrealm.services.base import Service
from pgrealm.services.context import RequestContext

__all__ = ["StsService"]

log = logging.getLogger(__name__)


class StsService(Service):
    service_name = "sts"

    def get_caller_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        # Root credentials: AWS answers the account id as UserId and the root ARN.
        return {
            "UserId": ctx.account_id,
            "Account": ctx.account_id,
            "Arn": f"arn:aws:iam::{ctx.account_id}:root",
        }
