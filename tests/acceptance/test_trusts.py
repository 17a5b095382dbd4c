"""The guide's optional step: a trust with an on-premises AD, and a login to the DB
instance by a user who exists only there.

``pgrealm onprem`` makes a self-managed Samba forest (onprem.example.com) in a network of
its own, linked to the directory's VPC by a peering the user accepts and routes, as a
VPN would be. bob exists only in that forest. The directory's side of each trust is made
with ``aws ds create-trust``, the forest's with ``pgrealm onprem trust`` (samba-tool on
its DC, as its admin would). The master user creates "bob@ONPREM.EXAMPLE.COM" with
rds_ad; bob kinits in his own realm and logs in to the instance with GSSAPI, through a
cross-realm ticket from the directory's KDC: over a two-way forest trust, then over a
one-way trust (the directory trusts the forest, the forest is trusted: AWS's "One-Way:
Outgoing" on the directory's side).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgrealm.cli.onprem import ONPREM_ACCOUNT
from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.config import Settings
from pgrealm.engines import samba
from pgrealm.gateways.directory import dc_spec
from pgrealm.store import Store
from pgrealm.store.kinds import Kind
from tests.acceptance.conftest import REALM, joined_instance, new_password
from tests.acceptance.test_ds_ldaps import _register, _settled_ldaps
from tests.acceptance.test_seed_flow import kinit, psql
from tests.acceptance.test_vpc_network import _route
from tests.fixtures.stack import ROOT, StackHandle

pytestmark = pytest.mark.acceptance

ONPREM = "onprem.example.com"
BOB = f"bob@{ONPREM.upper()}"


def _onprem(stack: StackHandle, args: list[str], secret: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pgrealm", "onprem", *args],
        input=secret + "\n", env=stack.env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def _trust(stack: StackHandle, trust_id: str) -> dict[str, Any]:
    found = stack.aws("ds", "describe-trusts", "--trust-ids", trust_id)["Trusts"]
    return dict(found[0])


def _settled(stack: StackHandle, trust_id: str) -> dict[str, Any]:
    def done() -> Any:
        trust = _trust(stack, trust_id)
        assert trust["TrustState"] != "Failed", trust.get("TrustStateReason")
        return trust if trust["TrustState"] in ("Verified", "VerifyFailed") else None

    return dict(stack.wait(f"trust {trust_id} to settle", done, timeout=300))


@pytest.fixture(scope="module")
def forest(stack: StackHandle, directory: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The on-premises forest with bob, linked to the directory's VPC; the user's side of
    the link (accept, route, let the forest reach the directory's DCs) done as on AWS."""
    vpc_a = directory["VpcSettings"]["VpcId"]
    made = _onprem(
        stack,
        ["create", "--name", ONPREM, "--short-name", "ONPREM", "--peer-vpc-id", vpc_a,
         "--output", "json"],
        new_password(),
    )  # fmt: skip
    shown = json.loads(made.stdout)
    ec2 = stack.client("ec2")
    pcx = shown["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    _route(stack, vpc_a, shown["CidrBlock"], pcx)
    ec2.authorize_security_group_ingress(
        GroupId=directory["VpcSettings"]["SecurityGroupId"],
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": shown["CidrBlock"]}]}],
    )
    shown["bob_password"] = new_password()
    _onprem(stack, ["users", "add", "--name", ONPREM, "--user", "bob"], shown["bob_password"])
    yield shown
    _onprem(stack, ["delete", "--name", ONPREM], "")
    _dcs_settled(stack, directory["DirectoryId"])


def _dcs_settled(stack: StackHandle, directory_id: str) -> None:
    """After a change of the DCs' configuration (the last trust gone, a log subscription
    ended), they restart one at a time: wait until both serve it and describe-domain-
    controllers says Active, so the modules after this one find a settled directory."""
    settings = Settings.from_env(stack.env)
    store = Store(settings.state_db)

    def settled() -> bool:
        doc = store.get(Kind.DIRECTORY, stack.account, "us-east-1", directory_id)
        assert doc is not None
        specs = [dc_spec(settings, doc, dc) for dc in doc["dcs"]]
        serving = all(samba.config_current(s) and samba.dc_ready(s) for s in specs)
        # ... and the health check has seen it: describe-domain-controllers says Active.
        shown = stack.client("ds").describe_domain_controllers(DirectoryId=directory_id)
        return serving and all(d["Status"] == "Active" for d in shown["DomainControllers"])

    stack.wait("the directory's DCs to run without trusts", settled, timeout=120)


@pytest.fixture(scope="module")
def endpoint(stack: StackHandle, directory: dict[str, Any], rds_role: str) -> Iterator[str]:
    """An instance joined to the directory, where bob@ONPREM has a role in rds_ad."""
    address, master = joined_instance(stack, directory, rds_role, "trustdb")
    made = psql(
        {"PATH": "/usr/bin:/bin", "PGPASSWORD": master},
        f"host={address} port=5432 dbname=postgres user=master",
        f'CREATE USER "{BOB}" WITH LOGIN; GRANT rds_ad TO "{BOB}";',
    )
    assert made.returncode == 0, made.stderr
    yield address
    stack.client("rds").delete_db_instance(DBInstanceIdentifier="trustdb", SkipFinalSnapshot=True)


def _both_sides(
    stack: StackHandle, directory: dict[str, Any], forest: dict[str, Any], aws: str, onprem: str
) -> str:
    """A trust made on both sides (``aws``: the directory's TrustDirection, ``onprem``:
    the forest's), verified; its id."""
    secret = new_password()
    trust_id = stack.aws("ds", "create-trust", inputs={
        "DirectoryId": directory["DirectoryId"], "RemoteDomainName": ONPREM,
        "TrustPassword": secret, "TrustDirection": aws, "TrustType": "Forest",
        "ConditionalForwarderIpAddrs": forest["DnsIpAddrs"],
    })["TrustId"]  # fmt: skip
    # Made on the directory's side; it cannot verify before the other side exists.
    made = _settled(stack, trust_id)
    assert (made["RemoteDomainName"], made["TrustDirection"]) == (ONPREM, aws)
    forwarders = [
        a for ip in directory["DnsIpAddrs"] for a in ("--conditional-forwarder-ip-addrs", ip)
    ]
    _onprem(
        stack,
        ["trust", "--name", ONPREM, "--remote-domain", directory["Name"], "--direction",
         onprem, "--type", "forest", *forwarders],
        secret,
    )  # fmt: skip
    stack.aws("ds", "verify-trust", "--trust-id", trust_id)
    verified = _settled(stack, trust_id)
    assert verified["TrustState"] == "Verified", verified.get("TrustStateReason")
    return str(trust_id)


def _bob_logs_in(
    stack: StackHandle, directory: dict[str, Any], forest: dict[str, Any], endpoint: str, tmp: Path
) -> None:
    """kinit in his own realm, then psql to the instance with GSSAPI."""
    login = _bob_login(stack, directory, forest, endpoint, tmp)
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"{BOB}|t"


def _bob_login(
    stack: StackHandle, directory: dict[str, Any], forest: dict[str, Any], endpoint: str, tmp: Path
) -> subprocess.CompletedProcess[str]:
    """bob's kinit in his own realm (which must work), then his psql to the instance."""
    found = stack.client("ds", ONPREM_ACCOUNT).describe_directories()["DirectoryDescriptions"]
    onprem_dcs = stack.kdcs(next(d for d in found if d["Name"] == ONPREM), account=ONPREM_ACCOUNT)
    conf = tmp / "krb5.conf"
    conf.write_text(
        render_krb5_conf(REALM, stack.kdcs(directory), [endpoint], {ONPREM: onprem_dcs})
    )
    env = {"KRB5_CONFIG": str(conf), "KRB5CCNAME": f"FILE:{tmp}/cc", "PATH": "/usr/bin:/bin"}
    got = kinit(env, BOB, forest["bob_password"])
    assert got.returncode == 0, got.stderr
    return psql(
        env,
        f"host={endpoint} port=5432 dbname=postgres user={BOB}",
        "SELECT current_user, gss_authenticated FROM pg_stat_gssapi WHERE pid = pg_backend_pid()",
    )


def _delete(stack: StackHandle, directory: dict[str, Any], trust_id: str) -> None:
    stack.aws("ds", "delete-trust", "--trust-id", trust_id,
              "--delete-associated-conditional-forwarder")  # fmt: skip

    def gone() -> bool:
        trusts = stack.aws("ds", "describe-trusts", "--directory-id", directory["DirectoryId"])
        return not trusts["Trusts"]

    stack.wait("the trust to be deleted", gone, timeout=120)


@pytest.mark.parametrize(
    ("directory_side", "forest_side"),
    [("Two-Way", "two-way"), ("One-Way: Outgoing", "incoming")],
)
def test_a_user_of_a_trusted_forest_logs_in(
    stack: StackHandle,
    directory: dict[str, Any],
    forest: dict[str, Any],
    endpoint: str,
    tmp_path: Path,
    directory_side: str,
    forest_side: str,
) -> None:
    """Two-way, and one-way with the directory trusting the forest (the forest's side
    "incoming"): either way bob's login works."""
    trust_id = _both_sides(stack, directory, forest, directory_side, forest_side)
    forwarders = stack.aws(
        "ds", "describe-conditional-forwarders", "--directory-id", directory["DirectoryId"]
    )["ConditionalForwarders"]
    assert [f["DnsIpAddrs"] for f in forwarders] == [forest["DnsIpAddrs"]]
    _bob_logs_in(stack, directory, forest, endpoint, tmp_path)
    _delete(stack, directory, trust_id)


# Marks the trust's TDO in a DC's sam.ldb for selective authentication, as samba-tool
# domain trust create --cross-organisation would (run by Debian's python3, for Samba's
# bindings): argv is smb.conf, sam.ldb, the other forest's name, on|off.
_MARK_SELECTIVE = """
import sys, ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
lp = LoadParm()
lp.load(sys.argv[1])
db = SamDB(url=sys.argv[2], lp=lp, session_info=system_session())
[tdo] = db.search(base=db.domain_dn(), attrs=["trustAttributes"],
                  expression="(&(objectClass=trustedDomain)(trustPartner=%s))" % sys.argv[3])
m = ldb.Message(tdo.dn)
flags = int(tdo["trustAttributes"][0])
flags = flags | 0x10 if sys.argv[4] == "on" else flags & ~0x10
m["trustAttributes"] = ldb.MessageElement(str(flags), ldb.FLAG_MOD_REPLACE, "trustAttributes")
db.modify(m)
"""


def test_samba_refuses_every_ticket_across_a_selective_trust(
    stack: StackHandle,
    directory: dict[str, Any],
    forest: dict[str, Any],
    endpoint: str,
    tmp_path: Path,
) -> None:
    """Why update-trust refuses SelectiveAuth: with the directory's side of a verified
    trust marked for selective authentication, Samba 4.17's KDC gives bob no ticket to
    the instance at all ("The ticket isn't for us"), so nobody could be let in."""
    trust_id = _both_sides(stack, directory, forest, "Two-Way", "two-way")
    try:
        refused = stack.aws("ds", "update-trust", "--trust-id", trust_id,
                            "--selective-auth", "Enabled", check=False)  # fmt: skip
        assert "(ClientException)" in refused.stderr, refused.stderr
        _mark_selective(stack, directory, "on")
        login = _bob_login(stack, directory, forest, endpoint, tmp_path)
        assert login.returncode != 0 and "The ticket isn't for us" in login.stderr, login
    finally:
        _mark_selective(stack, directory, "off")  # the trust goes as it came
        _delete(stack, directory, trust_id)


def _mark_selective(stack: StackHandle, directory: dict[str, Any], how: str) -> None:
    settings = Settings.from_env(stack.env)
    doc = Store(settings.state_db).get(
        Kind.DIRECTORY, stack.account, "us-east-1", directory["DirectoryId"]
    )
    assert doc is not None
    for dc in doc["dcs"]:
        spec = dc_spec(settings, doc, dc)
        marked = subprocess.run(
            ["/usr/bin/python3", "-c", _MARK_SELECTIVE, str(spec.paths.smb_conf),
             str(spec.paths.private / "sam.ldb"), ONPREM, how],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert marked.returncode == 0, marked.stderr


def test_an_ad_connector_checks_its_service_account(
    stack: StackHandle,
    directory: dict[str, Any],
    forest: dict[str, Any],
    rds_role: str,
    tmp_path: Path,
) -> None:
    """connect-directory to the forest, from the directory's VPC: Active when bob's
    password binds over LDAP, Failed with the reason when it does not. With the forest's
    CA registered, client LDAPS is Enabled: the forest's DCs chain to it."""
    settings = {
        "VpcId": directory["VpcSettings"]["VpcId"],
        "SubnetIds": directory["VpcSettings"]["SubnetIds"],
        "CustomerDnsIps": forest["DnsIpAddrs"],
        "CustomerUserName": "bob",
    }
    ids = {}
    for label, password in (("good", forest["bob_password"]), ("bad", new_password())):
        ids[label] = stack.aws(
            "ds", "connect-directory", "--name", ONPREM, "--short-name", "ONPREM",
            "--size", "Small", "--connect-settings", json.dumps(settings),
            inputs={"Password": password},
        )["DirectoryId"]  # fmt: skip

    def stage(label: str) -> dict[str, Any]:
        return dict(
            stack.aws("ds", "describe-directories", "--directory-ids", ids[label])[
                "DirectoryDescriptions"
            ][0]
        )

    good = stack.wait("the connector", lambda: (d := stage("good"))["Stage"] == "Active" and d)
    assert good["Type"] == "ADConnector" and good["DnsIpAddrs"] == forest["DnsIpAddrs"]
    assert good["ConnectSettings"]["CustomerUserName"] == "bob"
    assert len(good["ConnectSettings"]["ConnectIps"]) == 2
    bad = stack.wait("the refusal", lambda: (d := stage("bad"))["Stage"] == "Failed" and d)
    assert bad["StageReason"].startswith("Invalid credentials"), bad["StageReason"]
    refused = stack.aws(
        "rds", "create-db-instance", "--db-instance-identifier", "connectordb",
        "--db-instance-class", "db.t3.micro", "--engine", "postgres",
        "--master-username", "master", "--domain", ids["good"],
        "--domain-iam-role-name", rds_role, check=False,
        inputs={"MasterUserPassword": new_password()},
    )  # fmt: skip
    assert "(InvalidParameterCombination)" in refused.stderr and "AD Connector" in refused.stderr

    ca = _onprem(stack, ["ca-certificate", "--name", ONPREM], "").stdout
    (tmp_path / "onprem-ca.pem").write_text(ca)
    _register(stack, ids["good"], tmp_path / "onprem-ca.pem")
    stack.aws("ds", "enable-ldaps", "--directory-id", ids["good"], "--type", "Client")
    ldaps = _settled_ldaps(stack, ids["good"])
    assert ldaps["LDAPSStatus"] == "Enabled", ldaps
    for directory_id in ids.values():
        stack.aws("ds", "delete-directory", "--directory-id", directory_id)

    def gone() -> bool:
        left = stack.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
        return not [i for i in left if any(d in (i.get("Description") or "") for d in ids.values())]

    stack.wait("the connectors' interfaces to go", gone, timeout=120)
