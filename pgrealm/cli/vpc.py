"""``pgrealm vpc exec VPC_ID -- COMMAND``: run a command as a host inside a VPC.

The command gets a host of its own in the VPC (an address in its first subnet, in the
VPC's default security group, as an EC2 instance launched with the defaults), the VPC's
view of names (each DB instance's endpoint at its VPC address, through ip-netns's
/etc/netns bind mounts) and a krb5.conf naming the directory's DCs at their VPC
addresses. What it reaches is what a client in that VPC reaches: kinit and psql time out
until peering, routes, security groups and network ACLs allow them, as on AWS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import click

from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.config import Settings
from pgrealm.gateways.network import stack_net
from pgrealm.model.addresses import AddressAllocator
from pgrealm.reconcile.network import NetworkReconciler
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["vpc_group"]

_NETNS_ETC = Path("/etc/netns")


@click.group("vpc")
def vpc_group() -> None:
    """See the network from inside a VPC."""


@vpc_group.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("vpc_id")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--directory", "directory_id", help="The realm's directory (default: the only one).")
def vpc_exec(vpc_id: str, command: tuple[str, ...], directory_id: str | None) -> None:
    """Run COMMAND as a host in VPC_ID; exits with its exit code."""
    settings = Settings.from_env()
    store = Store(settings.state_db)
    vpc = _find(store, Kind.VPC, vpc_id, "VpcId")
    subnets = sorted(
        (s for s in store.list(Kind.SUBNET, vpc["OwnerId"]) if s["VpcId"] == vpc_id),
        key=lambda s: s["CidrBlock"],
    )
    if not subnets:
        raise click.ClickException(f"{vpc_id} has no subnet to put a host in")
    account, region = vpc["OwnerId"], subnets[0]["SubnetArn"].split(":")[3]
    allocator = AddressAllocator(store, settings.host_block)
    group = _default_group(store, account, region, vpc_id)
    vpc_ip, host_ip = allocator.allocate(
        account, region, subnets[0]["SubnetId"], "vpc-exec", "pgrealm vpc exec", [group]
    )
    network = NetworkReconciler(store, settings)
    namespace = stack_net(settings).host_namespace(host_ip)
    workdir = Path(tempfile.mkdtemp(prefix="pgrealm-vpc-"))
    try:
        network.realise_host(account, region, host_ip)
        env = _client_env(store, workdir, namespace, directory_id)
        code = subprocess.run(["ip", "netns", "exec", namespace, *command], env=env).returncode
    finally:
        allocator.release(account, region, host_ip)
        network.forget_host(host_ip)
        shutil.rmtree(_NETNS_ETC / namespace, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
    raise SystemExit(code)


def _find(store: Store, kind: str, wanted: str, field: str) -> Doc:
    for doc in store.list(kind):
        if doc.get(field) == wanted:
            return doc
    raise click.ClickException(f"no {field[:-2]} {wanted} in this stack")


def _default_group(store: Store, account: str, region: str, vpc_id: str) -> str:
    for group in store.list(Kind.SECURITY_GROUP, account, region):
        if group["VpcId"] == vpc_id and group["GroupName"] == "default":
            return str(group["GroupId"])
    raise click.ClickException(f"{vpc_id} has no default security group")


def _client_env(
    store: Store, workdir: Path, namespace: str, directory_id: str | None
) -> dict[str, str]:
    """The VPC's view: endpoint names at VPC addresses, and the realm's DCs."""
    names = [
        f"{d['vpc_ip']} {d['aws']['Endpoint']['Address']}\n"
        for d in store.list(Kind.DB_INSTANCE)
        if d.get("vpc_ip")
    ]
    etc = _NETNS_ETC / namespace
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "hosts").write_text("127.0.0.1 localhost\n" + "".join(names))
    env = dict(os.environ)
    directory = _directory(store, directory_id)
    if directory is not None and "KRB5_CONFIG" not in os.environ:
        conf = workdir / "krb5.conf"
        dcs = [dc["vpc_ip"] for dc in directory["dcs"]]
        conf.write_text(render_krb5_conf(directory["aws"]["Name"], dcs))
        env["KRB5_CONFIG"] = str(conf)
    return env


def _directory(store: Store, directory_id: str | None) -> dict[str, Any] | None:
    found = [d for d in store.list(Kind.DIRECTORY) if d["desired"] == "present"]
    if directory_id:
        found = [d for d in found if d["aws"]["DirectoryId"] == directory_id]
        if not found:
            raise click.ClickException(f"no directory {directory_id} in this stack")
    return found[0] if len(found) == 1 or directory_id else None
