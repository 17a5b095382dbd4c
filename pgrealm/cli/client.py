"""``pgrealm client``: the client kit of seed step 7, for any machine that can reach the stack.

    krb5-conf   the krb5.conf for a directory, or for what one DB instance needs
    connect     kinit when there is no ticket, then psql by the endpoint name
    doctor      check, in order, everything a Kerberos login needs; say what is wrong

Everything about directories and instances is asked of the running server through the
AWS API (boto3), as a client machine would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["client_group"]

F = TypeVar("F", bound=Callable[..., Any])


class TargetNotFound(click.ClickException):
    exit_code = 3


def _api_options(f: F) -> F:
    f = click.option(
        "--endpoint-url",
        default=None,
        help="The pgrealm API (default: this machine's stack, from PGREALM_API_* settings).",
    )(f)
    f = click.option(
        "--account",
        envvar="AWS_ACCESS_KEY_ID",
        default="test",
        show_default=True,
        help="Access key (default: AWS_ACCESS_KEY_ID, else 'test'): 'test' is 000000000000; "
        "twelve digits are that account.",
    )(f)
    f = click.option(
        "--region",
        default=lambda: os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        help="AWS region (default: AWS_DEFAULT_REGION or us-east-1).",
    )(f)
    return f


def _api(endpoint_url: str | None, region: str, account: str) -> Any:
    from pgrealm.client.target import Api
    from pgrealm.config import Settings

    return Api(endpoint_url or Settings.from_env().api_url, region, account)


def _lookup(fn: Callable[[], Any]) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    from pgrealm.client.target import TargetError

    try:
        return fn()
    except TargetError as exc:
        raise TargetNotFound(str(exc)) from exc
    except (BotoCoreError, ClientError) as exc:
        raise TargetNotFound(f"the pgrealm API did not answer as expected: {exc}") from exc


def _instance_and_directory(api: Any, identifier: str) -> tuple[Any, Any]:
    from pgrealm.client.target import instance_and_directory

    found: tuple[Any, Any] = _lookup(lambda: instance_and_directory(api, identifier))
    return found


def _principal(user: str, realm: str) -> str:
    return user if "@" in user else f"{user}@{realm}"


_output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (atomically) instead of printing.",
)


@click.group("client")
def client_group() -> None:
    """Client kit: krb5.conf, connect with Kerberos, diagnose a failing login."""


@client_group.command("rds-ca-bundle")
@_output_option
@_api_options
def rds_ca_bundle(output: Path | None, endpoint_url: str | None, region: str, account: str) -> None:
    """Print (or write) every RDS CA certificate, as AWS's global-bundle.pem: for
    sslmode=verify-full sslrootcert=..."""
    from pgrealm.client.krb5conf import write_atomic
    from pgrealm.config import Settings
    from pgrealm.store import Store
    from pgrealm.store.kinds import Kind

    api = _api(endpoint_url, region, account)
    listed = _lookup(api.rds_certificates)  # the API makes them on first asking
    store = Store(Settings.from_env().state_db)
    found = [store.get(Kind.RDS_CA, "", "", ident) for ident in listed]
    text = "".join(str(doc["certificate"]) for doc in found if doc)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}; use it as sslrootcert with sslmode=verify-full", err=True)


@client_group.command("krb5-conf")
@click.option("--directory-id", help="Every instance joined to this directory (d-...).")
@click.option("--db-instance-identifier", help="What this one DB instance needs.")
@_output_option
@_api_options
def krb5_conf(
    directory_id: str | None,
    db_instance_identifier: str | None,
    output: Path | None,
    endpoint_url: str | None,
    region: str,
    account: str,
) -> None:
    """Print (or write) the krb5.conf for a directory or a DB instance."""
    from pgrealm.client.krb5conf import render_krb5_conf, write_atomic

    if (directory_id is None) == (db_instance_identifier is None):
        raise click.UsageError("give exactly one of --directory-id and --db-instance-identifier")
    api = _api(endpoint_url, region, account)
    if db_instance_identifier is not None:
        inst, directory = _instance_and_directory(api, db_instance_identifier)
        hosts = [inst.endpoint]
    else:
        assert directory_id is not None
        directory = _lookup(lambda: api.directory(directory_id))
        hosts = [i.endpoint for i in _lookup(lambda: api.instances_in(directory_id))]
    text = render_krb5_conf(directory.realm, directory.dcs, hosts)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}; use it with: export KRB5_CONFIG={output}", err=True)


@client_group.command()
@click.argument("db_instance")
@click.option("--user", required=True, help="The principal, e.g. alice@CORP.EXAMPLE.COM.")
@click.option("--dbname", default="postgres", show_default=True)
@click.option("-c", "--command", "sql", help="Run this SQL and exit (psql -c).")
@click.option(
    "--krb5-conf",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Use this krb5.conf (sets KRB5_CONFIG for kinit and psql).",
)
@_api_options
def connect(
    db_instance: str,
    user: str,
    dbname: str,
    sql: str | None,
    krb5_conf: Path | None,
    endpoint_url: str | None,
    region: str,
    account: str,
) -> None:
    """Get a Kerberos ticket if needed (kinit asks for the password), then open psql."""
    from pgrealm.client import connect as conn

    inst, directory = _instance_and_directory(_api(endpoint_url, region, account), db_instance)
    principal = _principal(user, directory.realm)
    env = dict(os.environ)
    if krb5_conf is not None:
        env["KRB5_CONFIG"] = str(krb5_conf)
    if not conn.ensure_ticket(principal, env):
        raise click.ClickException(
            f"kinit {principal} failed; `pgrealm client doctor {db_instance} --user "
            f"{principal}` says why"
        )
    conn.exec_psql(
        conn.conninfo(inst.endpoint, inst.port, principal, dbname),
        env,
        ["-c", sql] if sql is not None else [],
    )


@client_group.command()
@click.argument("db_instance")
@click.option("--user", required=True, help="The principal, e.g. alice@CORP.EXAMPLE.COM.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--details", is_flag=True, help="Show the evidence of passing checks too.")
@click.option(
    "--instance-keytab",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The keytab to compare the SPN's key version with (default: the instance's, "
    "when this user may read it).",
)
@_api_options
@click.pass_context
def doctor(
    ctx: click.Context,
    db_instance: str,
    user: str,
    as_json: bool,
    details: bool,
    instance_keytab: Path | None,
    endpoint_url: str | None,
    region: str,
    account: str,
) -> None:
    """Check everything a Kerberos login to DB_INSTANCE needs; exit 0 only if all pass."""
    from pgrealm.client.doctor import Doctor, doctor_target
    from pgrealm.config import Settings

    api = _api(endpoint_url, region, account)
    target = _lookup(
        lambda: doctor_target(api, db_instance, user, Settings.from_env().home, instance_keytab)
    )
    report = Doctor(target, dict(os.environ)).run()
    click.echo(report.to_json() if as_json else report.to_text(verbose=details))
    ctx.exit(report.exit_code)
