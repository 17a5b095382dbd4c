"""One way to page every list the services return, driven by botocore's paginator
definitions (``paginators-1.json``): which request member carries the token and which the
page size, where the results go, and whether the service flags more (IAM's IsTruncated).

What the definitions do not say is each service's own: its page size when none is asked
for (EC2 returns everything), the sizes it accepts (RDS: 20 to 100), and the error it
answers a token it did not issue with. Tokens are opaque: the offset of the next page.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.loaders

from pgrealm.services.errors import CommonError, ServiceError

__all__ = ["page"]


@dataclass(frozen=True)
class _Policy:
    default_size: int | None  # None: all that are left
    bounds: tuple[int, int] | None
    bad_token: Callable[[str], ServiceError]


def _ds_token(_: str) -> ServiceError:
    return ServiceError("InvalidNextTokenException", "The NextToken is not valid.")


def _ds_data_token(_: str) -> ServiceError:
    return ServiceError(
        "ValidationException", "The NextToken is not valid.", Reason="INVALID_NEXT_TOKEN"
    )


def _ec2_token(token: str) -> ServiceError:
    return CommonError("InvalidParameterValue", f"Invalid value '{token}' for nextToken.")


def _iam_token(_: str) -> ServiceError:
    return ServiceError("InvalidInputException", "Invalid Marker.")


def _logs_token(_: str) -> ServiceError:
    return ServiceError("InvalidParameterException", "The specified nextToken is not valid.")


def _rds_token(_: str) -> ServiceError:
    return CommonError("InvalidParameterValue", "Invalid marker")


_POLICIES = {
    "ds": _Policy(100, None, _ds_token),
    "ds-data": _Policy(250, None, _ds_data_token),
    "ec2": _Policy(None, None, _ec2_token),
    "iam": _Policy(100, None, _iam_token),
    "logs": _Policy(50, None, _logs_token),
    "rds": _Policy(100, (20, 100), _rds_token),
}


@functools.cache
def _definitions(service: str) -> dict[str, Any]:
    loaded = botocore.loaders.Loader().load_service_model(service, "paginators-1")
    return dict(loaded["pagination"])


def page(
    service: str,
    operation: str,
    items: Sequence[Any],
    params: dict[str, Any],
    default_size: int | None = None,
) -> dict[str, Any]:
    """The page of ``items`` that ``params`` ask for, as ``operation``'s output members:
    the results under its result key, and the token of the next page if one follows."""
    definition = _definitions(service)[operation]
    policy = _POLICIES[service]
    size = (
        params.get(definition["limit_key"]) if "limit_key" in definition else None
    )  # some lack one
    if size is not None and policy.bounds and not policy.bounds[0] <= size <= policy.bounds[1]:
        low, high = policy.bounds
        raise CommonError(
            "InvalidParameterValue",
            f"Invalid value {size} for {definition['limit_key']}. Must be between {low} and {high}",
        )
    token = params.get(definition["input_token"])
    start = _decode(token, policy.bad_token) if token else 0
    size = size or default_size or policy.default_size or max(len(items) - start, 1)
    more = start + size < len(items)
    out: dict[str, Any] = {definition["result_key"]: list(items[start : start + size])}
    if more:
        out[definition["output_token"]] = _encode(start + size)
    if "more_results" in definition:
        out[definition["more_results"]] = more
    return out


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode(token: str, invalid: Callable[[str], ServiceError]) -> int:
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid(token) from exc
    if offset < 0:
        raise invalid(token)
    return offset
