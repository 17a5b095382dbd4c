"""EC2: VPCs, subnets, security groups, and their realisation on loopback addresses."""

from __future__ import annotations

from pgrealm.services.ec2.network import Network
from pgrealm.services.ec2.service import Ec2Service

__all__ = ["Ec2Service", "Network"]
