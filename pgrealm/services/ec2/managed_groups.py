"""Security groups that other services make in a customer's VPC, as AWS does: Directory
Service's "<directory id>_controllers" group, with the rules AWS documents for Managed AD
(AddIpRoutes lists them), sourced from the directory's VPC CIDR.
"""

from __future__ import annotations

import logging
from typing import Any

from pgrealm.services.ec2._common import SG
from pgrealm.services.ec2.records import ALL_TRAFFIC_EGRESS, new_rule, new_sg
from pgrealm.store import Doc, Store

__all__ = ["CONTROLLER_PORTS", "create_controllers_group", "controllers_group_name"]

log = logging.getLogger(__name__)

# (protocol, from, to) that AD clients and other DCs use.
CONTROLLER_PORTS: tuple[tuple[str, int, int], ...] = (
    ("tcp", 53, 53),
    ("udp", 53, 53),
    ("tcp", 88, 88),
    ("udp", 88, 88),
    ("udp", 123, 123),
    ("tcp", 135, 135),
    ("udp", 138, 138),
    ("tcp", 389, 389),
    ("udp", 389, 389),
    ("tcp", 445, 445),
    ("udp", 445, 445),
    ("tcp", 464, 464),
    ("udp", 464, 464),
    ("tcp", 636, 636),
    ("tcp", 3268, 3269),
    ("tcp", 1024, 65535),
)


def controllers_group_name(directory_id: str) -> str:
    return f"{directory_id}_controllers"


def create_controllers_group(
    store: Store, account: str, region: str, vpc: Doc, directory_id: str
) -> str:
    """Make the directory's controllers group (inside the caller's transaction); its id."""
    group = new_sg(
        account,
        region,
        vpc["VpcId"],
        controllers_group_name(directory_id),
        f"AWS created security group for {directory_id} directory controllers",
        [],
    )
    cidr = vpc["CidrBlock"]
    rules: list[dict[str, Any]] = [
        new_rule({"IpProtocol": p, "FromPort": lo, "ToPort": hi, "CidrIpv4": cidr}, egress=False)
        for p, lo, hi in CONTROLLER_PORTS
    ]
    rules.append(
        new_rule({"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "CidrIpv4": cidr}, False)
    )
    rules.append(
        new_rule(
            {
                "IpProtocol": "-1",
                "ReferencedGroupInfo": {"GroupId": group["GroupId"], "UserId": account},
            },
            egress=False,
        )
    )
    rules.append(new_rule(ALL_TRAFFIC_EGRESS, egress=True))
    group["_rules"] = rules
    store.put(SG, account, region, group["GroupId"], group)
    log.info("security group %s made for directory %s", group["GroupId"], directory_id)
    return str(group["GroupId"])
