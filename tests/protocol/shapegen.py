"""Helpers for the protocol round trips: values generated from shapes, and botocore's wire.

``generate(shape)`` fills every member down to a few levels (required ones below that),
with values that respect ``min``/``max``/``enum``; patterns are ignored. ``wire_request``
turns botocore's serialized request dict into our :class:`HttpRequest` exactly the way
botocore would put it on the wire.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.model import Shape

from pgrealm.api.http import HttpRequest, HttpResponse

STAMP = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
FULL_DEPTH = 3


def generate(shape: Shape, depth: int = 0, stack: tuple[str, ...] = ()) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, depth, stack + (shape.name,))
    if kind == "list":
        count = min(max(2, shape.metadata.get("min", 0)), shape.metadata.get("max", 2))
        return [generate(shape.member, depth + 1, stack) for _ in range(count)][:count]
    if kind == "map":
        key = generate(shape.key, depth + 1, stack)
        return {key: generate(shape.value, depth + 1, stack)}
    return _scalar(shape)


def _structure(shape: Shape, depth: int, stack: tuple[str, ...]) -> Any:
    if shape.is_document_type:
        return {"doc": ["a", 1, True]}
    required = set(shape.required_members)
    members = shape.members
    if shape.is_tagged_union:
        name = next(iter(members))
        return {name: generate(members[name], depth + 1, stack)}
    out = {}
    for name, member in members.items():
        recursive = member.name in stack
        if name in required or (depth < FULL_DEPTH and not recursive):
            out[name] = generate(member, depth + 1, stack)
    # An empty structure has no query-protocol form at all: give it one member.
    scalars = [n for n, m in members.items() if m.type_name not in ("structure", "list", "map")]
    others = [n for n, m in members.items() if m.name not in stack]
    if not out and (scalars or others):
        name = (scalars or others)[0]
        out[name] = generate(members[name], depth + 1, stack)
    return out


def _scalar(shape: Shape) -> Any:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "string":
        if shape.enum:
            return shape.enum[-1]
        size = max(meta.get("min", 1), min(6, meta.get("max", 6)))
        return ("v" + "abcdefghijklmnop" * (size // 16 + 1))[:size]
    if kind in ("integer", "long"):
        return max(meta.get("min", 7), min(7, meta.get("max", 7)))
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return STAMP
    if kind == "blob":
        return b"blob\x00bytes"
    raise AssertionError(f"no generator for {kind}")


def wire_request(serialized: dict[str, Any]) -> HttpRequest:
    """The request botocore would send, as our server sees it."""
    prepare_request_dict(serialized, endpoint_url="http://127.0.0.1:4566")
    prepared = create_request_object(serialized).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    return HttpRequest(prepared.method, url.path, url.query, headers, body)


def botocore_response(response: HttpResponse) -> dict[str, Any]:
    """Our response in the form botocore's response parsers take."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    return {"status_code": response.status, "headers": headers, "body": response.body}


def strip_metadata(parsed: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
