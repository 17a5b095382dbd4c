"""The public surface of the protocol layer is what ``__all__`` says, and nothing is missing."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "pgrealm.api.protocols",
    "pgrealm.api.protocols.base",
    "pgrealm.api.protocols.query",
    "pgrealm.api.protocols.ec2",
    "pgrealm.api.protocols.json",
    "pgrealm.api.protocols.rest_json",
    "pgrealm.api.protocols.rpcv2_cbor",
    "pgrealm.api.protocols.xmlwriter",
    "pgrealm.api.fragments",
    "pgrealm.api.specs",
    "pgrealm.api.validate",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, name
    for export in module.__all__:
        assert hasattr(module, export), f"{name}.{export}"


def test_protocol_entry_points() -> None:
    from pgrealm.api import protocols

    assert set(protocols.__all__) >= {"create_parser", "create_serializer", "detect_protocol"}
    assert set(protocols.PROTOCOLS) == {"query", "ec2", "json", "rest-json", "smithy-rpc-v2-cbor"}
