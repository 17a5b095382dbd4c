"""What DsService gives the operation mixins (ip_routes.py, aliases.py, event_topics.py):
declared once here, so each mixin type-checks against the service it is mixed into."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pgrealm.sealing import Sealer
from pgrealm.services.context import RequestContext
from pgrealm.store import Doc, Store

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
