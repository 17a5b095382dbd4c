"""IAM role operations: roles, their trust policy, inline policies, attachments, tags.

A role document holds the Role shape's stored fields plus ``_attached`` (managed
policy ARNs, in attachment order) and ``_inline`` (policy name -> decoded JSON text).
Documents are kept as the caller sent them and URL-encoded on the way out.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pgrealm.services.base import merge_tags
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.services.iam._common import (
    GLOBAL,
    ROLE,
    IamBase,
    no_such_role,
    now,
    unique_id,
)
from pgrealm.services.iam.documents import decode_document, encode_document, parse_document
from pgrealm.services.iam.managed import aws_managed_policy
from pgrealm.services.pagination import page
from pgrealm.store import Doc

__all__ = ["RoleOps"]

log = logging.getLogger(__name__)

_MANAGED_POLICIES_PER_ROLE = 10  # IAM's default quota


def _trust_text(text: str) -> str:
    decoded = decode_document(text)
    parse_document(decoded, "trust")
    return decoded


def _identity_text(text: str) -> str:
    decoded = decode_document(text)
    parse_document(decoded, "identity")
    return decoded


def role_shape(doc: Doc, listing: bool = False) -> dict[str, Any]:
    """The Role shape of a stored role; ListRoles leaves out boundary, tags and last use."""
    out: dict[str, Any] = {
        "Path": doc["Path"],
        "RoleName": doc["RoleName"],
        "RoleId": doc["RoleId"],
        "Arn": doc["Arn"],
        "CreateDate": datetime.fromisoformat(doc["CreateDate"]),
        "AssumeRolePolicyDocument": encode_document(doc["AssumeRolePolicyDocument"]),
        "MaxSessionDuration": doc["MaxSessionDuration"],
    }
    if doc.get("Description") is not None:
        out["Description"] = doc["Description"]
    if listing:
        return out
    if doc.get("PermissionsBoundary"):
        out["PermissionsBoundary"] = doc["PermissionsBoundary"]
    if doc.get("Tags"):
        out["Tags"] = doc["Tags"]
    out["RoleLastUsed"] = {}
    return out


class RoleOps(IamBase):
    """Role operations (mixed into IamService)."""

    def create_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["RoleName"]
        path = params.get("Path", "/")
        boundary = params.get("PermissionsBoundary")
        if boundary:
            self._check_policy_arn(boundary)
            if not self._policy_exists(ctx.account_id, boundary):
                raise ServiceError(
                    "NoSuchEntityException",
                    f"Scope ARN: {boundary} does not exist or is not attachable.",
                )
        doc: Doc = {
            "RoleName": name,
            "RoleId": unique_id("AROA"),
            "Arn": f"arn:aws:iam::{ctx.account_id}:role{path}{name}",
            "Path": path,
            "CreateDate": now().isoformat(),
            "AssumeRolePolicyDocument": _trust_text(params["AssumeRolePolicyDocument"]),
            "Description": params.get("Description"),
            "MaxSessionDuration": params.get("MaxSessionDuration", 3600),
            "Tags": merge_tags([], params.get("Tags") or []),
            "_attached": [],
            "_inline": {},
        }
        if boundary:
            doc["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                "PermissionsBoundaryArn": boundary,
            }
        if not self.store.insert(ROLE, ctx.account_id, GLOBAL, name.lower(), doc):
            raise ServiceError(
                "EntityAlreadyExistsException", f"Role with name {name} already exists."
            )
        log.info("role %s created in account %s", name, ctx.account_id)
        return {"Role": role_shape(doc)}

    def get_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Role": role_shape(self._role(ctx.account_id, params["RoleName"]))}

    def list_roles(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("PathPrefix", "/")
        stored = self.store.list(ROLE, ctx.account_id, GLOBAL)
        roles = sorted(
            (d for d in stored if d["Path"].startswith(prefix)), key=lambda d: d["RoleName"].lower()
        )
        return page("iam", "ListRoles", [role_shape(d, listing=True) for d in roles], params)

    def delete_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["RoleName"]
        with self.store.transaction():
            doc = self._role(ctx.account_id, name)
            if doc["_attached"]:
                raise ServiceError(
                    "DeleteConflictException",
                    "Cannot delete entity, must detach all policies first.",
                )
            if doc["_inline"]:
                raise ServiceError(
                    "DeleteConflictException", "Cannot delete entity, must delete policies first."
                )
            self.store.delete(ROLE, ctx.account_id, GLOBAL, name.lower())
        log.info("role %s deleted in account %s", name, ctx.account_id)
        return {}

    def _change_role(self, account: str, name: str, change: Any) -> Doc:
        doc = self.store.update(ROLE, account, GLOBAL, name.lower(), change)
        if doc is None:
            raise no_such_role(name)
        return doc

    def update_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        def change(doc: Doc) -> None:
            if "Description" in params:
                doc["Description"] = params["Description"]
            if "MaxSessionDuration" in params:
                doc["MaxSessionDuration"] = params["MaxSessionDuration"]

        self._change_role(ctx.account_id, params["RoleName"], change)
        return {}

    def update_assume_role_policy(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        text = _trust_text(params["PolicyDocument"])
        self._change_role(
            ctx.account_id, params["RoleName"], lambda d: d.update(AssumeRolePolicyDocument=text)
        )
        return {}

    # -- managed policy attachments -------------------------------------------------
    def attach_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn, name = params["PolicyArn"], params["RoleName"]
        self._check_policy_arn(arn)
        with self.store.transaction():
            doc = self._role(ctx.account_id, name)
            if not self._policy_exists(ctx.account_id, arn):
                raise ServiceError(
                    "NoSuchEntityException", f"Policy {arn} does not exist or is not attachable."
                )
            if arn not in doc["_attached"]:
                if len(doc["_attached"]) >= _MANAGED_POLICIES_PER_ROLE:
                    raise ServiceError(
                        "LimitExceededException",
                        f"Cannot exceed quota for PoliciesPerRole: {_MANAGED_POLICIES_PER_ROLE}",
                    )
                doc["_attached"].append(arn)
                self.store.put(ROLE, ctx.account_id, GLOBAL, name.lower(), doc)
        log.info("policy %s attached to role %s", arn, name)
        return {}

    def detach_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn, name = params["PolicyArn"], params["RoleName"]
        self._check_policy_arn(arn)
        with self.store.transaction():
            doc = self._role(ctx.account_id, name)
            if arn not in doc["_attached"]:
                raise ServiceError("NoSuchEntityException", f"Policy {arn} was not found.")
            doc["_attached"].remove(arn)
            self.store.put(ROLE, ctx.account_id, GLOBAL, name.lower(), doc)
        return {}

    def list_attached_role_policies(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._role(ctx.account_id, params["RoleName"])
        prefix = params.get("PathPrefix", "/")
        attached = []
        for arn in doc["_attached"]:
            path, _, policy_name = arn.split(":policy", 1)[1].rpartition("/")
            if (path + "/").startswith(prefix):
                attached.append({"PolicyName": policy_name, "PolicyArn": arn})
        return page("iam", "ListAttachedRolePolicies", attached, params)

    def list_instance_profiles_for_role(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """pgrealm has no EC2 instance profiles, so a role is in none; Terraform asks this
        before it deletes a role."""
        self._role(ctx.account_id, params["RoleName"])
        return page("iam", "ListInstanceProfilesForRole", [], params)

    # -- inline policies ------------------------------------------------------------
    def put_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        text = _identity_text(params["PolicyDocument"])
        policy_name = params["PolicyName"]
        self._change_role(
            ctx.account_id, params["RoleName"], lambda d: d["_inline"].update({policy_name: text})
        )
        return {}

    def get_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._role(ctx.account_id, params["RoleName"])
        text = doc["_inline"].get(params["PolicyName"])
        if text is None:
            raise ServiceError(
                "NoSuchEntityException",
                f"The role policy with name {params['PolicyName']} cannot be found.",
            )
        return {
            "RoleName": doc["RoleName"],
            "PolicyName": params["PolicyName"],
            "PolicyDocument": encode_document(text),
        }

    def delete_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy_name = params["PolicyName"]

        def change(doc: Doc) -> None:
            if doc["_inline"].pop(policy_name, None) is None:
                raise ServiceError(
                    "NoSuchEntityException",
                    f"The role policy with name {policy_name} cannot be found.",
                )

        self._change_role(ctx.account_id, params["RoleName"], change)
        return {}

    def list_role_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._role(ctx.account_id, params["RoleName"])
        return page("iam", "ListRolePolicies", sorted(doc["_inline"]), params)

    # -- tags -----------------------------------------------------------------------
    def tag_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        def change(doc: Doc) -> None:
            doc["Tags"] = merge_tags(doc.get("Tags", []), params["Tags"])
            if len(doc["Tags"]) > 50:
                raise ServiceError(
                    "LimitExceededException", "The number of tags has reached the maximum limit."
                )

        self._change_role(ctx.account_id, params["RoleName"], change)
        return {}

    def untag_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        keys = set(params["TagKeys"])
        self._change_role(
            ctx.account_id,
            params["RoleName"],
            lambda d: d.update(Tags=[t for t in d.get("Tags", []) if t["Key"] not in keys]),
        )
        return {}

    def list_role_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._role(ctx.account_id, params["RoleName"])
        return page("iam", "ListRoleTags", list(doc.get("Tags", [])), params)

    # -- helpers for other services -------------------------------------------------
    def role_documents(self, account_id: str, role_name: str) -> tuple[str, list[str]] | None:
        """(trust policy, permission policies) of a role as JSON texts; None if no role."""
        doc = self.store.get(ROLE, account_id, GLOBAL, role_name.lower())
        if doc is None:
            return None
        texts = list(doc["_inline"].values())
        for arn in doc["_attached"]:
            managed = aws_managed_policy(arn)
            if managed is not None:
                texts.append(managed.document)
                continue
            text = self._customer_policy_document(account_id, arn)
            if text is not None:
                texts.append(text)
        return doc["AssumeRolePolicyDocument"], texts
