"""``pgrealm directory``: users, groups and members of a directory, without the AWS tools.

Talks to the running server through its API with boto3 (ds-data, and ds for password
resets), exactly as the aws CLI would. Passwords are asked on the terminal (hidden,
confirmed) or read from stdin with ``--password-stdin``; never taken as an argument.

    pgrealm directory users list|create|describe|update|delete|disable|reset-password
    pgrealm directory groups list|create|describe|update|delete
    pgrealm directory members list|add|remove|groups-of
    pgrealm directory ca-certificate

``ca-certificate`` prints the certificate of the directory's own certificate authority,
which issues its DCs' LDAPS certificates: what an admin exports from AD CS, to register
with ``aws ds register-certificate`` and to give LDAPS clients to trust.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from pgrealm.config import Settings

__all__ = ["directory_group"]


class _Api:
    """boto3 clients for one account/region and the directory the command is about."""

    def __init__(self, account: str, region: str, directory_id: str | None) -> None:
        self.account = account
        self.region = region
        self._directory_id = directory_id

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=Settings.from_env().api_url,
            region_name=self.region,
            aws_access_key_id=self.account,
            aws_secret_access_key="test",
        )

    @property
    def directory_id(self) -> str:
        if self._directory_id:
            return self._directory_id
        dirs = self.client("ds").describe_directories()["DirectoryDescriptions"]
        if len(dirs) != 1:
            raise click.UsageError(
                f"{len(dirs)} directories in this account/region: pick one with --directory-id"
            )
        self._directory_id = str(dirs[0]["DirectoryId"])
        return self._directory_id

    def call(self, service: str, op: str, **params: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client(service), op)(**params)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            reason = f" ({err['Reason']})" if err.get("Reason") else ""
            raise click.ClickException(f"{err.get('Code')}{reason}: {err.get('Message')}") from exc

    def data(self, op: str, **params: Any) -> Any:
        return self.call("ds-data", op, DirectoryId=self.directory_id, **params)

    def pages(self, op: str, key: str, **params: Any) -> Iterator[Any]:
        token: str | None = None
        while True:
            page = self.data(op, **params, **({"NextToken": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return


pass_api = click.make_pass_decorator(_Api)


def _emit(obj: Any) -> None:
    obj = (
        {k: v for k, v in obj.items() if k != "ResponseMetadata"} if isinstance(obj, dict) else obj
    )
    click.echo(json.dumps(obj, indent=2, default=str))


def _attrs(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--attr name=value`` (repeatable; a name given twice becomes a string set)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--attr")
        if name in out:
            prev = out[name].get("SS") or [out[name]["S"]]
            out[name] = {"SS": [*prev, value]}
        else:
            out[name] = {"S": value}
    return out


_attr_option = click.option("--attr", "attrs", multiple=True, help="NAME=VALUE (repeatable).")


@click.group("directory")
@click.option(
    "--directory-id", "-d", envvar="PGREALM_DIRECTORY_ID", help="d-... (default: the only one)."
)
@click.option(
    "--account",
    envvar="AWS_ACCESS_KEY_ID",
    default="test",
    show_default=True,
    help="Access key = account (default: AWS_ACCESS_KEY_ID, else 'test').",
)
@click.option("--region", default="us-east-1", show_default=True)
@click.pass_context
def directory_group(
    ctx: click.Context, directory_id: str | None, account: str, region: str
) -> None:
    """Users, groups and members of a directory (through the ds-data API)."""
    ctx.obj = _Api(account, region, directory_id)


@directory_group.command("ca-certificate")
@pass_api
def ca_certificate(api: _Api) -> None:
    """Print the PEM certificate of the directory's certificate authority."""
    from pgrealm.store import Store
    from pgrealm.store.kinds import Kind

    account = api.call("sts", "get_caller_identity")["Account"]
    directory_id = api.directory_id
    doc = Store(Settings.from_env().state_db).get(Kind.DIRECTORY, account, api.region, directory_id)
    authority = (doc or {}).get("authority")
    if authority is None:
        raise click.ClickException(
            f"directory {directory_id} has no certificate authority yet: it makes one as its "
            "first domain controller starts"
        )
    click.echo(authority["certificate"], nl=False)


# -- users ---------------------------------------------------------------------------------
@directory_group.group("users")
def users() -> None:
    """Users of the directory."""


@users.command("list")
@click.option("--search", help="Only users whose name, given name, surname or mail contain this.")
@pass_api
def users_list(api: _Api, search: str | None) -> None:
    if search:
        found = api.pages(
            "search_users", "Users", SearchString=search,
            SearchAttributes=["SAMAccountName", "GivenName", "Surname", "EmailAddress"],
        )  # fmt: skip
    else:
        found = api.pages("list_users", "Users")
    for user in found:
        state = "enabled" if user.get("Enabled") else "disabled"
        click.echo(f"{user['SAMAccountName']}\t{user['SID']}\t{state}")


@users.command("create")
@click.argument("name")
@click.option("--given-name")
@click.option("--surname")
@click.option("--email")
@_attr_option
@pass_api
def users_create(api: _Api, name: str, given_name: str | None, surname: str | None,
                 email: str | None, attrs: tuple[str, ...]) -> None:  # fmt: skip
    params = _optional(GivenName=given_name, Surname=surname, EmailAddress=email)
    if attrs:
        params["OtherAttributes"] = _attrs(attrs)
    _emit(api.data("create_user", SAMAccountName=name, **params))


@users.command("describe")
@click.argument("name")
@click.option("--attribute", "attributes", multiple=True, help="Extra attribute to show.")
@pass_api
def users_describe(api: _Api, name: str, attributes: tuple[str, ...]) -> None:
    params = {"OtherAttributes": list(attributes)} if attributes else {}
    _emit(api.data("describe_user", SAMAccountName=name, **params))


