"""RDS's describe calls page by Marker: 100 records unless MaxRecords asks for 20 to 100."""

from __future__ import annotations

from typing import Any, TypeVar

from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import paginate

__all__ = ["marker_page"]

T = TypeVar("T")

_PAGE_MIN, _PAGE_MAX = 20, 100


def _invalid(message: str) -> CommonError:
    return CommonError("InvalidParameterValue", message)


def marker_page(items: list[T], params: dict[str, Any], key: str) -> dict[str, Any]:
    """One page of ``items`` under ``key``, with ``Marker`` when more follow."""
    size = params.get("MaxRecords")
    if size is None:
        size = _PAGE_MAX
    elif not _PAGE_MIN <= size <= _PAGE_MAX:
        raise _invalid(f"Invalid value {size} for MaxRecords. Must be between 20 and 100")
    page, marker = paginate(items, params.get("Marker"), size, lambda: _invalid("Invalid marker"))
    return {key: page, **({"Marker": marker} if marker else {})}
