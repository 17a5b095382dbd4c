"""Plain HTTP request/response values passed between the server, parsers and serializers."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

__all__ = ["HttpRequest", "HttpResponse"]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # without the query string, still percent-encoded
    query_string: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def query_params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
