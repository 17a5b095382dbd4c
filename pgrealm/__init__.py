"""pgrealm: Kerberos-authenticated PostgreSQL on Samba AD, driven through the AWS APIs."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
