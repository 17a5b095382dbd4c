"""NextToken pagination as the services do it: an opaque token, a page size, the rest.

The token encodes the offset of the next page; a token that does not decode is the
caller's error, answered with the exception the operation declares for it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from pgrealm.services.errors import ServiceError

__all__ = ["paginate"]

T = TypeVar("T")


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode(token: str, invalid: Callable[[], ServiceError]) -> int:
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid() from exc
    if offset < 0:
        raise invalid()
    return offset


def paginate(
    items: Sequence[T],
    token: str | None,
    size: int,
    invalid: Callable[[], ServiceError],
) -> tuple[list[T], str | None]:
    """The page that ``token`` points at (the first without one), and the next token."""
    start = _decode(token, invalid) if token else 0
    end = start + size
    return list(items[start:end]), (_encode(end) if end < len(items) else None)
