"""RDS: PostgreSQL DB instances joined to directories, and DB subnet groups."""

from __future__ import annotations

__all__: list[str] = []
