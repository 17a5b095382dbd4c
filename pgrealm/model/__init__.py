"""What services and reconcilers both need, with no I/O: resource statuses as transition
tables, and the pure rules around them. Nothing here imports services, reconcilers or
engines."""

from __future__ import annotations

__all__: list[str] = []
