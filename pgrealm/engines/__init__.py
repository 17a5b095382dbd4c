"""Engines: how Samba, PostgreSQL and Kerberos are driven. They know nothing of AWS."""

from __future__ import annotations

__all__: list[str] = []
