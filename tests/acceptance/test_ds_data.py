"""ds-data through boto3 and the ``pgrealm directory`` CLI, on the shared directory.

Names carry a random suffix so this module never clashes with others on the session
directory. One user and one group are created once and used by the whole module.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from pgrealm.cli.main import cli
from tests.acceptance.conftest import new_password
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

SUFFIX = secrets.token_hex(3)
USER = f"dd-u-{SUFFIX}"
GROUP = f"dd-g-{SUFFIX}"


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str | None]:
    err = exc.value.response["Error"]
    return err["Code"], exc.value.response.get("Reason") or err.get("Reason")


@pytest.fixture(scope="module")
def data(stack: StackHandle) -> Any:
    return stack.client("ds-data")


@pytest.fixture(scope="module")
def did(directory: dict[str, Any]) -> str:
    return str(directory["DirectoryId"])


@pytest.fixture(scope="module")
def user_and_group(data: Any, did: str) -> Iterator[None]:
    data.create_user(
        DirectoryId=did, SAMAccountName=USER, GivenName="Dana", Surname="Data",
        EmailAddress=f"{USER}@example.com",
        OtherAttributes={"telephoneNumber": {"S": "555-0100"}},
    )  # fmt: skip
    data.create_group(
        DirectoryId=did, SAMAccountName=GROUP, GroupScope="Global", GroupType="Security",
        OtherAttributes={"description": {"S": "ds-data test"}},
    )  # fmt: skip
    yield


def test_users(data: Any, did: str, user_and_group: None) -> None:
    d = data.describe_user(
        DirectoryId=did, SAMAccountName=USER, OtherAttributes=["telephoneNumber"]
    )
    assert d["GivenName"] == "Dana" and d["Realm"] == "corp.example.com"
    assert d["OtherAttributes"]["telephoneNumber"] == {"S": "555-0100"}
    assert d["DistinguishedName"].endswith("OU=Users,OU=CORP,DC=corp,DC=example,DC=com")
    data.update_user(DirectoryId=did, SAMAccountName=USER, UpdateType="REPLACE", Surname="Datum",
                     OtherAttributes={"title": {"S": "Tester"}})  # fmt: skip
    data.update_user(DirectoryId=did, SAMAccountName=USER, UpdateType="REMOVE",
                     OtherAttributes={"telephoneNumber": {"S": "555-0100"}})  # fmt: skip
    d = data.describe_user(
        DirectoryId=did, SAMAccountName=USER, OtherAttributes=["title", "telephoneNumber"]
    )
    assert d["Surname"] == "Datum" and d["OtherAttributes"] == {"title": {"S": "Tester"}}
    with pytest.raises(ClientError) as exc:
        data.create_user(DirectoryId=did, SAMAccountName=USER)
    assert code(exc)[0] == "ConflictException"
    found = data.search_users(
        DirectoryId=did, SearchString=SUFFIX, SearchAttributes=["SAMAccountName"]
    )
    assert [u["SAMAccountName"] for u in found["Users"]] == [USER]
    # LDAP filter metacharacters are the search's text, never its syntax: unescaped,
    # "*" and "*)(|(x=*" would match every user.
    for meta in ("*", "*)(|(sAMAccountName=*", "\\2a"):
        found = data.search_users(
            DirectoryId=did, SearchString=meta, SearchAttributes=["SAMAccountName"]
        )
        assert found["Users"] == [], meta
    _a_metacharacter_name_matches_only_itself(data, did)
    # pagination: one per page until the end
    page = data.list_users(DirectoryId=did, MaxResults=1)
    assert len(page["Users"]) == 1 and "NextToken" in page
    pages = data.get_paginator("list_users").paginate(
        DirectoryId=did, PaginationConfig={"PageSize": 2}
    )
    names = [u["SAMAccountName"] for u in pages.build_full_result()["Users"]]
    assert USER in names and "Admin" in names
    data.disable_user(DirectoryId=did, SAMAccountName=USER)
    assert data.describe_user(DirectoryId=did, SAMAccountName=USER)["Enabled"] is False


def _a_metacharacter_name_matches_only_itself(data: Any, did: str) -> None:
    """A user whose given name, put unescaped into a filter, would match every user: a
    search for it finds that user alone (issue 14)."""
    name, given = f"dd-meta-{SUFFIX}", "*)(givenName=*"
    data.create_user(DirectoryId=did, SAMAccountName=name, GivenName=given, Surname="*")
    try:
        for attribute, text in (("GivenName", given), ("Surname", "*")):
            found = data.search_users(
                DirectoryId=did, SearchString=text, SearchAttributes=[attribute]
            )
            assert [u["SAMAccountName"] for u in found["Users"]] == [name], (attribute, found)
        assert data.describe_user(DirectoryId=did, SAMAccountName=name)["GivenName"] == given
    finally:
        data.delete_user(DirectoryId=did, SAMAccountName=name)


def test_errors(stack: StackHandle, data: Any, did: str, user_and_group: None) -> None:
    with pytest.raises(ClientError) as exc:
        data.describe_user(DirectoryId=did, SAMAccountName="nobody-" + SUFFIX)
    assert code(exc)[0] == "ResourceNotFoundException"
    ds = stack.client("ds")
    ds.disable_directory_data_access(DirectoryId=did)
    try:
        with pytest.raises(ClientError) as exc:
            data.list_users(DirectoryId=did)
        assert code(exc) == ("AccessDeniedException", "DATA_DISABLED")
    finally:
        ds.enable_directory_data_access(DirectoryId=did)
    with pytest.raises(ClientError) as exc:
        data.delete_user(DirectoryId=did, SAMAccountName="Administrator")
    assert code(exc) == ("AccessDeniedException", "DIRECTORY_AUTH")
    with pytest.raises(ClientError) as exc:
        data.list_users(DirectoryId=did, NextToken="not-a-token")
    assert code(exc) == ("ValidationException", "INVALID_NEXT_TOKEN")
    with pytest.raises(ClientError) as exc:
        data.search_users(DirectoryId=did, SearchString="x", SearchAttributes=["unicodePwd"])
    assert code(exc) == ("ValidationException", "INVALID_ATTRIBUTE_FOR_SEARCH")


def test_groups_and_members(data: Any, did: str, user_and_group: None) -> None:
    g = data.describe_group(DirectoryId=did, SAMAccountName=GROUP, OtherAttributes=["description"])
    assert (g["GroupScope"], g["GroupType"]) == ("Global", "Security")
    data.update_group(DirectoryId=did, SAMAccountName=GROUP, GroupScope="Universal",
                      OtherAttributes={"info": {"S": "notes"}}, UpdateType="ADD")  # fmt: skip
    assert data.describe_group(DirectoryId=did, SAMAccountName=GROUP)["GroupScope"] == "Universal"
    data.add_group_member(DirectoryId=did, GroupName=GROUP, MemberName=USER)
    with pytest.raises(ClientError) as exc:
        data.add_group_member(DirectoryId=did, GroupName=GROUP, MemberName=USER)
    assert code(exc)[0] == "ConflictException"
    members = data.list_group_members(DirectoryId=did, SAMAccountName=GROUP)["Members"]
    assert [(m["SAMAccountName"], m["MemberType"]) for m in members] == [(USER, "USER")]
    groups = data.list_groups_for_member(DirectoryId=did, SAMAccountName=USER)["Groups"]
    assert [x["SAMAccountName"] for x in groups] == [GROUP]
    assert GROUP in [x["SAMAccountName"] for x in data.list_groups(DirectoryId=did)["Groups"]]
    hits = data.search_groups(
        DirectoryId=did, SearchString=GROUP, SearchAttributes=["SAMAccountName"]
    )
    assert [x["SAMAccountName"] for x in hits["Groups"]] == [GROUP]
    data.remove_group_member(DirectoryId=did, GroupName=GROUP, MemberName=USER)
    assert data.list_group_members(DirectoryId=did, SAMAccountName=GROUP)["Members"] == []


def test_reset_password_rules(stack: StackHandle, did: str, user_and_group: None) -> None:
    ds = stack.client("ds")
    with pytest.raises(ClientError) as exc:
        ds.reset_user_password(
            DirectoryId=did, UserName="Administrator", NewPassword=new_password()
        )
    assert code(exc)[0] == "UnsupportedOperationException"
    with pytest.raises(ClientError) as exc:
        ds.reset_user_password(DirectoryId=did, UserName=USER, NewPassword="short")
    assert code(exc)[0] == "InvalidPasswordException"
    with pytest.raises(ClientError) as exc:  # AD accepts it, Admin's own rules do not
        ds.reset_user_password(
            DirectoryId=did, UserName="Admin", NewPassword="x" * 60 + "Aa1#admin"
        )
    assert code(exc)[0] == "InvalidPasswordException"
    # the user was disabled by test_users (or not yet): a reset re-enables it
    stack.client("ds-data").disable_user(DirectoryId=did, SAMAccountName=USER)
    ds.reset_user_password(DirectoryId=did, UserName=USER, NewPassword=new_password())
    user = stack.client("ds-data").describe_user(DirectoryId=did, SAMAccountName=USER)
    assert user["Enabled"] is True


def test_cli(
    stack: StackHandle, did: str, user_and_group: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", stack.account)  # the CLI's --account
    runner = CliRunner()
    name = f"dd-c-{SUFFIX}"

    def run(*args: str, input: str | None = None) -> str:
        result = runner.invoke(cli, ["directory", "-d", did, *args], input=input)
        assert result.exit_code == 0, result.output
        return result.output

    run("users", "create", name, "--given-name", "Cli", "--attr", "title=Tool")
    assert '"Cli"' in run("users", "describe", name, "--attribute", "title")
    assert name in run("users", "list", "--search", name)
    run("users", "update", name, "--surname", "Line")
    assert "password of" in run("users", "reset-password", name, "--password-stdin",
                                input=new_password() + "\n")  # fmt: skip
    pw = new_password()
    run("users", "reset-password", name, input=f"{pw}\n{pw}\n")
    run("members", "add", GROUP, name)
    assert name in run("members", "list", GROUP)
    assert GROUP in run("members", "groups-of", name)
    run("members", "remove", GROUP, name)
    run("users", "disable", name)
    run("users", "delete", name)
    bad = runner.invoke(cli, ["directory", "-d", did, "users", "describe", name])
    assert bad.exit_code != 0 and "ResourceNotFoundException" in bad.output
    assert GROUP in run("groups", "list", "--search", GROUP)
    assert os.environ.get("PGREALM_HOME") == str(stack.home)


def test_cleanup_and_data_disabled(
    stack: StackHandle, data: Any, did: str, user_and_group: None
) -> None:
    data.delete_user(DirectoryId=did, SAMAccountName=USER)
    data.delete_group(DirectoryId=did, SAMAccountName=GROUP)
    with pytest.raises(ClientError) as exc:
        data.delete_group(DirectoryId=did, SAMAccountName=GROUP)
    assert code(exc)[0] == "ResourceNotFoundException"
    ds = stack.client("ds")
    ds.disable_directory_data_access(DirectoryId=did)
    try:
        with pytest.raises(ClientError) as exc:
            data.list_users(DirectoryId=did)
        assert code(exc) == ("AccessDeniedException", "DATA_DISABLED")
    finally:
        ds.enable_directory_data_access(DirectoryId=did)
