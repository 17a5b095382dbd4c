"""What every service shares: the constructor contract and id helpers.

A service is a class with one method per served operation, named as botocore's
snake_case operation name (``create_microsoft_ad``), taking ``(ctx, params)`` and
returning the output shape as a dict keyed by botocore member names. Services raise
only :class:`pgrealm.services.errors.ServiceError`. An operation without a method answers
the service's own unsupported-operation error (``api/dispatch.py``).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from pgrealm.store import Store

__all__ = ["Revisioned", "Service", "merge_tags", "new_id", "sibling"]

_HEX = string.digits + "abcdef"


def merge_tags(old: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    """``old`` with ``new`` added, as the services' tag calls do: a key already there takes
    the new value and keeps its place."""
    merged = {t["Key"]: t.get("Value", "") for t in old}
    merged.update({t["Key"]: t.get("Value", "") for t in new})
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def new_id(prefix: str, length: int = 17, alphabet: str = _HEX) -> str:
    """An AWS-looking id: ``new_id("vpc-")`` -> ``vpc-0a1b2c3d4e5f60718``; ``new_id("d-", 10)``."""
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


S = TypeVar("S", bound="Service")


class Service:
    """Base of every ``<Svc>Service``; ``registry`` gives access to sibling services."""

    service_name = ""

    def __init__(self, store: Store, registry: dict[str, Service]) -> None:
        self.store = store
        self.registry = registry

    def sibling(self, name: str, kind: type[S]) -> S:
        """The sibling service ``name``, typed: calls between services are checked."""
        return sibling(self.registry, name, kind)


def sibling(registry: dict[str, Service], name: str, kind: type[S]) -> S:
    """``registry``'s service ``name``, typed as ``kind`` (a unit test may register a fake
    of the same shape)."""
    return cast(S, registry[name])


class Revisioned(dict[str, Any]):
    """An output structure whose wire form depends on ``revision`` alone."""

    __slots__ = ("revision",)

    def __init__(self, value: Mapping[str, Any], revision: str) -> None:
        super().__init__(value)
        self.revision = revision
