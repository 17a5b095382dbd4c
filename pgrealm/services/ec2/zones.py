"""Availability Zones of a region: names (``us-east-1a``) and zone ids (``use1-az1``).

Real zone ids are mapped to names per account; pgrealm uses one fixed mapping (letter
n -> az n), which keeps ids stable and recognisable. Regions get three zones unless
listed, as most AWS regions have at least three.
"""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass

__all__ = ["Zone", "region_code", "zones"]

log = logging.getLogger(__name__)

_ZONE_COUNT = {"us-east-1": 6, "us-west-2": 4}
_DIRECTIONS = {
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


@dataclass(frozen=True)
class Zone:
    name: str  # us-east-1a
    zone_id: str  # use1-az1
    region: str


def region_code(region: str) -> str:
    """The short code AWS uses in zone ids: us-east-1 -> use1, ap-southeast-2 -> apse2."""
    parts = region.split("-")
    if len(parts) < 3:
        return region.replace("-", "")
    middle = "".join(_DIRECTIONS.get(p, p[:1]) for p in parts[1:-1])
    return f"{parts[0]}{middle}{parts[-1]}"


def zones(region: str) -> list[Zone]:
    code = region_code(region)
    count = _ZONE_COUNT.get(region, 3)
    return [
        Zone(f"{region}{letter}", f"{code}-az{n}", region)
        for n, letter in enumerate(string.ascii_lowercase[:count], start=1)
    ]
