"""RDS describe filters: ``Filters=[{Name, Values}]``, each name a set of values one field
of the resource must match (any value of a name, every name)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pgrealm.services.errors import CommonError

__all__ = ["Field", "filter_tests", "one"]

# What a filter name reads from a resource's AWS shape: the values it has for that field.
Field = Callable[[dict[str, Any]], Iterable[str]]


def filter_tests(
    filters: list[dict[str, Any]] | None, fields: Mapping[str, Field]
) -> list[Callable[[dict[str, Any]], bool]]:
    """One test per filter; InvalidParameterValue names a filter the call does not know."""
    tests = []
    for flt in filters or []:
        field = fields.get(flt["Name"])
        if field is None:
            raise CommonError("InvalidParameterValue", f"Unrecognized filter name: {flt['Name']}")
        tests.append(_any_of(field, set(flt.get("Values") or [])))
    return tests


def _any_of(field: Field, values: set[str]) -> Callable[[dict[str, Any]], bool]:
    return lambda aws: any(v in values for v in field(aws))


def one(name: str) -> Field:
    """The field ``name`` of the shape, when it has one."""
    return lambda aws: [str(aws[name])] if aws.get(name) is not None else []
