"""The service models pgrealm serves: botocore's own, plus our fixes from ``patches.json``.

``load_service("ds")`` reads the ``service-2`` model shipped with the pinned botocore,
deep-merges the ``"ds"`` entry of ``patches.json`` into the raw dict (objects merge key by
key, anything else replaces) and builds a :class:`botocore.model.ServiceModel`. Models are
cached: every caller shares one object per service.

``known_regions()`` is the other piece of pinned botocore data pgrealm follows: the
regions of the ``aws`` partition, from botocore's ``endpoints.json``.
"""

from __future__ import annotations

import copy
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from botocore.loaders import Loader
from botocore.model import ServiceModel

__all__ = ["SERVED_SERVICES", "known_regions", "load_service"]

log = logging.getLogger(__name__)

SERVED_SERVICES = ("ds", "ds-data", "ec2", "iam", "rds", "sts")

_PATCHES = Path(__file__).with_name("patches.json")
# pgrealm's ARNs are all arn:aws:..., so only the aws partition's regions make sense
_PARTITION = "aws"


@lru_cache(maxsize=None)
def load_service(name: str) -> ServiceModel:
    """The patched botocore model of service ``name`` (botocore's name: "ds-data", "ec2")."""
    raw = copy.deepcopy(Loader().load_service_model(name, "service-2"))
    patch = _load_patches().get(name)
    if patch:
        log.debug("applying %d patch keys to %s", len(patch), name)
        _deep_merge(raw, patch)
    return ServiceModel(raw, service_name=name)


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """The regions of the aws partition the pinned botocore knows (``us-east-1``, ...)."""
    partitions = Loader().load_data("endpoints")["partitions"]
    [aws] = [p for p in partitions if p["partition"] == _PARTITION]
    return frozenset(aws["regions"])


@lru_cache(maxsize=1)
def _load_patches() -> dict[str, dict[str, Any]]:
    data: dict[str, Any] = json.loads(_PATCHES.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _deep_merge(current, value)
        else:
            target[key] = copy.deepcopy(value)