@users.command("update")
@click.argument("name")
@click.option("--given-name")
@click.option("--surname")
@click.option("--email")
@_attr_option
@click.option("--update-type", type=click.Choice(["ADD", "REPLACE", "REMOVE"]), default="REPLACE")
@pass_api
def users_update(api: _Api, name: str, given_name: str | None, surname: str | None,
                 email: str | None, attrs: tuple[str, ...], update_type: str) -> None:  # fmt: skip
    params = _optional(GivenName=given_name, Surname=surname, EmailAddress=email)
    if attrs:
        params["OtherAttributes"] = _attrs(attrs)
    api.data("update_user", SAMAccountName=name, UpdateType=update_type, **params)
    click.echo(f"updated {name}")


@users.command("delete")
@click.argument("name")
@pass_api
def users_delete(api: _Api, name: str) -> None:
    api.data("delete_user", SAMAccountName=name)
    click.echo(f"deleted {name}")


@users.command("disable")
@click.argument("name")
@pass_api
def users_disable(api: _Api, name: str) -> None:
    api.data("disable_user", SAMAccountName=name)
    click.echo(f"disabled {name}")


@users.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@pass_api
def users_reset_password(api: _Api, name: str, password_stdin: bool) -> None:
    """Set NAME's password (and enable the user), as ds ResetUserPassword does."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.UsageError("empty password")
    api.call(
        "ds", "reset_user_password",
        DirectoryId=api.directory_id, UserName=name, NewPassword=password,
    )  # fmt: skip
    click.echo(f"password of {name} reset")


# -- groups --------------------------------------------------------------------------------
@directory_group.group("groups")
def groups() -> None:
    """Groups of the directory."""


_SCOPES = click.Choice(["DomainLocal", "Global", "Universal"])
_TYPES = click.Choice(["Security", "Distribution"])


@groups.command("list")
@click.option("--search", help="Only groups whose name contains this.")
@pass_api
def groups_list(api: _Api, search: str | None) -> None:
    if search:
        found = api.pages(
            "search_groups", "Groups", SearchString=search, SearchAttributes=["SAMAccountName"]
        )
    else:
        found = api.pages("list_groups", "Groups")
    for group in found:
        click.echo(f"{group['SAMAccountName']}\t{group['SID']}\t{group['GroupScope']}"
                   f"\t{group['GroupType']}")  # fmt: skip


@groups.command("create")
@click.argument("name")
@click.option("--scope", type=_SCOPES)
@click.option("--type", "group_type", type=_TYPES)
@_attr_option
@pass_api
def groups_create(api: _Api, name: str, scope: str | None, group_type: str | None,
                  attrs: tuple[str, ...]) -> None:  # fmt: skip
    params = _optional(GroupScope=scope, GroupType=group_type)
    if attrs:
        params["OtherAttributes"] = _attrs(attrs)
    _emit(api.data("create_group", SAMAccountName=name, **params))


@groups.command("describe")
@click.argument("name")
@click.option("--attribute", "attributes", multiple=True, help="Extra attribute to show.")
@pass_api
def groups_describe(api: _Api, name: str, attributes: tuple[str, ...]) -> None:
    params = {"OtherAttributes": list(attributes)} if attributes else {}
    _emit(api.data("describe_group", SAMAccountName=name, **params))


@groups.command("update")
@click.argument("name")
@click.option("--scope", type=_SCOPES)
@click.option("--type", "group_type", type=_TYPES)
@_attr_option
@click.option("--update-type", type=click.Choice(["ADD", "REPLACE", "REMOVE"]), default="REPLACE")
@pass_api
def groups_update(api: _Api, name: str, scope: str | None, group_type: str | None,
                  attrs: tuple[str, ...], update_type: str) -> None:  # fmt: skip
    params = _optional(GroupScope=scope, GroupType=group_type)
    if attrs:
        params["OtherAttributes"] = _attrs(attrs)
    api.data("update_group", SAMAccountName=name, UpdateType=update_type, **params)
    click.echo(f"updated {name}")


@groups.command("delete")
@click.argument("name")
@pass_api
def groups_delete(api: _Api, name: str) -> None:
    api.data("delete_group", SAMAccountName=name)
    click.echo(f"deleted {name}")


# -- members -------------------------------------------------------------------------------
@directory_group.group("members")
def members() -> None:
    """Group memberships."""


@members.command("list")
@click.argument("group")
@pass_api
def members_list(api: _Api, group: str) -> None:
    for m in api.pages("list_group_members", "Members", SAMAccountName=group):
        click.echo(f"{m['SAMAccountName']}\t{m['SID']}\t{m['MemberType']}")


@members.command("add")
@click.argument("group")
@click.argument("member")
@pass_api
def members_add(api: _Api, group: str, member: str) -> None:
    api.data("add_group_member", GroupName=group, MemberName=member)
    click.echo(f"added {member} to {group}")


@members.command("remove")
@click.argument("group")
@click.argument("member")
@pass_api
def members_remove(api: _Api, group: str, member: str) -> None:
    api.data("remove_group_member", GroupName=group, MemberName=member)
    click.echo(f"removed {member} from {group}")


@members.command("groups-of")
@click.argument("member")
@pass_api
def members_groups_of(api: _Api, member: str) -> None:
    for g in api.pages("list_groups_for_member", "Groups", SAMAccountName=member):
        click.echo(f"{g['SAMAccountName']}\t{g['SID']}")


def _optional(**params: str | None) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
