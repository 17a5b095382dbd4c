"""Durable state: SQLite documents per resource kind."""

from __future__ import annotations

from pgrealm.store.db import Doc, Store

__all__ = ["Doc", "Store"]
