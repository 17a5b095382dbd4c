"""EC2 (ec2): the VPCs, subnets and security groups the directory and DB instances use,
and what governs traffic between them: route tables, network ACLs, VPC peering.

    Service
     +-- Ec2Base                holds the Network (network.py) and lookups (_base.py)
          +-- VpcOps            zones, VPCs, subnets (vpcs.py)
          +-- SecurityGroupOps  groups and rules (security_groups.py)
          +-- PeeringOps        VPC peering connections (peering.py)
          +-- RouteTableOps     route tables, associations, routes (route_tables.py)
          +-- NetworkAclOps     network ACLs, entries, associations (network_acls.py)
          +-- InterfaceOps      network interfaces of pgrealm's hosts (interfaces.py)
          +-- TagOps            tags (tags.py)
               +-- Ec2Service

Every account and region has a default VPC from its first EC2 request on. DS and RDS
reach addresses through ``Ec2Service.network`` (:class:`Network`), never over HTTP.
Every operation that changes what traffic may do kicks the runner: the network
reconciler applies it within a second.
"""

from __future__ import annotations

import logging

from pgrealm.services.ec2.interfaces import InterfaceOps
from pgrealm.services.ec2.network_acls import NetworkAclOps
from pgrealm.services.ec2.peering import PeeringOps
from pgrealm.services.ec2.route_tables import RouteTableOps
from pgrealm.services.ec2.security_groups import SecurityGroupOps
from pgrealm.services.ec2.tags import TagOps
from pgrealm.services.ec2.vpcs import VpcOps

__all__ = ["Ec2Service"]

log = logging.getLogger(__name__)


class Ec2Service(
    VpcOps, SecurityGroupOps, PeeringOps, RouteTableOps, NetworkAclOps, InterfaceOps, TagOps
):
    service_name = "ec2"
