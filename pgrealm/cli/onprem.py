"""``pgrealm onprem``: a self-managed Samba AD forest beside the AWS-style stack, the way a
company's own AD stands beside AWS, to build trusts with.

    pgrealm onprem create --name onprem.example.com --short-name ONPREM
                          [--cidr 192.168.0.0/16] [--peer-vpc-id VPC]
    pgrealm onprem users add --name onprem.example.com --user bob
    pgrealm onprem trust --name onprem.example.com --remote-domain corp.example.com
                         --direction two-way --type forest
                         --conditional-forwarder-ip-addrs IP [IP ...]
    pgrealm onprem ca-certificate --name onprem.example.com
    pgrealm onprem delete --name onprem.example.com

The forest's network is a VPC of its own in the account ONPREM_ACCOUNT, which stands for
the company's network: two DCs (Samba, laid out as AD is out of the box, with the
Administrator account) in its subnets, reached under the same network rules as
everything else. ``--peer-vpc-id`` stands for the VPN or Direct Connect link: it asks
for a peering with that VPC (the user accepts it and routes to the forest's CIDR, as on
AWS), routes the forest's side and opens the forest's DCs to that VPC. Its DCs run the
file server and winbindd, which the other forest's samba-tool needs.

``trust`` makes the forest's side of a trust with samba-tool on its DC, as the company's
admin would with their own tools; the directory's side is ds create-trust. Every
password (Administrator's, a user's, the trust's) is read from stdin, or asked on a
terminal; never an argument.
"""

from __future__ import annotations

import ipaddress
import json
import sys
import time
from typing import Any

import click

from pgrealm.cli.directory import _Api
from pgrealm.config import Settings
from pgrealm.model.trusts import put_forwarder
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["ONPREM_ACCOUNT", "onprem_group"]

# The account that stands for the company's own network (not an AWS account of anyone's).
ONPREM_ACCOUNT = "999999999999"
_DIRECTIONS = {"two-way": "both", "incoming": "incoming", "outgoing": "outgoing"}
_WAIT = 300.0


def _password(what: str) -> str:
    if sys.stdin.isatty():
        secret = str(click.prompt(what, hide_input=True, confirmation_prompt=True))
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise click.UsageError(f"empty {what.lower()}")
    return secret


def _api(region: str) -> _Api:
    return _Api(ONPREM_ACCOUNT, region, None)


def _forest(store: Store, region: str, name: str) -> Doc:
    for doc in store.list(Kind.DIRECTORY, ONPREM_ACCOUNT, region):
        if doc["aws"]["Name"].lower() == name.lower() and doc.get("onprem"):
            return doc
    raise click.ClickException(f"no on-premises forest {name}")


def _wait(what: str, probe: Any) -> Any:
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1)
    raise click.ClickException(f"timed out waiting for {what}")


@click.group("onprem")
@click.option("--region", default="us-east-1", show_default=True)
@click.pass_context
def onprem_group(ctx: click.Context, region: str) -> None:
    """A self-managed AD forest to trust, standing for a company's own AD."""
    ctx.obj = region


