"""STS: caller identity."""

from __future__ import annotations

from pgrealm.services.sts.service import StsService

__all__ = ["StsService"]
