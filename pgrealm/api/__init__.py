"""The HTTP API: AWS wire protocols, SigV4, routing and the dispatch pipeline."""

from __future__ import annotations

__all__: list[str] = []
