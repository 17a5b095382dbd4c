"""The ``pgrealm`` command: run the stack, bring it up with a demo, take it down."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pgrealm.cli.client import client_group
from pgrealm.cli.directory import directory_group
from pgrealm.cli.onprem import onprem_group
from pgrealm.cli.vpc import vpc_group
from pgrealm.config import Settings
from pgrealm.errors import StoreError
from pgrealm.store.kinds import Kind

__all__ = ["cli", "main"]


class StackError(click.ClickException):
    exit_code = 3


def _settings() -> Settings:
    return Settings.from_env()


def _require_root() -> None:
    if os.geteuid() != 0:
        raise click.ClickException(
            "pgrealm needs root: Samba's AD DC binds ports 53/88/389 and PostgreSQL runs as "
            "its own OS user. Run it with sudo."
        )


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG.")
def cli(verbose: bool) -> None:
    """Kerberos-authenticated PostgreSQL on Samba AD, driven through the AWS APIs."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # botocore logs whole request bodies at DEBUG: the console's calls carry passwords
    # (CreateMicrosoftAD, ResetUserPassword, ...), which must never reach a log.
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


@cli.command()
def server() -> None:
    """Run the API, reconcilers and supervisor in the foreground."""
    from pgrealm.daemon import serve

    _require_root()
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger().setLevel(logging.INFO)  # the server's log says what it does
    try:
        serve(_settings())
    except StoreError as exc:
        raise StackError(str(exc)) from exc


@cli.command()
@click.option("--demo/--no-demo", default=True, help="Run the seed flow through the API.")
def up(demo: bool) -> None:
    """Start the stack in the background (and bring back everything it had)."""
    from pgrealm.cli import stack

    _require_root()
    settings = _settings()
    try:
        pid = stack.start_server(settings)
    except RuntimeError as exc:
        raise StackError(str(exc)) from exc
    click.echo(
        f"pgrealm server running (pid {pid}), API at {settings.api_url}, state in {settings.home}"
    )
    if demo:
        _run_demo(settings)


def _run_demo(settings: Settings) -> None:
    from pgrealm.cli import demo as demo_flow

    click.echo("Demo (the seed's steps, through the AWS API):")
    try:
        result = demo_flow.run_demo(settings, _keytab_exporter(settings))
        proof = demo_flow.prove_login(result)
    except Exception as exc:
        raise StackError(f"demo failed: {exc}; see {settings.home / 'server.log'}") from exc
    click.echo(f"  kinit + psql as {result.principal}: {proof.replace('|', ' gss=')}")
    click.echo("\nLog in with Kerberos yourself:\n")
    click.echo(f"  export KRB5_CONFIG={result.krb5_conf}")
    click.echo(f"  kinit -kt {result.keytab} {result.principal}")
    click.echo(f'  psql "{result.conninfo}"')
    click.echo(
        f"\nOr drive it yourself: aws --endpoint-url {settings.api_url} "
        "ds describe-directories  (access key test, secret test)"
    )


def _keytab_exporter(settings: Settings) -> Callable[[str, str, Path], None]:
    from pgrealm.engines import samba
    from pgrealm.gateways.directory import live_dc_spec
    from pgrealm.store import Store

    def export(directory_id: str, principal: str, path: Path) -> None:
        doc = Store(settings.state_db).get(
            Kind.DIRECTORY, "000000000000", "us-east-1", directory_id
        )
        if doc is None:
            raise RuntimeError(f"directory {directory_id} not in the state store")
        dc = live_dc_spec(settings, doc)
        samba.export_keytab(dc, principal, path, os.getuid(), os.getgid())

    return export


@cli.command()
def down() -> None:
    """Stop the server and every directory and instance (data is kept)."""
    from pgrealm.cli import stack

    _require_root()
    if stack.stop_server(_settings()):
        click.echo("pgrealm stopped; `pgrealm up` brings everything back.")
    else:
        click.echo("pgrealm was not running.")


@cli.command()
def demo() -> None:
    """Run the demo against a running stack."""
    _require_root()
    _run_demo(_settings())


@cli.command()
def status() -> None:
    """Show whether the server runs, and each managed process."""
    from pgrealm.cli import stack
    from pgrealm.store import Store
    from pgrealm.supervisor import Supervisor

    settings = _settings()
    pid = stack.server_pid(settings)
    click.echo(f"server: {'running, pid %d' % pid if pid else 'stopped'} ({settings.api_url})")
    if settings.state_db.exists():
        store = Store(settings.state_db)
        for proc in Supervisor(store).describe():
            state = f"pid {proc['pid']}" if proc["pid"] else "down"
            click.echo(f"  {proc['name']}: {state}")
        for key, doc in store.items(Kind.DB_INSTANCE):
            click.echo(_instance_line(key, doc))


def _instance_line(key: tuple[str, str, str], doc: dict[str, Any]) -> str:
    """One instance, its domain memberships, and why the last join or step failed."""
    line = f"  db instance {key[2]} ({key[0]}, {key[1]}): {doc['aws']['DBInstanceStatus']}"
    for member in doc["aws"].get("DomainMemberships") or []:
        line += f"; {member['Domain']}: {member['Status']}"
    if doc.get("replica_of"):
        lag = doc.get("replica_lag")
        shown = "not streaming" if lag is None else f"lag {lag:.1f} s"
        line += f"; read replica of {doc['replica_of'][2]}, {shown}"
    spare = doc.get("standby")
    if spare:
        state = "synchronous" if spare.get("ready") else "being prepared"
        line += f"; Multi-AZ standby in {spare['zone']}, {state}"
    reason = doc.get("membership_reason") or doc.get("status_reason")
    return f"{line} ({reason})" if reason else line


cli.add_command(client_group)
cli.add_command(directory_group)
cli.add_command(onprem_group)
cli.add_command(vpc_group)


def main() -> None:
    cli(prog_name="pgrealm")


if __name__ == "__main__":
    main()
