"""IAM policy documents: decoding, validation, wire encoding, and a small evaluator.

Documents arrive as JSON text, URL-encoded by some clients; we store the decoded text
verbatim (AWS echoes the caller's formatting) and URL-encode it again on the way out,
as IAM does in GetRole/GetRolePolicy/GetPolicyVersion (botocore decodes it back).

The evaluator answers "does this set of identity policies allow action A on resource
R": an explicit Deny wins, otherwise any matching Allow. Conditions are not
evaluated (pgrealm has no request context to test them against), so a conditional
statement counts as applying; that is lenient for Allow and strict for Deny.
See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote, unquote

from pgrealm.services.errors import ServiceError

__all__ = [
    "action_allowed",
    "decode_document",
    "encode_document",
    "parse_document",
    "trusted_services",
]

log = logging.getLogger(__name__)

DocKind = Literal["trust", "identity"]

_STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}
_TOP_KEYS = {"Version", "Id", "Statement"}


def _malformed(message: str) -> ServiceError:
    return ServiceError("MalformedPolicyDocumentException", message)


def decode_document(text: str) -> str:
    """The JSON text of a document that may have been sent URL-encoded."""
    stripped = text.lstrip()
    # JSON policies start with "{"; anything else that decodes to one was URL-encoded.
    if not stripped.startswith("{") and unquote(stripped).lstrip().startswith("{"):
        return unquote(text)
    return text


def encode_document(text: str) -> str:
    """URL-encode a stored document for the wire, as IAM answers it."""
    return quote(text, safe="")


def parse_document(text: str, kind: DocKind) -> dict[str, Any]:
    """Validate a (decoded) policy document; MalformedPolicyDocumentException if bad."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise _malformed("This policy contains invalid Json") from None
    if not isinstance(doc, dict) or "Statement" not in doc or set(doc) - _TOP_KEYS:
        raise _malformed("Syntax errors in policy.")
    for statement in _as_list(doc["Statement"]):
        _check_statement(statement, kind)
    return doc


def _check_statement(statement: Any, kind: DocKind) -> None:
    if not isinstance(statement, dict) or set(statement) - _STATEMENT_KEYS:
        raise _malformed("Syntax errors in policy.")
    if "Effect" not in statement:
        raise _malformed("Missing required field Effect")
    if statement["Effect"] not in ("Allow", "Deny"):
        raise _malformed(f"Invalid effect: {statement['Effect']}")
    if "Action" not in statement and "NotAction" not in statement:
        raise _malformed("Policy statement must contain actions.")
    if kind == "trust":
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise _malformed("Missing required field Principal")
        if "Resource" in statement or "NotResource" in statement:
            raise _malformed("Has prohibited field Resource")
        return
    if "Principal" in statement or "NotPrincipal" in statement:
        raise _malformed("Policy document should not specify a principal.")
    if "Resource" not in statement and "NotResource" not in statement:
        raise _malformed("Policy statement must contain resources.")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _strings(value: Any) -> list[str]:
    return [v for v in _as_list(value) if isinstance(v, str)]


@lru_cache(maxsize=512)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def _matches_any(patterns: Iterable[str], value: str, case_sensitive: bool) -> bool:
    return any(_glob(p, case_sensitive).match(value) for p in patterns)


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    # Action names are case-insensitive in IAM; resource ARNs are case-sensitive.
    if "Action" in statement:
        action_ok = _matches_any(_strings(statement["Action"]), action, False)
    else:
        action_ok = not _matches_any(_strings(statement.get("NotAction")), action, False)
    if "Resource" in statement:
        resource_ok = _matches_any(_strings(statement["Resource"]), resource, True)
    else:
        resource_ok = not _matches_any(_strings(statement.get("NotResource")), resource, True)
    return action_ok and resource_ok


def action_allowed(docs: Iterable[dict[str, Any]], action: str, resource: str = "*") -> bool:
    """Whether identity policies ``docs`` together allow ``action`` on ``resource``."""
    allowed = False
    for doc in docs:
        for statement in _as_list(doc.get("Statement", [])):
            if not isinstance(statement, dict) or not _applies(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def trusted_services(doc: dict[str, Any], action: str = "sts:AssumeRole") -> set[str]:
    """Service principals a trust policy lets perform ``action``; ``{"*"}`` for anyone.

    Deny statements naming a service remove it; NotPrincipal is not honoured (AWS
    discourages it in trust policies and pgrealm treats it as granting nothing).
    """
    granted: set[str] = set()
    denied: set[str] = set()
    for statement in _as_list(doc.get("Statement", [])):
        if not isinstance(statement, dict) or "Principal" not in statement:
            continue
        if not _applies({**statement, "Resource": "*"}, action, "*"):
            continue
        services = _principal_services(statement["Principal"])
        (denied if statement.get("Effect") == "Deny" else granted).update(services)
    if "*" in denied:
        return set()
    return granted - denied


def _principal_services(principal: Any) -> set[str]:
    if principal == "*":
        return {"*"}
    if not isinstance(principal, dict):
        return set()
    services = set(_strings(principal.get("Service", [])))
    if "*" in _strings(principal.get("AWS", [])):
        services.add("*")
    return services
