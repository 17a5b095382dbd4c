"""CreateAlias, EnableSso/DisableSso and the event topic operations against a real Store:
what DescribeDirectories shows after them, and AWS's refusals (each changing nothing)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pgrealm.services.ds.aliases import ALIAS
from pgrealm.services.ds.service import KIND
from pgrealm.services.errors import ServiceError
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER, CONSUMER, OTHER = "111111111111", "222222222222", "333333333333"


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


@pytest.fixture
def did(stack: DsStack) -> str:
    return stack.directory(OWNER)


def refused(call: Any, account: str, params: dict[str, Any], stack: DsStack) -> ServiceError:
    with pytest.raises(ServiceError) as exc:
        call(stack.ctx(account), params)
    return exc.value


def alias(stack: DsStack, did: str, name: str, account: str = OWNER) -> dict[str, Any]:
    return stack.ds.create_alias(stack.ctx(account), {"DirectoryId": did, "Alias": name})


def share(stack: DsStack, did: str) -> str:
    shared = stack.ds.share_directory(
        stack.ctx(OWNER),
        {
            "DirectoryId": did,
            "ShareMethod": "HANDSHAKE",
            "ShareTarget": {"Id": CONSUMER, "Type": "ACCOUNT"},
        },
    )["SharedDirectoryId"]
    stack.ds.accept_shared_directory(stack.ctx(CONSUMER), {"SharedDirectoryId": shared})
    return str(shared)


# -- CreateAlias ------------------------------------------------------------------------------
def test_a_new_directory_is_its_own_alias(stack: DsStack, did: str) -> None:
    desc = stack.describe(OWNER, did)
    assert desc["Alias"] == did and desc["AccessUrl"] == f"{did}.awsapps.com"


def test_create_alias_shows_in_describe_directories(stack: DsStack, did: str) -> None:
    assert alias(stack, did, "corp-example") == {"DirectoryId": did, "Alias": "corp-example"}
    desc = stack.describe(OWNER, did)
    assert desc["Alias"] == "corp-example"
    assert desc["AccessUrl"] == "corp-example.awsapps.com"
    listed = stack.ds.describe_directories(stack.ctx(OWNER), {})["DirectoryDescriptions"]
    assert [d["Alias"] for d in listed] == ["corp-example"]


def test_an_alias_is_given_once(stack: DsStack, did: str) -> None:
    alias(stack, did, "corp-example")
    error = refused(stack.ds.create_alias, OWNER, {"DirectoryId": did, "Alias": "other"}, stack)
    assert error.shape == "InvalidParameterException" and "already has an alias" in error.message
    assert stack.describe(OWNER, did)["Alias"] == "corp-example"
    assert stack.store.get(ALIAS, "", "", "other") is None


def test_an_alias_is_unique_everywhere_and_for_good(stack: DsStack, did: str) -> None:
    alias(stack, did, "corp-example")
    theirs = stack.directory(OTHER)
    for name in ("corp-example", "Corp-Example"):
        params = {"DirectoryId": theirs, "Alias": name}
        error = refused(stack.ds.create_alias, OTHER, params, stack)
        assert error.shape == "EntityAlreadyExistsException"
        assert error.message == f"Alias {name} already exists."
    assert stack.describe(OTHER, theirs)["Alias"] == theirs
    # "After an alias has been created, it cannot be deleted or reused."
    stack.store.delete(KIND, OWNER, REGION, did)
    error = refused(
        stack.ds.create_alias, OTHER, {"DirectoryId": theirs, "Alias": "corp-example"}, stack
    )
    assert error.shape == "EntityAlreadyExistsException"


@pytest.mark.parametrize(
    "name",
    ["d-1234567890", "D-corp", "-corp", "corp-", "corp_example", "corp.example", "a" * 63, ""],
)
def test_bad_aliases_change_nothing(stack: DsStack, did: str, name: str) -> None:
    error = refused(stack.ds.create_alias, OWNER, {"DirectoryId": did, "Alias": name}, stack)
    assert error.shape == "InvalidParameterException"
    assert stack.describe(OWNER, did)["Alias"] == did
    assert stack.store.keys(ALIAS) == []


def test_aliases_the_pattern_admits(stack: DsStack) -> None:
    for name in ("a", "corp--example", "Corp2", "x" * 62):
        did = stack.directory(OWNER)
        alias(stack, did, name)
        assert stack.describe(OWNER, did)["AccessUrl"] == f"{name}.awsapps.com"


# -- single sign-on ---------------------------------------------------------------------------
def test_sso_needs_an_alias(stack: DsStack, did: str) -> None:
    error = refused(stack.ds.enable_sso, OWNER, {"DirectoryId": did}, stack)
    assert error.shape == "ClientException"
    assert error.message == f"An alias is required before enabling SSO. DomainId={did}"
    assert stack.describe(OWNER, did)["SsoEnabled"] is False


def test_enable_and_disable_sso(stack: DsStack, did: str) -> None:
    alias(stack, did, "corp-example")
    ctx = stack.ctx(OWNER)
    for _ in range(2):  # enabling an enabled directory is no error, nor disabling twice
        assert stack.ds.enable_sso(ctx, {"DirectoryId": did}) == {}
        assert stack.describe(OWNER, did)["SsoEnabled"] is True
    for _ in range(2):
        assert stack.ds.disable_sso(ctx, {"DirectoryId": did}) == {}
        assert stack.describe(OWNER, did)["SsoEnabled"] is False


def test_sso_credentials_are_neither_stored_nor_logged(
    stack: DsStack, did: str, caplog: pytest.LogCaptureFixture
) -> None:
    alias(stack, did, "corp-example")
    secret = "Alternate-Acc0unt-Pw"
    caplog.set_level(logging.DEBUG)
    params = {"DirectoryId": did, "UserName": "svc-sso", "Password": secret}
    stack.ds.enable_sso(stack.ctx(OWNER), params)
    stack.ds.disable_sso(stack.ctx(OWNER), params)
    assert secret not in caplog.text
    for kind in (KIND, ALIAS):
        assert secret not in json.dumps(stack.store.items(kind))


def test_sso_needs_a_running_directory(stack: DsStack) -> None:
    did = stack.directory(OWNER, stage="Creating")
    alias(stack, did, "corp-example")  # an alias may be made at any stage
    for call in (stack.ds.enable_sso, stack.ds.disable_sso):
        assert refused(call, OWNER, {"DirectoryId": did}, stack).shape == "ClientException"
    assert stack.describe(OWNER, did)["SsoEnabled"] is False


def test_unknown_and_shared_directories(stack: DsStack, did: str) -> None:
    shared = share(stack, did)
    for account, directory_id in ((OWNER, "d-0000000000"), (CONSUMER, shared), (CONSUMER, did)):
        for call, extra in (
            (stack.ds.create_alias, {"Alias": "taken-by-nobody"}),
            (stack.ds.enable_sso, {}),
            (stack.ds.disable_sso, {}),
        ):
            error = refused(call, account, {"DirectoryId": directory_id, **extra}, stack)
            assert error.shape == "EntityDoesNotExistException"
            assert error.message == f"Directory {directory_id} does not exist."
    assert stack.store.keys(ALIAS) == []
    # The owner's alias and SSO are the owner directory's; the consumer still sees its own.
    alias(stack, did, "corp-example")
    stack.ds.enable_sso(stack.ctx(OWNER), {"DirectoryId": did})
    [view] = stack.ds.describe_directories(stack.ctx(CONSUMER), {})["DirectoryDescriptions"]
    assert view["DirectoryId"] == shared and view["Type"] == "SharedMicrosoftAD"


# -- event topics -----------------------------------------------------------------------------
def test_event_topics_are_empty(stack: DsStack, did: str) -> None:
    ctx = stack.ctx(OWNER)
    assert stack.ds.describe_event_topics(ctx, {}) == {"EventTopics": []}
    assert stack.ds.describe_event_topics(ctx, {"DirectoryId": did}) == {"EventTopics": []}
    named = {"DirectoryId": did, "TopicNames": ["ds-status"]}
    assert stack.ds.describe_event_topics(ctx, named) == {"EventTopics": []}
    error = refused(stack.ds.describe_event_topics, OWNER, {"TopicNames": []}, stack)
    assert error.shape == "InvalidParameterException"


def test_there_is_no_sns_topic_to_register(stack: DsStack, did: str) -> None:
    params = {"DirectoryId": did, "TopicName": "ds-status"}
    error = refused(stack.ds.register_event_topic, OWNER, params, stack)
    assert error.shape == "EntityDoesNotExistException" and "no Amazon SNS topics" in error.message
    assert (
        stack.ds.describe_event_topics(stack.ctx(OWNER), {"DirectoryId": did})["EventTopics"] == []
    )
    error = refused(stack.ds.deregister_event_topic, OWNER, params, stack)
    assert error.shape == "EntityDoesNotExistException" and "not registered" in error.message


def test_event_topics_of_unknown_and_shared_directories(stack: DsStack, did: str) -> None:
    shared = share(stack, did)
    for account, directory_id in ((OWNER, "d-0000000000"), (CONSUMER, shared)):
        for call, extra in (
            (stack.ds.describe_event_topics, {}),
            (stack.ds.register_event_topic, {"TopicName": "ds-status"}),
            (stack.ds.deregister_event_topic, {"TopicName": "ds-status"}),
        ):
            error = refused(call, account, {"DirectoryId": directory_id, **extra}, stack)
            assert error.message == f"Directory {directory_id} does not exist."
