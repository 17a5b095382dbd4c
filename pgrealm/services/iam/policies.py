"""IAM managed policy operations: customer managed policies and the AWS managed catalogue.

A customer policy document is the Policy shape's stored fields plus ``_versions``
(version id -> {Document, CreateDate}); pgrealm keeps one version (``v1``) since it
does not serve CreatePolicyVersion. AttachmentCount is counted from the roles, so it
can never drift from them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.services.iam._common import GLOBAL, POLICY, ROLE, IamBase, now, unique_id
from pgrealm.services.iam.documents import decode_document, encode_document, parse_document
from pgrealm.services.iam.managed import ManagedPolicy, aws_managed_policies, aws_managed_policy
from pgrealm.services.pagination import page
from pgrealm.store import Doc

__all__ = ["PolicyOps"]

log = logging.getLogger(__name__)


def _aws_policy_shape(
    policy: ManagedPolicy, attachments: int, listing: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version,
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": policy.create_date,
        "UpdateDate": policy.update_date,
    }
    if not listing:
        out["Description"] = policy.description
    return out


def _customer_policy_shape(doc: Doc, attachments: int, listing: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "PolicyName": doc["PolicyName"],
        "PolicyId": doc["PolicyId"],
        "Arn": doc["Arn"],
        "Path": doc["Path"],
        "DefaultVersionId": doc["DefaultVersionId"],
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": datetime.fromisoformat(doc["CreateDate"]),
        "UpdateDate": datetime.fromisoformat(doc["UpdateDate"]),
    }
    # ListPolicies leaves out Description and Tags, as IAM does.
    if not listing:
        if doc.get("Description") is not None:
            out["Description"] = doc["Description"]
        if doc.get("Tags"):
            out["Tags"] = doc["Tags"]
    return out


def _not_found(arn: str) -> ServiceError:
    return ServiceError("NoSuchEntityException", f"Policy {arn} was not found.")


class PolicyOps(IamBase):
    """Managed policy operations (mixed into IamService)."""

    def _attachment_counts(self, account: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for role in self.store.list(ROLE, account, GLOBAL):
            for arn in role["_attached"]:
                counts[arn] = counts.get(arn, 0) + 1
        return counts

    def create_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["PolicyName"]
        path = params.get("Path", "/")
        text = decode_document(params["PolicyDocument"])
        parse_document(text, "identity")
        stamp = now().isoformat()
        arn = f"arn:aws:iam::{ctx.account_id}:policy{path}{name}"
        doc: Doc = {
            "PolicyName": name,
            "PolicyId": unique_id("ANPA"),
            "Arn": arn,
            "Path": path,
            "DefaultVersionId": "v1",
            "Description": params.get("Description"),
            "CreateDate": stamp,
            "UpdateDate": stamp,
            "Tags": params.get("Tags") or [],
            "_versions": {"v1": {"Document": text, "CreateDate": stamp}},
        }
        with self.store.transaction():
            existing = self.store.list(POLICY, ctx.account_id, GLOBAL)
            taken = {p["PolicyName"].lower() for p in existing}
            if name.lower() in taken:
                raise ServiceError(
                    "EntityAlreadyExistsException",
                    f"A policy called {name} already exists. Duplicate names are not allowed.",
                )
            self.store.put(POLICY, ctx.account_id, GLOBAL, arn, doc)
        log.info("policy %s created", arn)
        return {"Policy": _customer_policy_shape(doc, 0)}

    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PolicyArn"]
        self._check_policy_arn(arn)
        counts = self._attachment_counts(ctx.account_id)
        managed = aws_managed_policy(arn)
        if managed is not None:
            return {"Policy": _aws_policy_shape(managed, counts.get(arn, 0))}
        doc = self.store.get(POLICY, ctx.account_id, GLOBAL, arn)
        if doc is None:
            raise _not_found(arn)
        return {"Policy": _customer_policy_shape(doc, counts.get(arn, 0))}

    def get_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn, version = params["PolicyArn"], params["VersionId"]
        self._check_policy_arn(arn)
        managed = aws_managed_policy(arn)
        if managed is not None and version == managed.default_version:
            text, created, default = managed.document, managed.update_date, True
        else:
            doc = self.store.get(POLICY, ctx.account_id, GLOBAL, arn)
            entry = None if doc is None else doc["_versions"].get(version)
            if doc is None or entry is None:
                raise ServiceError(
                    "NoSuchEntityException",
                    f"Policy {arn} version {version} does not exist or is not attachable.",
                )
            text = entry["Document"]
            created = datetime.fromisoformat(entry["CreateDate"])
            default = version == doc["DefaultVersionId"]
        return {
            "PolicyVersion": {
                "Document": encode_document(text),
                "VersionId": version,
                "IsDefaultVersion": default,
                "CreateDate": created,
            }
        }

    def delete_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PolicyArn"]
        self._check_policy_arn(arn)
        if aws_managed_policy(arn) is not None:
            raise ServiceError(
                "InvalidInputException",
                f"ARN {arn} is not valid: AWS managed policies cannot be deleted.",
            )
        with self.store.transaction():
            if self.store.get(POLICY, ctx.account_id, GLOBAL, arn) is None:
                raise _not_found(arn)
            if self._attachment_counts(ctx.account_id).get(arn):
                raise ServiceError(
                    "DeleteConflictException", "Cannot delete a policy attached to entities."
                )
            self.store.delete(POLICY, ctx.account_id, GLOBAL, arn)
        log.info("policy %s deleted", arn)
        return {}

    def list_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        scope = params.get("Scope", "All")
        prefix = params.get("PathPrefix", "/")
        only_attached = bool(params.get("OnlyAttached"))
        counts = self._attachment_counts(ctx.account_id)
        found: list[dict[str, Any]] = []
        if scope in ("All", "AWS"):
            found += [
                _aws_policy_shape(p, counts.get(p.arn, 0), listing=True)
                for p in aws_managed_policies().values()
            ]
        if scope in ("All", "Local"):
            found += [
                _customer_policy_shape(d, counts.get(d["Arn"], 0), listing=True)
                for d in self.store.list(POLICY, ctx.account_id, GLOBAL)
            ]
        found = [
            p
            for p in found
            if p["Path"].startswith(prefix) and (p["AttachmentCount"] or not only_attached)
        ]
        found.sort(key=lambda p: p["PolicyName"].lower())
        return page("iam", "ListPolicies", found, params)
