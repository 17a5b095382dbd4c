"""Directory sharing: an owner account lends its Managed Microsoft AD to consumer accounts.

A share is one store document of kind ``directory_share``, keyed by the *consumer*
account and the consumer's own directory id (``SharedDirectoryId``), and holding the
``SharedDirectory`` shape. The consumer sees it in DescribeDirectories as a
``SharedMicrosoftAD`` directory with that id; a DB instance of the consumer joins it by
that id and lands in the owner's real domain (RDS resolves the id with
:meth:`SharingMixin.directory_key`).

ShareStatus as the service documents it
(https://docs.aws.amazon.com/directoryservice/latest/admin-guide/ms_ad_directory_sharing_key_concepts.html);
Sharing, Rejecting and Deleting have no work behind them here, so a call passes
through them at once:

    (share, HANDSHAKE)  -> PendingAcceptance
    PendingAcceptance   -> Sharing -> Shared          (accept, by the consumer)
    PendingAcceptance   -> Rejecting -> Rejected      (reject, by the consumer)
    Rejected            -> PendingAcceptance          (shared again by the owner)
    any                 -> Deleting -> Deleted (gone) (unshare; the consumer deletes its
                                                       shared directory; the owner
                                                       deletes the directory)

Refusals: ORGANIZATIONS needs AWS Organizations, which pgrealm does not have
(OrganizationsException); unsharing, or deleting the consumer's shared directory,
while a consumer DB instance is joined answers ClientException "authorized
applications", as DeleteDirectory does for the owner's own instances.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pgrealm.model.rds import instances_joined_to
from pgrealm.services.base import Service, new_id
from pgrealm.services.context import RequestContext
from pgrealm.services.ds.rules import require_microsoft_ad
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["SHARE", "ShareStatus", "SharingMixin"]

log = logging.getLogger(__name__)

SHARE = Kind.DIRECTORY_SHARE
_DIRECTORY = Kind.DIRECTORY
_ACCOUNT = re.compile(r"^\d{12}$")
# "Shared domains per ... Microsoft AD" quota, the accounts one directory can be shared
# to: https://docs.aws.amazon.com/directoryservice/latest/admin-guide/ms_ad_limits.html
_SHARE_LIMIT = {"Standard": 25, "Enterprise": 500}


class ShareStatus(str, Enum):
    SHARED = "Shared"
    PENDING_ACCEPTANCE = "PendingAcceptance"
    REJECTED = "Rejected"
    REJECTING = "Rejecting"
    REJECT_FAILED = "RejectFailed"
    SHARING = "Sharing"
    SHARE_FAILED = "ShareFailed"
    DELETED = "Deleted"
    DELETING = "Deleting"


# Shares that hold a consumer directory (and so count against the quota).
_LIVE = (ShareStatus.PENDING_ACCEPTANCE.value, ShareStatus.SHARING.value, ShareStatus.SHARED.value)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _not_found(directory_id: str) -> ServiceError:
    return ServiceError("EntityDoesNotExistException", f"Directory {directory_id} does not exist.")


class SharingMixin:
    """ShareDirectory and friends, mixed into ``DsService``."""

    store: Store
    registry: dict[str, Service]

    # -- lookups --------------------------------------------------------------------------
    def _owner_doc(self, account: str, region: str, directory_id: str) -> Doc | None:
        doc = self.store.get(_DIRECTORY, account, region, directory_id)
        return doc if doc is not None and doc["desired"] == "present" else None

    def _share(self, ctx: RequestContext, shared_id: str) -> Doc | None:
        """The consumer's share ``shared_id``; a share whose owner directory is gone ends."""
        share = self.store.get(SHARE, ctx.account_id, ctx.region, shared_id)
        if share is None:
            return None
        owner = self.store.get(
            _DIRECTORY, share["OwnerAccountId"], ctx.region, share["OwnerDirectoryId"]
        )
        if owner is None:
            self.store.delete(SHARE, ctx.account_id, ctx.region, shared_id)
            return None
        if owner["desired"] == "absent":
            share["ShareStatus"] = ShareStatus.DELETING.value
        return share

    def _shares_of(self, ctx: RequestContext, owner_id: str) -> list[Doc]:
        """Every share of the caller's directory ``owner_id``, in any consumer account."""
        return [
            s
            for s in self.store.list(SHARE, None, ctx.region)
            if s["OwnerAccountId"] == ctx.account_id and s["OwnerDirectoryId"] == owner_id
        ]

    def shared_view(self, ctx: RequestContext, directory_id: str) -> Doc | None:
        """The consumer's ``SharedMicrosoftAD`` directory ``directory_id``, as a directory doc.

        Only shares that hold a consumer directory are visible (not Rejected ones). The
        doc has no DCs of its own; ``shared_from`` is the owner directory's store key.
        """
        share = self._share(ctx, directory_id)
        if share is None or share["ShareStatus"] not in (*_LIVE, ShareStatus.DELETING.value):
            return None
        owner = self.store.get(
            _DIRECTORY, share["OwnerAccountId"], ctx.region, share["OwnerDirectoryId"]
        )
        assert owner is not None  # _share dropped the share otherwise
        return {
            "aws": _consumer_description(share, owner),
            "desired": "present",
            "dcs": [],
            "data_access": "Disabled",
            "shared_from": [share["OwnerAccountId"], ctx.region, share["OwnerDirectoryId"]],
        }

    def shared_views(self, ctx: RequestContext) -> list[Doc]:
        """Every shared directory the caller's account sees in DescribeDirectories."""
        views = []
        for share in self.store.list(SHARE, ctx.account_id, ctx.region):
            view = self.shared_view(ctx, share["SharedDirectoryId"])
            if view is not None:
                views.append(view)
        return views

    def directory_key(self, ctx: RequestContext, directory_id: str) -> list[str]:
        """The store key of the real directory behind ``directory_id`` in the caller's account.

        The caller's own directory is itself; a shared one the consumer has accepted is
        the owner's. Raises EntityDoesNotExistException for anything else.
        """
        if self._owner_doc(ctx.account_id, ctx.region, directory_id) is not None:
            return [ctx.account_id, ctx.region, directory_id]
        share = self._share(ctx, directory_id)
        if share is None or share["ShareStatus"] != ShareStatus.SHARED.value:
            raise _not_found(directory_id)
        return [share["OwnerAccountId"], ctx.region, share["OwnerDirectoryId"]]

    def member_directory(self, ctx: RequestContext, directory_id: str) -> Doc:
        """The real directory doc a DB instance of the caller joins for ``directory_id``."""
        key = self.directory_key(ctx, directory_id)
        doc = self._owner_doc(*key)
        if doc is None:
            raise _not_found(directory_id)
        return doc

    # -- operations: owner side ---------------------------------------------------------------
    def share_directory(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        owner_id = params["DirectoryId"]
        owner = self._owner_doc(ctx.account_id, ctx.region, owner_id)
        if owner is None:
            raise _not_found(owner_id)
        require_microsoft_ad(owner, "Directory sharing")
        if params["ShareMethod"] == "ORGANIZATIONS":
            raise ServiceError(
                "OrganizationsException",
                "The account is not a member of an AWS organization: pgrealm has no AWS "
                "Organizations. Share the directory with ShareMethod HANDSHAKE.",
            )
        target = _target(ctx, params["ShareTarget"])
        if owner["aws"]["Stage"] not in ("Active", "Impaired"):
            raise ServiceError(
                "ClientException",
                f"Directory {owner_id} cannot be shared in its current state "
                f"({owner['aws']['Stage']}).",
            )
        shares = self._shares_of(ctx, owner_id)
        existing = next((s for s in shares if s["SharedAccountId"] == target), None)
        if existing is not None and existing["ShareStatus"] in _LIVE:
            raise ServiceError(
                "DirectoryAlreadySharedException",
                f"Directory {owner_id} is already shared with account {target}.",
            )
        limit = _SHARE_LIMIT.get(owner["aws"].get("Edition", "Enterprise"), 500)
        if sum(1 for s in shares if s["ShareStatus"] in _LIVE) >= limit:
            raise ServiceError(
                "ShareLimitExceededException",
                f"Directory {owner_id} is already shared with the maximum of {limit} accounts.",
            )
        stamp = _now()
        share = {
            "OwnerAccountId": ctx.account_id,
            "OwnerDirectoryId": owner_id,
            "ShareMethod": "HANDSHAKE",
            "SharedAccountId": target,
            # A Rejected share keeps its consumer id when the owner asks again.
            "SharedDirectoryId": existing["SharedDirectoryId"] if existing else new_id("d-", 10),
            "ShareStatus": ShareStatus.PENDING_ACCEPTANCE.value,
            "ShareNotes": params.get("ShareNotes"),
            "CreatedDateTime": existing["CreatedDateTime"] if existing else stamp,
            "LastUpdatedDateTime": stamp,
        }
        self.store.put(SHARE, target, ctx.region, share["SharedDirectoryId"], share)
        log.info("directory %s shared with account %s", owner_id, target)
        return {"SharedDirectoryId": share["SharedDirectoryId"]}

    def unshare_directory(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        owner_id = params["DirectoryId"]
        if self._owner_doc(ctx.account_id, ctx.region, owner_id) is None:
            raise _not_found(owner_id)
        target = _target(ctx, params["UnshareTarget"])
        share = next(
            (s for s in self._shares_of(ctx, owner_id) if s["SharedAccountId"] == target), None
        )
        if share is None:
            raise ServiceError(
                "DirectoryNotSharedException",
                f"Directory {owner_id} is not shared with account {target}.",
            )
        self._refuse_if_in_use(target, ctx.region, share)
        self.store.delete(SHARE, target, ctx.region, share["SharedDirectoryId"])
        log.info("directory %s unshared from account %s", owner_id, target)
        return {"SharedDirectoryId": share["SharedDirectoryId"]}

    def _refuse_if_in_use(self, consumer: str, region: str, share: Doc) -> None:
        key = [share["OwnerAccountId"], region, share["OwnerDirectoryId"]]
        users = instances_joined_to(self.store, key, consumer)
        if users:
            raise ServiceError(
                "ClientException",
                f"Cannot stop sharing directory {share['OwnerDirectoryId']} with account "
                f"{consumer} because it still has authorized applications: {', '.join(users)}.",
            )

    # -- operations: consumer side ----------------------------------------------------------
    def accept_shared_directory(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        share = self._pending(ctx, params["SharedDirectoryId"])
        updated = self._move(ctx, share, ShareStatus.SHARED)
        log.info("shared directory %s accepted", share["SharedDirectoryId"])
        return {"SharedDirectory": _shared_shape(updated)}

    def reject_shared_directory(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        share = self._pending(ctx, params["SharedDirectoryId"])
        self._move(ctx, share, ShareStatus.REJECTED)
        log.info("shared directory %s rejected", share["SharedDirectoryId"])
        return {"SharedDirectoryId": share["SharedDirectoryId"]}

    def _pending(self, ctx: RequestContext, shared_id: str) -> Doc:
        share = self._share(ctx, shared_id)
        if share is None or share["ShareStatus"] not in _LIVE:
            raise _not_found(shared_id)
        if share["ShareStatus"] != ShareStatus.PENDING_ACCEPTANCE.value:
            raise ServiceError(
                "DirectoryAlreadySharedException",
                f"Shared directory {shared_id} has already been accepted.",
            )
        return share

    def _move(self, ctx: RequestContext, share: Doc, status: ShareStatus) -> Doc:
        def change(doc: Doc) -> None:
            doc["ShareStatus"] = status.value
            doc["LastUpdatedDateTime"] = _now()

        updated = self.store.update(
            SHARE, ctx.account_id, ctx.region, share["SharedDirectoryId"], change
        )
        return updated or share

    def delete_shared_directory(self, ctx: RequestContext, view: Doc) -> dict[str, Any]:
        """DeleteDirectory on a consumer's shared directory: the consumer leaves the share."""
        shared_id = view["aws"]["DirectoryId"]
        share = self._share(ctx, shared_id)
        if share is None:
            raise _not_found(shared_id)
        users = instances_joined_to(self.store, view["shared_from"], ctx.account_id)
        if users:
            raise ServiceError(
                "ClientException",
                f"Cannot delete the directory because it still has authorized applications: "
                f"{', '.join(users)}.",
            )
        self.store.delete(SHARE, ctx.account_id, ctx.region, shared_id)
        log.info("shared directory %s deleted by its consumer", shared_id)
        return {"DirectoryId": shared_id}

    # -- operations: both sides -------------------------------------------------------------
    def describe_shared_directories(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        owner_id = params["OwnerDirectoryId"]
        if self._owner_doc(ctx.account_id, ctx.region, owner_id) is not None:
            shares = self._shares_of(ctx, owner_id)
        else:
            shares = [
                s
                for s in self.store.list(SHARE, ctx.account_id, ctx.region)
                if s["OwnerDirectoryId"] == owner_id
                and self._share(ctx, s["SharedDirectoryId"]) is not None
            ]
            if not shares:
                raise _not_found(owner_id)
        wanted = set(params.get("SharedDirectoryIds") or [])
        if wanted:
            shares = [s for s in shares if s["SharedDirectoryId"] in wanted]
        out = page("ds", "DescribeSharedDirectories", shares, params)
        out["SharedDirectories"] = [_shared_shape(s) for s in out["SharedDirectories"]]
        return out


def _target(ctx: RequestContext, target: dict[str, Any]) -> str:
    account = str(target["Id"])
    if not _ACCOUNT.match(account):
        raise ServiceError(
            "InvalidTargetException", f"Target {account} is not a valid AWS account id."
        )
    if account == ctx.account_id:
        raise ServiceError(
            "InvalidTargetException",
            "The target account is the directory owner's own account; share with another account.",
        )
    return account


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _shared_shape(share: Doc) -> dict[str, Any]:
    out = dict(share)
    for key in ("CreatedDateTime", "LastUpdatedDateTime"):
        out[key] = _dt(out[key])
    return {k: v for k, v in out.items() if v is not None}


def _consumer_description(share: Doc, owner: Doc) -> dict[str, Any]:
    """A DirectoryDescription of the consumer's SharedMicrosoftAD (times as ISO strings)."""
    aws = owner["aws"]
    stage = "Deleting" if owner["desired"] == "absent" else aws["Stage"]
    return {
        "DirectoryId": share["SharedDirectoryId"],
        "Name": aws["Name"],
        "ShortName": aws.get("ShortName"),
        "Description": aws.get("Description"),
        "Edition": aws.get("Edition"),
        "Type": "SharedMicrosoftAD",
        "Stage": stage,
        "LaunchTime": share["CreatedDateTime"],
        "StageLastUpdatedDateTime": share["LastUpdatedDateTime"],
        "DnsIpAddrs": aws["DnsIpAddrs"],
        "ShareStatus": share["ShareStatus"],
        "ShareMethod": share["ShareMethod"],
        "ShareNotes": share.get("ShareNotes"),
        "OwnerDirectoryDescription": {
            "DirectoryId": share["OwnerDirectoryId"],
            "AccountId": share["OwnerAccountId"],
            "DnsIpAddrs": aws["DnsIpAddrs"],
            "VpcSettings": aws["VpcSettings"],
            "NetworkType": aws.get("NetworkType", "IPv4"),
        },
        "SsoEnabled": False,
    }
