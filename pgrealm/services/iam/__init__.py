"""IAM: roles, managed policies and the policy evaluation RDS relies on."""

from __future__ import annotations

from pgrealm.services.iam.service import IamService

__all__ = ["IamService"]