@onprem_group.command("create")
@click.option("--name", required=True, help="The forest's DNS name.")
@click.option("--short-name", required=True, help="Its NetBIOS name.")
@click.option("--cidr", default="192.168.0.0/16", show_default=True, help="Its network.")
@click.option("--peer-vpc-id", help="A VPC to link the network with (a peering to accept).")
@click.option("--output", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def create(
    region: str,
    name: str,
    short_name: str,
    cidr: str,
    peer_vpc_id: str | None,
    output: str,
) -> None:
    """Make the forest (Administrator's password from stdin) and wait until it answers."""
    password = _password("Administrator password")
    api, settings = _api(region), Settings.from_env()
    network = ipaddress.IPv4Network(cidr)
    halves = list(network.subnets(new_prefix=min(network.prefixlen + 1, 28)))[:2]
    vpc_id = api.call("ec2", "create_vpc", CidrBlock=cidr)["Vpc"]["VpcId"]
    subnets = [
        api.call("ec2", "create_subnet", VpcId=vpc_id, CidrBlock=str(half),
                 AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
        for half, zone in zip(halves, "ab", strict=True)
    ]  # fmt: skip
    directory_id = api.call(
        "ds", "create_directory", Name=name, ShortName=short_name, Password=password,
        Size="Small", VpcSettings={"VpcId": vpc_id, "SubnetIds": subnets},
    )["DirectoryId"]  # fmt: skip
    store = Store(settings.state_db)
    store.update(
        Kind.DIRECTORY, ONPREM_ACCOUNT, region, directory_id, lambda d: d.update(onprem=True)
    )
    shown = {"Name": name, "DirectoryId": directory_id, "VpcId": vpc_id, "CidrBlock": cidr}
    if peer_vpc_id:
        peer = _peer_vpc(store, peer_vpc_id)
        shown["VpcPeeringConnectionId"] = _link(api, vpc_id, peer)
    directory = _wait(f"{name} to answer", lambda: _active(api, directory_id))
    shown["DnsIpAddrs"] = directory["DnsIpAddrs"]
    if peer_vpc_id:
        _open_controllers(api, directory, peer["CidrBlock"])
    if output == "json":
        click.echo(json.dumps(shown, indent=2))
    else:
        for key, value in shown.items():
            click.echo(f"{key}: {' '.join(value) if isinstance(value, list) else value}")


def _active(api: _Api, directory_id: str) -> Doc | None:
    found = api.call("ds", "describe_directories", DirectoryIds=[directory_id])
    directory: Doc = found["DirectoryDescriptions"][0]
    if directory["Stage"] == "Failed":
        raise click.ClickException(f"the forest failed: {directory.get('StageReason')}")
    return directory if directory["Stage"] == "Active" else None


def _peer_vpc(store: Store, vpc_id: str) -> Doc:
    """The user's VPC, whichever account owns it (VPC ids are unique on the machine)."""
    for (_, region, _), vpc in store.items(Kind.VPC):
        if vpc["VpcId"] == vpc_id:
            return {**vpc, "Region": region}
    raise click.ClickException(f"no VPC {vpc_id} in this stack")


def _link(api: _Api, vpc_id: str, peer: Doc) -> str:
    """The network link: a peering request to the user's VPC, and the forest's route."""
    peering = api.call(
        "ec2", "create_vpc_peering_connection", VpcId=vpc_id, PeerVpcId=peer["VpcId"],
        PeerOwnerId=peer["OwnerId"], PeerRegion=peer["Region"],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]  # fmt: skip
    main = api.call(
        "ec2", "describe_route_tables",
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                 {"Name": "association.main", "Values": ["true"]}],
    )["RouteTables"][0]["RouteTableId"]  # fmt: skip
    api.call(
        "ec2", "create_route", RouteTableId=main,
        DestinationCidrBlock=peer["CidrBlock"],
        VpcPeeringConnectionId=peering,
    )  # fmt: skip
    return str(peering)


def _open_controllers(api: _Api, directory: Doc, cidr: str) -> None:
    """A company's own DCs answer its whole network, the linked VPC included."""
    api.call(
        "ec2", "authorize_security_group_ingress",
        GroupId=directory["VpcSettings"]["SecurityGroupId"],
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [
            {"CidrIp": cidr}]}],
    )  # fmt: skip


@onprem_group.group("users")
def users() -> None:
    """The forest's users."""


@users.command("add")
@click.option("--name", required=True, help="The forest's DNS name.")
@click.option("--user", required=True, help="The user's sAMAccountName.")
@click.pass_obj
def users_add(region: str, name: str, user: str) -> None:
    """Add USER with a password from stdin, as the forest's admin would."""
    from pgrealm.gateways.directory import DirectoryData

    password = _password(f"Password for {user}")
    settings = Settings.from_env()
    doc = _forest(Store(settings.state_db), region, name)
    data = DirectoryData(settings)
    data.create_user(doc, user, given_name=None, surname=None, email=None, attributes={})
    data.reset_password(doc, user, password)
    click.echo(f"{user}@{name.upper()} added")


