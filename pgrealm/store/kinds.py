"""The kinds of record in the state store: one spelling of each, for every layer.

A record is keyed by (kind, account, region, id); the values below are stored on disk, so
they are never renamed.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Kind"]


class Kind(StrEnum):
    DIRECTORY = "directory"
    DIRECTORY_SHARE = "directory_share"
    DIRECTORY_ALIAS = "directory_alias"  # account "", region "": an alias, taken for good
    DB_INSTANCE = "db_instance"
    DB_SNAPSHOT = "db_snapshot"
    DB_RETAINED_BACKUP = "db_retained_backup"  # automated backups kept after their instance
    DB_SUBNET_GROUP = "db_subnet_group"
    DB_PARAMETER_GROUP = "db_parameter_group"
    DB_OPTION_GROUP = "db_option_group"
    VPC = "ec2.vpc"
    SUBNET = "ec2.subnet"
    SECURITY_GROUP = "ec2.sg"
    ADDRESS = "ec2.address"  # id: the realised address, unique machine-wide
    VPC_PEERING = "ec2.pcx"  # account "", region "": seen by both owners (model/network.py)
    ROUTE_TABLE = "ec2.rtb"
    NETWORK_ACL = "ec2.acl"
    EC2_DEFAULTS = "ec2.defaults"  # marker: this account+region has had its defaults made
    IAM_ROLE = "iam.role"
    IAM_POLICY = "iam.policy"
    EVENT = "event"  # an RDS event (model/events.py)
    LOG_GROUP = "logs.group"  # a CloudWatch Logs group made with create-log-group
    RDS_CA = "rds.ca"  # account "", region "": a CA that issues instances' TLS certificates
    PROCESS = "process"  # a supervised process (supervisor/)
