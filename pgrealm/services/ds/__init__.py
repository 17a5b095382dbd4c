"""Directory Service: AWS Managed Microsoft AD directories (service.py), their rules (rules.py),
sharing, IP routes, aliases and single sign-on, event topics (one mixin module each)."""

from __future__ import annotations

__all__: list[str] = []
