"""What the IAM operation modules share: store kinds, lookups, paging, timestamps.

IAM is global: every document is stored with region ``""``. Role and policy names
are unique per account regardless of case (IAM: "names are not distinguished by
case"), so documents are keyed by the lower-cased name; the stored name keeps the
caller's spelling.
"""

from __future__ import annotations

import logging
import secrets
import string
from datetime import UTC, datetime

from pgrealm.services.base import Service
from pgrealm.services.errors import ServiceError
from pgrealm.services.iam.managed import aws_managed_policy
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = [
    "GLOBAL",
    "POLICY",
    "ROLE",
    "IamBase",
    "now",
    "unique_id",
]

log = logging.getLogger(__name__)

ROLE = Kind.IAM_ROLE
POLICY = Kind.IAM_POLICY
GLOBAL = ""

_ID_ALPHABET = string.ascii_uppercase + string.digits


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def unique_id(prefix: str) -> str:
    """An IAM unique id (``AROA...``, ``ANPA...``): prefix plus 17 characters, 21 in all."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def no_such_role(name: str) -> ServiceError:
    return ServiceError("NoSuchEntityException", f"The role with name {name} cannot be found.")


class IamBase(Service):
    """Lookups the role and policy operation mixins share."""

    def _role(self, account: str, name: str) -> Doc:
        doc = self.store.get(ROLE, account, GLOBAL, name.lower())
        if doc is None:
            raise no_such_role(name)
        return doc

    def _policy_exists(self, account: str, arn: str) -> bool:
        if aws_managed_policy(arn) is not None:
            return True
        return self.store.get(POLICY, account, GLOBAL, arn) is not None

    def _customer_policy_document(self, account: str, arn: str) -> str | None:
        """The default version's JSON text of a customer managed policy, if it exists."""
        doc = self.store.get(POLICY, account, GLOBAL, arn)
        if doc is None:
            return None
        return str(doc["_versions"][doc["DefaultVersionId"]]["Document"])

    def _check_policy_arn(self, arn: str) -> None:
        if not arn.startswith("arn:aws:iam::") or ":policy/" not in arn:
            raise ServiceError("InvalidInputException", f"ARN {arn} is not valid.")
