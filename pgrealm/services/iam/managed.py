"""The AWS managed policies pgrealm ships, read from the JSON files beside this module.

Each file holds one policy: the Policy shape's fields plus ``Document`` (the default
version's JSON). AWS managed policies live in the pseudo-account ``aws`` and are
visible to every account; they cannot be changed or deleted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["ManagedPolicy", "aws_managed_policies", "aws_managed_policy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManagedPolicy:
    """One AWS managed policy: its Policy fields and default version."""

    name: str
    policy_id: str
    arn: str
    path: str
    description: str
    default_version: str
    create_date: datetime
    update_date: datetime
    document: str  # JSON text of the default version

    def parsed(self) -> dict[str, Any]:
        return dict(json.loads(self.document))


def _load(raw: dict[str, Any]) -> ManagedPolicy:
    return ManagedPolicy(
        name=raw["PolicyName"],
        policy_id=raw["PolicyId"],
        arn=raw["Arn"],
        path=raw["Path"],
        description=raw.get("Description", ""),
        default_version=raw["DefaultVersionId"],
        create_date=datetime.fromisoformat(raw["CreateDate"]),
        update_date=datetime.fromisoformat(raw["UpdateDate"]),
        document=json.dumps(raw["Document"], indent=4),
    )


@lru_cache(maxsize=1)
def aws_managed_policies() -> dict[str, ManagedPolicy]:
    """Every shipped AWS managed policy, by ARN."""
    found: dict[str, ManagedPolicy] = {}
    for entry in resources.files(__package__ or "pgrealm.services.iam").iterdir():
        if entry.name.endswith(".json"):
            policy = _load(json.loads(entry.read_text(encoding="utf-8")))
            found[policy.arn] = policy
    log.debug("loaded %d AWS managed policies", len(found))
    return found


def aws_managed_policy(arn: str) -> ManagedPolicy | None:
    return aws_managed_policies().get(arn)
