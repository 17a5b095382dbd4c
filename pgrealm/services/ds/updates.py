"""UpdateDirectorySetup and DescribeUpdateDirectory, mixed into ``DsService``.

Of AWS's three update types, pgrealm takes one for real: ``SIZE``, a Simple AD or an AD
Connector going from Small to Large. For Simple AD that changes how its DCs run (Large
runs Samba's prefork model: model/directory.py), so the directory reconciler restarts
them with it one at a time and the directory stays Active; an AD Connector runs nothing
that its size changes. The update is an activity that DescribeUpdateDirectory shows
``Updating``, then ``Updated``. ``OS`` (the Windows Server version) and ``NETWORK``
(IPv6) are refused with the reason: pgrealm's DCs run Samba on Debian, over IPv4.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgrealm.model.directory import now
from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["UpdatesMixin"]

_KIND = Kind.DIRECTORY
_SIZED = {"SimpleAD": "Simple AD", "ADConnector": "AD Connector"}
_REFUSED = {
    "OS": "pgrealm's domain controllers run Samba on Debian: there is no Windows Server "
    "version to update.",
    "NETWORK": "pgrealm's directories are IPv4 only: their network type cannot change.",
}


class UpdatesMixin(DsMixin):
    def update_directory_setup(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id, update_type = params["DirectoryId"], params["UpdateType"]
        doc = self._update_directory(ctx, directory_id, active=True)
        if update_type in _REFUSED:
            raise ServiceError("UnsupportedOperationException", _REFUSED[update_type])
        wanted = _size_asked(doc, params)
        if params.get("CreateSnapshotBeforeUpdate"):
            self.create_snapshot(ctx, {"DirectoryId": directory_id, "Name": "before-update"})
        stamp = now().isoformat()

        def resize(d: Doc) -> None:
            d["aws"]["Size"] = wanted
            d.setdefault("updates", {}).setdefault(update_type, []).append(
                {
                    "Region": ctx.region,
                    "Status": "Updating",
                    "InitiatedBy": ctx.account_id,
                    "StartTime": stamp,
                    "LastUpdatedDateTime": stamp,
                }
            )

        self.store.update(_KIND, ctx.account_id, ctx.region, directory_id, resize)
        self.kick()
        return {}

    def describe_update_directory(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._update_directory(ctx, params["DirectoryId"])
        region = params.get("RegionName")
        activities = [
            {**a, **{f: datetime.fromisoformat(a[f]) for f in ("StartTime", "LastUpdatedDateTime")}}
            for a in doc.get("updates", {}).get(params["UpdateType"], [])
            if region is None or a["Region"] == region
        ]
        return page("ds", "DescribeUpdateDirectory", activities, params)

    def _update_directory(
        self, ctx: RequestContext, directory_id: str, active: bool = False
    ) -> Doc:
        try:
            if active:
                return self._active(ctx, directory_id)
            return self.get_directory(ctx, directory_id)
        except ServiceError as exc:
            if exc.shape != "EntityDoesNotExistException":
                raise
            raise ServiceError("DirectoryDoesNotExistException", exc.message) from exc


def _size_asked(doc: Doc, params: dict[str, Any]) -> str:
    """The size a SIZE update asks for, once it is one this directory can take."""
    aws = doc["aws"]
    wanted = params.get("DirectorySizeUpdateSettings", {}).get("DirectorySize")
    if wanted is None:
        raise ServiceError(
            "InvalidParameterException",
            "A SIZE update needs DirectorySizeUpdateSettings with a DirectorySize.",
        )
    kind = _SIZED.get(aws.get("Type", "MicrosoftAD"))
    if kind is None:
        raise ServiceError(
            "UnsupportedOperationException",
            f"Directory {aws['DirectoryId']} is AWS Managed Microsoft AD, which has editions, "
            "not sizes.",
        )
    if aws.get("Size") == wanted:
        raise ServiceError(
            "DirectoryInDesiredStateException",
            f"{kind} directory {aws['DirectoryId']} is already {wanted}.",
        )
    if wanted == "Small":
        raise ServiceError(
            "UnsupportedOperationException",
            f"A {kind} directory's size can only go up, from Small to Large.",
        )
    return str(wanted)
