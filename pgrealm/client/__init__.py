"""The client kit: krb5.conf for a directory or instance."""

from __future__ import annotations

__all__: list[str] = []
