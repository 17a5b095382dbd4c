"""Directory Service Data (ds-data): users of a directory, read and written in its real AD.

Every call needs the directory's data access enabled first (AccessDeniedException with
reason DATA_DISABLED otherwise), as the service does.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from pgrealm.api.context import RequestContext
from pgrealm.api.errors import ServiceError
from pgrealm.reconcile.directory import DirectoryAccess, UserExists
from pgrealm.services.base import Service
from pgrealm.store import Doc, Store

__all__ = ["DsDataService"]

log = logging.getLogger(__name__)


class DsDataService(Service):
    service_name = "ds-data"

    def __init__(self, store: Store, registry: dict[str, Service], access: DirectoryAccess):
        super().__init__(store, registry)
        self.access = access

    def _directory(self, ctx: RequestContext, params: dict[str, Any]) -> Doc:
        ds = self.registry["ds"]
        try:
            doc: Doc = ds.get_directory(ctx, params["DirectoryId"])  # type: ignore[attr-defined]
        except ServiceError as exc:
            raise ServiceError("ResourceNotFoundException", exc.message) from exc
        if doc["data_access"] != "Enabled":
            raise ServiceError(
                "AccessDeniedException",
                "You don't have permission to perform the request or access the directory. "
                "Directory data access is disabled: enable it with EnableDirectoryDataAccess.",
                Reason="DATA_DISABLED",
            )
        if doc["aws"]["Stage"] not in ("Active", "Impaired"):
            raise ServiceError(
                "DirectoryUnavailableException",
                f"The directory {params['DirectoryId']} is not available.",
                Reason="DIRECTORY_TIMEOUT",
            )
        return doc

    def create_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        try:
            user = self.access.create_user(
                doc,
                params["SAMAccountName"],
                given_name=params.get("GivenName"),
                surname=params.get("Surname"),
                email=params.get("EmailAddress"),
            )
        except UserExists as exc:
            raise ServiceError(
                "ConflictException", f"The user {params['SAMAccountName']} already exists."
            ) from exc
        return {
            "DirectoryId": params["DirectoryId"],
            "SAMAccountName": user["sAMAccountName"],
            "SID": user["objectSid"],
        }

    def describe_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        user = self._user(doc, params["SAMAccountName"])
        return {
            "DirectoryId": params["DirectoryId"],
            "Realm": doc["aws"]["Name"],
            **_user_fields(user, detailed=True),
        }

    def list_users(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        users = self.access.list_users(doc)
        start = _offset(params.get("NextToken"))
        size = params.get("MaxResults") or 250
        page = users[start : start + size]
        out: dict[str, Any] = {
            "DirectoryId": params["DirectoryId"],
            "Realm": doc["aws"]["Name"],
            "Users": [_user_fields(u, detailed=False) for u in page],
        }
        if start + size < len(users):
            out["NextToken"] = _token(start + size)
        return out

    def delete_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        self._user(doc, params["SAMAccountName"])
        self.access.delete_user(doc, params["SAMAccountName"])
        return {}

    def disable_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._directory(ctx, params)
        self._user(doc, params["SAMAccountName"])
        self.access.set_user_enabled(doc, params["SAMAccountName"], False)
        return {}

    def _user(self, doc: Doc, name: str) -> Doc:
        user = self.access.get_user(doc, name)
        if user is None:
            raise ServiceError("ResourceNotFoundException", f"The user {name} does not exist.")
        return user


def _user_fields(user: Doc, detailed: bool) -> dict[str, Any]:
    out = {
        "SID": user.get("objectSid"),
        "SAMAccountName": user.get("sAMAccountName"),
        "GivenName": user.get("givenName"),
        "Surname": user.get("sn"),
        "Enabled": bool(user.get("enabled", True)),
    }
    if detailed:
        out.update(
            {
                "DistinguishedName": user.get("distinguishedName"),
                "UserPrincipalName": user.get("userPrincipalName"),
                "EmailAddress": user.get("mail"),
            }
        )
    return {k: v for k, v in out.items() if v is not None}


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceError(
            "ValidationException", "The NextToken is not valid.", Reason="INVALID_NEXT_TOKEN"
        ) from exc
