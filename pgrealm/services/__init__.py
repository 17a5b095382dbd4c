"""Services: what each AWS API means (ds, ds-data, rds, iam, ec2, sts). No engines here."""

from __future__ import annotations

__all__: list[str] = []
