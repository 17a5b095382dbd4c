"""Random passwords that every rule in play accepts.

AD's complexity rule counts character classes; RDS refuses '/', '@', '"' and spaces in a
master password; the seed refuses the word "admin". A password of letters and digits
with one of each class and '#' appended meets them all, and needs no quoting anywhere.
"""

from __future__ import annotations

import secrets
import string

__all__ = ["random_password"]


def random_password(length: int = 24) -> str:
    """``length`` characters (at least 8): letters and digits, then 'A', 'a', '7', '#'."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length - 4)) + "Aa7#"
        if "admin" not in password.lower():
            return password
