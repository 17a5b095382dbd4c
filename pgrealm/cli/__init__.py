"""The pgrealm command (click): up, down, status, server, demo."""

from __future__ import annotations

__all__: list[str] = []
