"""Directory Service Data: users and groups of a directory, in its real AD."""

from __future__ import annotations

__all__: list[str] = []
