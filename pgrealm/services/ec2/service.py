"""EC2 (ec2): the VPCs, subnets and security groups the directory and DB instances use.

    Service
     +-- Ec2Base                holds the Network (network.py) and lookups (_base.py)
          +-- VpcOps            zones, VPCs, subnets (vpcs.py)
          +-- SecurityGroupOps  groups and rules (security_groups.py)
          +-- TagOps            tags (tags.py)
               +-- Ec2Service

Every account and region has a default VPC from its first EC2 request on. DS and RDS
reach addresses through ``Ec2Service.network`` (:class:`Network`), never over HTTP.
"""

from __future__ import annotations

import logging

from pgrealm.services.ec2.security_groups import SecurityGroupOps
from pgrealm.services.ec2.tags import TagOps
from pgrealm.services.ec2.vpcs import VpcOps

__all__ = ["Ec2Service"]

log = logging.getLogger(__name__)


class Ec2Service(VpcOps, SecurityGroupOps, TagOps):
    service_name = "ec2"
