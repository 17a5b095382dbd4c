"""IAM (iam): roles and managed policies, global per account, plus RDS's role check.

    Service
     +-- IamBase        lookups shared by the mixins (_common.py)
          +-- RoleOps   roles, trust policies, inline policies, attachments (roles.py)
          +-- PolicyOps customer managed policies, AWS managed catalogue (policies.py)
               +-- IamService

RDS calls :meth:`IamService.check_rds_directory_role` before it joins a DB instance to
a directory, the way RDS assumes the ``--domain-iam-role-name`` role: see
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/postgresql-kerberos-setting-up.html
"""

from __future__ import annotations

import json
import logging

from pgrealm.services.iam.documents import action_allowed, trusted_services
from pgrealm.services.iam.policies import PolicyOps
from pgrealm.services.iam.roles import RoleOps

__all__ = [
    "RDS_DIRECTORY_ACTIONS",
    "RDS_DIRECTORY_PRINCIPALS",
    "IamService",
    "directory_principals",
]

log = logging.getLogger(__name__)

RDS_DIRECTORY_PRINCIPALS = ("rds.amazonaws.com", "directoryservice.rds.amazonaws.com")


def directory_principals(region: str) -> tuple[str, ...]:
    """The principals through which RDS reaches Directory Service in ``region``: the global
    one; the regional one, required in opt-in Regions; and the engine's own, required in
    Regions launched after Israel (Tel Aviv). See
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.RDS_Fea_Regions_DB-eng.Feature.KerberosAuthentication.html
    """
    return (
        "directoryservice.rds.amazonaws.com",
        f"directoryservice.rds.{region}.amazonaws.com",
        f"directoryservice-postgresql.rds.{region}.amazonaws.com",
    )


RDS_DIRECTORY_ACTIONS = (
    "ds:DescribeDirectories",
    "ds:AuthorizeApplication",
    "ds:UnauthorizeApplication",
    "ds:GetAuthorizedApplicationDetails",
)


class IamService(RoleOps, PolicyOps):
    service_name = "iam"

    def check_rds_directory_role(
        self, account_id: str, role_name: str, region: str = "us-east-1"
    ) -> str | None:
        """None if RDS may use ``role_name`` to reach Directory Service, else why not.

        The role must trust rds.amazonaws.com and one of the directory principals of
        ``region`` for sts:AssumeRole, and its attached and inline policies must allow the
        four ``ds:`` actions on ``*``.
        """
        found = self.role_documents(account_id, role_name)
        if found is None:
            return f"IAM role {role_name} does not exist."
        trust_text, permission_texts = found
        trusted = trusted_services(json.loads(trust_text))
        wanted = [("rds.amazonaws.com",), directory_principals(region)]
        missing = [
            " or ".join(names)
            for names in wanted
            if "*" not in trusted and not any(name in trusted for name in names)
        ]
        if missing:
            return (
                f"IAM role {role_name} does not trust {' and '.join(missing)} for sts:AssumeRole."
            )
        docs = [json.loads(t) for t in permission_texts]
        denied = [a for a in RDS_DIRECTORY_ACTIONS if not action_allowed(docs, a, "*")]
        if denied:
            return (
                f"IAM role {role_name} does not allow {', '.join(denied)} on resource *; "
                "attach AmazonRDSDirectoryServiceAccess."
            )
        return None