@onprem_group.command("trust")
@click.option("--name", required=True, help="The forest's DNS name.")
@click.option("--remote-domain", required=True, help="The directory's DNS name.")
@click.option("--direction", type=click.Choice(sorted(_DIRECTIONS)), required=True)
@click.option("--type", "trust_type", type=click.Choice(["forest", "external"]), required=True)
@click.option("--conditional-forwarder-ip-addrs", "forwarders", multiple=True, required=True,
              help="The directory's DNS addresses (its DnsIpAddrs); repeat for each.")  # fmt: skip
@click.pass_obj
def trust(
    region: str,
    name: str,
    remote_domain: str,
    direction: str,
    trust_type: str,
    forwarders: tuple[str, ...],
) -> None:
    """Make (or make anew) the forest's side of a trust with REMOTE_DOMAIN (trust password
    from stdin)."""
    from pgrealm.engines import samba
    from pgrealm.gateways.directory import dc_spec, live_dc_spec

    password = _password("Trust password")
    settings = Settings.from_env()
    store = Store(settings.state_db)
    doc = _forest(store, region, name)
    store.update(
        Kind.DIRECTORY, ONPREM_ACCOUNT, region, doc["aws"]["DirectoryId"],
        lambda d: put_forwarder(d, remote_domain, list(forwarders)),
    )  # fmt: skip
    doc = _forest(store, region, name)
    # The server restarts the forest's DCs with the forwarder: wait for both.
    _wait(
        f"{name}'s DCs to forward {remote_domain}",
        lambda: all(
            samba.config_current(dc_spec(settings, doc, dc))
            and samba.dc_ready(dc_spec(settings, doc, dc))
            for dc in doc["dcs"]
        ),
    )
    dc = live_dc_spec(settings, doc)
    try:
        samba.delete_trust(dc, remote_domain)  # this side is made anew, as the admin says now
        samba.create_trust(
            dc, remote_domain, trust_type, _DIRECTIONS[direction], password, forwarders[0]
        )
    except samba.SambaError as exc:
        raise click.ClickException(exc.detail) from exc
    problem = samba.validate_trust(dc, remote_domain)
    click.echo(f"trust of {name} with {remote_domain} made ({trust_type}, {direction})")
    click.echo("validated" if problem is None else f"not validated yet: {problem}")


@onprem_group.command("ca-certificate")
@click.option("--name", required=True, help="The forest's DNS name.")
@click.pass_obj
def ca_certificate(region: str, name: str) -> None:
    """Print the certificate of the forest's CA (for an AD Connector's client LDAPS)."""
    doc = _forest(Store(Settings.from_env().state_db), region, name)
    if "authority" not in doc:
        raise click.ClickException(f"{name} has no certificate authority yet")
    click.echo(doc["authority"]["certificate"], nl=False)


@onprem_group.command("delete")
@click.option("--name", required=True, help="The forest's DNS name.")
@click.pass_obj
def delete(region: str, name: str) -> None:
    """Remove the forest, its network and its link."""
    api, settings = _api(region), Settings.from_env()
    store = Store(settings.state_db)
    doc = _forest(store, region, name)
    directory_id, vpc_id = doc["aws"]["DirectoryId"], doc["aws"]["VpcSettings"]["VpcId"]
    api.call("ds", "delete_directory", DirectoryId=directory_id)
    _wait(
        f"{name} to go",
        lambda: store.get(Kind.DIRECTORY, ONPREM_ACCOUNT, region, directory_id) is None,
    )
    peerings = api.call(
        "ec2", "describe_vpc_peering_connections",
        Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": [vpc_id]}],
    )["VpcPeeringConnections"]  # fmt: skip
    for peering in peerings:
        if peering["Status"]["Code"] not in ("deleted", "rejected"):
            api.call("ec2", "delete_vpc_peering_connection",
                     VpcPeeringConnectionId=peering["VpcPeeringConnectionId"])  # fmt: skip
    mine = [{"Name": "vpc-id", "Values": [vpc_id]}]
    for subnet in api.call("ec2", "describe_subnets", Filters=mine)["Subnets"]:
        api.call("ec2", "delete_subnet", SubnetId=subnet["SubnetId"])
    api.call("ec2", "delete_vpc", VpcId=vpc_id)
    click.echo(f"{name} deleted")
