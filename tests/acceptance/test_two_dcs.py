"""Every directory has two real domain controllers that replicate, and survives losing one.

The first tests only read the shared directory (Standard edition: single-process DCs).
The failover test makes its own directory, of the API's default Enterprise edition, so
its DCs run Samba's prefork model; it freezes every process of one DC with SIGSTOP, so
the supervisor does not just restart it and the DC looks exactly like a hung host: its
ports accept, nothing answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.acceptance.conftest import DOMAIN, new_password
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def dig(server: str, name: str, rtype: str) -> str:
    return subprocess.run(
        # A DNS client retries over UDP: a single-process DC busy for a moment is no fault.
        ["dig", "+short", "+time=2", "+tries=3", f"@{server}", "-t", rtype, name],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout


def test_both_dcs_serve_and_list_each_other(stack: StackHandle, directory: dict[str, Any]) -> None:
    dcs = stack.client("ds").describe_domain_controllers(DirectoryId=directory["DirectoryId"])[
        "DomainControllers"
    ]
    assert [d["Status"] for d in dcs] == ["Active", "Active"]
    assert len({d["AvailabilityZone"] for d in dcs}) == 2
    assert sorted(d["DnsIpAddr"] for d in dcs) == sorted(directory["DnsIpAddrs"])
    # Asked at their machine addresses, each DC's DNS answers with VPC addresses: the
    # names a client in the VPC looks up.
    for server in stack.kdcs(directory):
        for port in (88, 389, 464):
            with socket.create_connection((server, port), timeout=5):
                pass
        kdcs = dig(server, f"_kerberos._tcp.{DOMAIN}", "SRV")
        ldaps = dig(server, f"_ldap._tcp.dc._msdcs.{DOMAIN}", "SRV")
        apex = dig(server, DOMAIN, "A")
        for other in directory["DnsIpAddrs"]:
            host = dig(server, _host_of(server, other, kdcs), "A")
            assert other in host, (server, other, kdcs)
            assert other in apex, apex
        assert kdcs.count(" 88 ") == 2 and ldaps.count(" 389 ") == 2, (kdcs, ldaps)


def _host_of(server: str, address: str, srv: str) -> str:
    """The SRV target whose A record (asked of ``server``) is ``address``."""
    for line in srv.splitlines():
        target = line.split()[-1]
        if address in dig(server, target, "A"):
            return target
    raise AssertionError(f"no SRV target for {address} in {srv!r}")


def _process_pid(stack: StackHandle, name: str) -> int:
    from pgrealm.store import Store

    doc = Store(stack.home / "state.db").get("process", "", "", name)
    assert doc is not None and doc.get("pid"), name
    return int(doc["pid"])


def _on_dc(stack: StackHandle, directory_id: str, dc: str, user: str) -> bool:
    """Whether ``user`` is in that DC's own database (read locally, not over the network)."""
    from pgrealm.engines import samba

    domain = samba.DomainSpec(dns_name="two.example.com", netbios="TWO")
    home = stack.home / "directories" / directory_id / dc
    spec = samba.DcSpec(domain=domain, hostname="X", address="127.0.0.1", home=home)
    try:
        samba.get_user(spec, user)
    except samba.NoSuchObjectError:
        return False
    return True


def test_directory_survives_a_frozen_dc(stack: StackHandle, tmp_path: Path) -> None:
    ds, data = stack.client("ds"), stack.client("ds-data")
    subnets = stack.client("ec2").describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    started = time.monotonic()
    did = ds.create_microsoft_ad(
        Name="two.example.com",
        ShortName="TWO",
        Password=new_password(),
        VpcSettings={
            "VpcId": subnets[0]["VpcId"],
            "SubnetIds": [subnets[-2]["SubnetId"], subnets[-1]["SubnetId"]],
        },
    )["DirectoryId"]

    def describe() -> dict[str, Any]:
        d: dict[str, Any] = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]
        assert d["Stage"] != "Failed", d.get("StageReason")
        return d

    desc = stack.wait("the directory to be Active", lambda: describe()["Stage"] == "Active", 300)
    print(f"two-DC directory Active after {time.monotonic() - started:.1f}s")
    desc = describe()
    ds.enable_directory_data_access(DirectoryId=did)
    dc1_pid = _process_pid(stack, f"{did}/dc1")
    conf = tmp_path / "krb5.conf"
    conf.write_text(render_krb5_conf("TWO.EXAMPLE.COM", stack.kdcs(desc)))
    env = {
        "KRB5_CONFIG": str(conf),
        "KRB5CCNAME": f"FILE:{tmp_path}/cc",
        "PATH": os.environ["PATH"],
    }
    try:
        os.killpg(dc1_pid, signal.SIGSTOP)
        stack.wait("Impaired", lambda: describe()["Stage"] == "Impaired", 30)
        dc_id = ds.describe_domain_controllers(DirectoryId=did)["DomainControllers"][0]
        assert dc_id["Status"] == "Impaired" and dc_id["StatusReason"]
        assert dc_id["DomainControllerId"] in describe()["StageReason"]
        # Writes go to dc2 while dc1 is frozen, and clients find dc2's KDC.
        data.create_user(DirectoryId=did, SAMAccountName="failover")
        password = new_password()
        ds.reset_user_password(DirectoryId=did, UserName="failover", NewPassword=password)
        done = subprocess.run(
            ["kinit", "failover@TWO.EXAMPLE.COM"],
            input=password + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    finally:
        os.killpg(dc1_pid, signal.SIGCONT)
    stack.wait("the user on dc1", lambda: _on_dc(stack, did, "dc1", "failover"), 30)
    stack.wait("Active again", lambda: describe()["Stage"] == "Active", 30)
    # And the other way: a write on dc1 shows on dc2 within seconds.
    data.create_user(DirectoryId=did, SAMAccountName="afterwards")
    stack.wait("the user on dc2", lambda: _on_dc(stack, did, "dc2", "afterwards"), 30)
    _writes_read_back_after_a_dc_crash(stack, did)
    ds.delete_directory(DirectoryId=did)


def _writes_read_back_after_a_dc_crash(stack: StackHandle, did: str) -> None:
    """A regression (issue 14): once the supervisor had brought a SIGKILLed DC back,
    reset-user-password right after create-user answered UserDoesNotExistException, the
    two calls having reached different DCs before replication caught up."""
    ds, data = stack.client("ds"), stack.client("ds-data")
    for dc in ("dc1", "dc2"):
        killed = _process_pid(stack, f"{did}/{dc}")
        os.killpg(killed, signal.SIGKILL)
        process = f"{did}/{dc}"
        stack.wait(
            f"{dc} to be restarted",
            lambda process=process, killed=killed: _restarted(stack, process, killed),
            30,
        )
        for n in range(3):  # the seed's sequence, at once, with no wait in between
            name = f"dave{dc}{n}"
            data.create_user(DirectoryId=did, SAMAccountName=name)
            ds.reset_user_password(DirectoryId=did, UserName=name, NewPassword=new_password())
            shown = data.describe_user(DirectoryId=did, SAMAccountName=name)
            assert shown["Enabled"], shown


def _restarted(stack: StackHandle, name: str, killed: int) -> bool:
    from pgrealm.store import Store

    doc = Store(stack.home / "state.db").get("process", "", "", name)
    pid = int(doc["pid"]) if doc and doc.get("pid") else 0
    return pid not in (0, killed) and Path(f"/proc/{pid}").exists()
