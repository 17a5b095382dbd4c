"""Reconcilers: turn desired state into running DCs and PostgreSQL servers, resumably."""

from __future__ import annotations

__all__: list[str] = []
