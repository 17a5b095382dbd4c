"""What DsService gives the operation mixins (ip_routes.py, aliases.py, trusts.py ...):
declared once here, so each mixin type-checks against the service it is mixed into; and
one lookup they share (``_listed``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pgrealm.sealing import Sealer
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["DsMixin"]


class DsMixin:
    store: Store
    kick: Callable[[], None]
    sealer: Sealer

    if TYPE_CHECKING:

        def get_directory(
            self,
            ctx: RequestContext,
            directory_id: str,
            shared: bool = False,
            deleting: bool = False,
        ) -> Doc: ...

        def _active(self, ctx: RequestContext, directory_id: str) -> Doc: ...
        def create_snapshot(
            self, ctx: RequestContext, params: dict[str, Any]
        ) -> dict[str, Any]: ...

    def _listed(
        self, ctx: RequestContext, params: dict[str, Any], field: str, ids: str
    ) -> list[Doc]:
        """The ``field`` records (trusts, snapshots) of the directory the request names, or
        of all the caller's; only those of ``params[ids]`` if given, each of which must be
        there (EntityDoesNotExistException)."""
        if params.get("DirectoryId"):
            docs = [self.get_directory(ctx, params["DirectoryId"])]
        else:
            docs = self.store.list(Kind.DIRECTORY, ctx.account_id, ctx.region)
        found = [r for d in docs for r in d.get(field, [])]
        wanted = params.get(ids)
        if not wanted:
            return found
        key = ids[:-1]  # TrustIds -> TrustId
        have = {_fields(r)[key] for r in found}
        missing = sorted(set(wanted) - have)
        if missing:
            noun = key.removesuffix("Id")
            raise ServiceError(
                "EntityDoesNotExistException", f"{noun} {missing[0]} does not exist."
            )
        return [r for r in found if _fields(r)[key] in wanted]


def _fields(record: Doc) -> Doc:
    """A trust keeps AWS's fields under "aws"; a snapshot is them."""
    return dict(record.get("aws", record))
