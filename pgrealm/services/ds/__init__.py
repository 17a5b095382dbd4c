"""Directory Service: AWS Managed Microsoft AD directories (service.py), their rules (rules.py)."""

from __future__ import annotations

__all__: list[str] = []
