"""A directory's alias and access URL (CreateAlias), and single sign-on (EnableSso,
DisableSso).

Every directory starts with its id as its alias and ``<id>.awsapps.com`` as its access
URL. CreateAlias replaces both, once: "After an alias has been created, it cannot be
deleted or reused", and "the alias must be unique amongst all aliases in AWS"
(https://docs.aws.amazon.com/directoryservice/latest/devguide/API_CreateAlias.html).
pgrealm keeps every alias ever taken, in any account or Region, as a global record of
kind ``directory_alias`` (keyed by the alias in lower case, as DNS compares names), so an
alias stays taken after its directory is deleted.

The alias is checked whole against the model's pattern (letters, digits and hyphens,
starting and ending with a letter or digit, not starting with ``d-``): the API layer
matches patterns as a search, which would pass ``a_b``.

Single sign-on needs an alias first (the Terraform-derived Pulumi AWS provider documents
``enable_sso`` as "Requires alias."; moto words the refusal as below) and a running
directory. It is a flag that DescribeDirectories shows as SsoEnabled: pgrealm has no AWS
applications to sign on to. UserName and Password name an alternate account "only used
for AD Connector directories" and "not stored by the service"; for a Managed AD pgrealm
neither checks, stores nor logs them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pgrealm.model.directory import DirectoryStage
from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.errors import ServiceError
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["ALIAS", "AliasMixin", "alias_problem"]

log = logging.getLogger(__name__)

ALIAS = Kind.DIRECTORY_ALIAS
_DIRECTORY = Kind.DIRECTORY
# The model's AliasName pattern, anchored at both ends; 1 to 62 characters.
_ALIAS = re.compile(r"(?!D-|d-)[\da-zA-Z]+(-*[\da-zA-Z])*")
_ALIAS_MAX = 62
_RUNNING = (DirectoryStage.ACTIVE.value, DirectoryStage.IMPAIRED.value)


def alias_problem(alias: str) -> str | None:
    """None if ``alias`` may name a directory's access URL; otherwise why not."""
    if not 1 <= len(alias) <= _ALIAS_MAX or not _ALIAS.fullmatch(alias):
        return (
            f"Invalid alias {alias[:_ALIAS_MAX]!r}: an alias is 1 to {_ALIAS_MAX} letters, "
            "digits and hyphens, starts and ends with a letter or digit, and does not "
            "start with d-."
        )
    return None


def _has_alias(doc: Doc) -> bool:
    return bool(doc["aws"].get("Alias") != doc["aws"]["DirectoryId"])


class AliasMixin(DsMixin):
    """CreateAlias, EnableSso and DisableSso, mixed into ``DsService``."""

    def create_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id, alias = params["DirectoryId"], params["Alias"]
        with self.store.transaction():
            doc = self.get_directory(ctx, directory_id)
            problem = alias_problem(alias)
            if problem:
                raise ServiceError("InvalidParameterException", problem)
            if _has_alias(doc):
                # moto words this refusal so; AWS offers no call that deletes an alias.
                raise ServiceError(
                    "InvalidParameterException",
                    "The directory in the request already has an alias. That alias must be "
                    "deleted before a new alias can be created.",
                )
            record = {
                "Alias": alias,
                "DirectoryId": directory_id,
                "AccountId": ctx.account_id,
                "Region": ctx.region,
            }
            if not self.store.insert(ALIAS, "", "", alias.lower(), record):
                raise ServiceError("EntityAlreadyExistsException", f"Alias {alias} already exists.")
            doc["aws"]["Alias"] = alias
            doc["aws"]["AccessUrl"] = f"{alias}.awsapps.com"
            self.store.put(_DIRECTORY, ctx.account_id, ctx.region, directory_id, doc)
        log.info("directory %s: alias %s", directory_id, alias)
        return {"DirectoryId": directory_id, "Alias": alias}

    def enable_sso(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_sso(ctx, params["DirectoryId"], True)

    def disable_sso(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_sso(ctx, params["DirectoryId"], False)

    def _set_sso(self, ctx: RequestContext, directory_id: str, enabled: bool) -> dict[str, Any]:
        # params' UserName and Password are deliberately not read: see the module docstring.
        with self.store.transaction():
            doc = self.get_directory(ctx, directory_id)
            if enabled and not _has_alias(doc):
                raise ServiceError(
                    "ClientException",
                    f"An alias is required before enabling SSO. DomainId={directory_id}",
                )
            stage = doc["aws"]["Stage"]
            if stage not in _RUNNING:
                raise ServiceError(
                    "ClientException",
                    f"Single sign-on cannot be {'enabled' if enabled else 'disabled'} for "
                    f"directory {directory_id} in its current state ({stage}).",
                )
            doc["aws"]["SsoEnabled"] = enabled
            self.store.put(_DIRECTORY, ctx.account_id, ctx.region, directory_id, doc)
        log.info("directory %s: single sign-on %s", directory_id, "on" if enabled else "off")
        return {}
