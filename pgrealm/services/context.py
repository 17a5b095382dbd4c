"""Who is calling, where: handed to every service method."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RequestContext"]


@dataclass(frozen=True)
class RequestContext:
    account_id: str  # 12 digits
    region: str  # e.g. "us-east-1"
    request_id: str
    service: str = ""  # botocore service name: "ds", "ds-data", "rds", "iam", "ec2", "sts"
    operation: str = ""  # botocore operation name: "CreateMicrosoftAD"
    access_key: str = ""
