"""Directory Service rules the model's patterns cannot express.

Password rules are those AWS documents for the directory administrator
(https://docs.aws.amazon.com/directoryservice/latest/admin-guide/ms_ad_getting_started_create_directory.html):
8-64 characters, at least three of four character classes, and not the word "admin".
"""

from __future__ import annotations

import re
from typing import Any

from pgrealm.model.directory import limited_type
from pgrealm.services.errors import ServiceError

__all__ = ["admin_password_problem", "require_microsoft_ad", "require_own_directory"]

_CLASSES = (
    re.compile(r"[a-z]"),
    re.compile(r"[A-Z]"),
    re.compile(r"[0-9]"),
    re.compile(r"[^A-Za-z0-9]"),
)


def admin_password_problem(password: str) -> str | None:
    """None if ``password`` is acceptable for Admin; otherwise why not, in AWS's words."""
    if not 8 <= len(password) <= 64:
        return "The password must be 8 to 64 characters long."
    if sum(1 for c in _CLASSES if c.search(password)) < 3:
        return (
            "The password must contain characters from three of the following four "
            "categories: lowercase letters, uppercase letters, numbers, and "
            "nonalphanumeric characters."
        )
    if "admin" in password.lower():
        return "The password cannot contain the word 'admin'."
    return None


def require_microsoft_ad(doc: dict[str, Any], what: str) -> None:
    """Simple AD and AD Connector lack what only AWS Managed Microsoft AD offers (sharing,
    IP routes, directory data access, trusts, Kerberos for RDS): AWS refuses it for them."""
    kind = limited_type(doc)
    if kind is not None:
        raise ServiceError(
            "UnsupportedOperationException",
            f"{what} is not supported for {kind} directory "
            f"{doc['aws']['DirectoryId']}: it needs an AWS Managed Microsoft AD directory.",
        )


def require_own_directory(doc: dict[str, Any], what: str) -> None:
    """An AD Connector holds no users: they are in the customer's own AD."""
    if doc["aws"].get("Type") == "ADConnector":
        raise ServiceError(
            "UnsupportedOperationException",
            f"{what} is not supported for AD Connector directory "
            f"{doc['aws']['DirectoryId']}: its users are in your own directory.",
        )
