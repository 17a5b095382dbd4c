"""RDS: PostgreSQL DB instances joined to directories, their subnet and parameter groups,
snapshots, automated backups and tags."""

from __future__ import annotations

__all__: list[str] = []
