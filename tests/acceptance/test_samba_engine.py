"""Acceptance: the Samba engine against a real Samba AD DC on a private 127.x address.

One module-scoped DC: provisioned into a pytest tmp home, started in its own session
next to Debian's smbd (started here if nothing holds 445, to prove coexistence), and
stopped with SIGTERM to its process group in a finally. Every client tool runs with an
environment built from scratch (KRB5_CONFIG, KRB5CCNAME) and names the KDC by address,
so nothing consults /etc/krb5.conf or the system resolver.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pgrealm.engines import _exec
from pgrealm.engines import samba as S
from pgrealm.engines.samba.keytab import parse_keytab
from tests.fixtures.addresses import random_top_address

log = logging.getLogger(__name__)

pytestmark = pytest.mark.acceptance

MULT = float(os.environ.get("PGREALM_TEST_TIMEOUT_MULT", "1"))
SAMBA_MISSING = not (Path(S.dc.SAMBA).exists() and Path("/usr/bin/samba-tool").exists())
if os.geteuid() != 0:
    pytest.skip("Samba AD DC needs root", allow_module_level=True)
if SAMBA_MISSING:
    pytest.skip("samba (AD DC) is not installed", allow_module_level=True)
for tool_name in ("kinit", "klist", "kvno"):
    if shutil.which(tool_name) is None:
        pytest.skip(f"{tool_name} (krb5-user) is not installed", allow_module_level=True)

DOMAIN = S.DomainSpec("corp.example.com", "CORP")
REALM = DOMAIN.realm
SPN = "postgres/db1.test.internal"
ALICE_PW = "Wonderland-" + secrets.token_hex(4) + "!A"


@dataclass
class RunningDc:
    dc: S.DcSpec
    proc: subprocess.Popen[bytes]
    admin_password: str
    provision_s: float
    ready_s: float


def _free_address() -> str:
    """An address of the test block's top on which nothing listens on 88 yet (free, like a
    free port)."""
    for _ in range(50):
        addr = random_top_address()
        with socket.socket() as s:
            try:
                s.bind((addr, 88))
                return addr
            except OSError:
                continue
    raise RuntimeError("no free address at the top of the test block")


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def debian_smbd() -> Iterator[None]:
    """Debian's stock smbd on 0.0.0.0:445/139 while our DC runs (if not already there)."""
    if _port_in_use(445) or not Path("/usr/sbin/smbd").exists():
        yield
        return
    _exec.run(["/usr/sbin/smbd", "-D"], timeout=30)
    try:
        yield
    finally:
        pidfile = Path("/run/samba/smbd.pid")
        if pidfile.exists():
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGTERM)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, debian_smbd: None) -> Iterator[RunningDc]:
    home = tmp_path_factory.mktemp("dc")
    dc = S.DcSpec(DOMAIN, "DC1-" + secrets.token_hex(4).upper(), _free_address(), home)
    admin_password = "Adm1n-" + secrets.token_urlsafe(12)
    t0 = time.monotonic()
    S.provision_dc(dc, admin_password)
    provision_s = time.monotonic() - t0
    assert S.is_provisioned(dc)
    S.provision_dc(dc, admin_password)  # a finished home is left alone

    t1 = time.monotonic()
    out = (home / "log").joinpath("stdout").open("wb")
    proc = subprocess.Popen(
        S.dc_argv(dc),
        env=S.dc_env(dc),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60 * MULT
        while not S.dc_ready(dc):
            assert proc.poll() is None, f"samba exited {proc.returncode}; see {home}/log"
            assert time.monotonic() < deadline, f"DC not ready in time; see {home}/log"
            time.sleep(0.05)
        ready_s = time.monotonic() - t1
        log.warning("provision %.1fs, start-to-ready %.1fs", provision_s, ready_s)
        yield RunningDc(dc, proc, admin_password, provision_s, ready_s)
    finally:
        _stop(proc)
        out.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20 * MULT)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _krb_env(dc: S.DcSpec, tmp: Path) -> dict[str, str]:
    conf = tmp / "krb5.conf"
    conf.write_text(S.render_krb5_conf([dc.address], REALM))
    return {
        "PATH": "/usr/bin:/bin:/usr/sbin",
        "KRB5_CONFIG": str(conf),
        "KRB5CCNAME": f"FILE:{tmp / 'ccache'}",
        "LANG": "C.UTF-8",
    }


def _kinit(env: dict[str, str], principal: str, password: str) -> None:
    _exec.run(["kinit", principal], env=env, input=password + "\n", timeout=30 * MULT)


def _tree_pids(root: int) -> list[int]:
    pids, queue = [root], [root]
    while queue:
        pid = queue.pop()
        for task in Path(f"/proc/{pid}/task").glob("*"):
            kids = [int(c) for c in (task / "children").read_text().split()]
            pids += kids
            queue += kids
    return pids


def _pss_kb(root: int) -> int:
    total = 0
    for pid in _tree_pids(root):
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        total += int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    return total


def test_dns_has_dc_records(running: RunningDc) -> None:
    dig = shutil.which("dig")
    if dig is None:
        pytest.skip("dig is not installed")
    dc = running.dc
    for name in (
        "_kerberos._tcp",
        "_kerberos._udp",
        "_kpasswd._tcp",
        "_kpasswd._udp",
        "_ldap._tcp",
        "_ldap._tcp.dc._msdcs",
    ):
        srv = _exec.run(
            [dig, "+short", f"@{dc.address}", "-t", "SRV", f"{name}.{DOMAIN.dns_name}"]
        ).stdout
        assert dc.fqdn + "." in srv.lower(), name
    a = _exec.run([dig, "+short", f"@{dc.address}", dc.fqdn]).stdout.split()
    assert a == [dc.address]


def test_binds_only_its_address(running: RunningDc) -> None:
    pids = set(_tree_pids(running.proc.pid))
    listening = _exec.run(["ss", "-H", "-ltnup"]).stdout.splitlines()
    ours = [line for line in listening if any(f"pid={p}," in line for p in pids)]
    assert ours, "DC listens nowhere?"
    for line in ours:
        local = line.split()[4]
        assert local.rsplit(":", 1)[0] == running.dc.address, line
    ports = {int(line.split()[4].rsplit(":", 1)[1]) for line in ours}
    assert {53, 88, 389, 464}.issubset(ports) and 445 not in ports


def test_layout_and_admin(running: RunningDc, tmp_path: Path) -> None:
    dc = running.dc
    admin = S.get_user(dc, "Admin")
    assert admin["distinguishedName"] == f"CN=Admin,{DOMAIN.users_ou_dn}"
    assert admin["enabled"]
    # As in AWS Managed AD: delegated rights on the OU, not a Domain Admin.
    assert any(g.startswith("CN=AWS Delegated Administrators,") for g in admin["memberOf"])
    assert not any(g.startswith("CN=Domain Admins,") for g in admin["memberOf"])
    env = _krb_env(dc, tmp_path)
    _kinit(env, f"Admin@{REALM}", running.admin_password)
    with pytest.raises(S.NoSuchObjectError):
        S.get_user(dc, "nobody-here")


def test_user_kinit_service_keytab_kvno(running: RunningDc, tmp_path: Path) -> None:
    dc = running.dc
    user = S.create_user(
        dc,
        "alice",
        given_name="Alice",
        surname="Liddell",
        email="alice@example.com",
        extra={"description": "test user"},
    )
    assert user["distinguishedName"] == f"CN=alice,{DOMAIN.users_ou_dn}"
    assert user["objectSid"].startswith("S-1-5-21-")
    assert user["userPrincipalName"] == f"alice@{REALM}"
    assert not user["enabled"]  # no password yet: AD keeps it disabled
    S.set_password(dc, "alice", ALICE_PW)
    S.set_enabled(dc, "alice", True)
    assert S.get_user(dc, "alice")["enabled"]
    with pytest.raises(S.AlreadyExistsError):
        S.create_user(dc, "alice")

    env = _krb_env(dc, tmp_path)
    _kinit(env, f"alice@{REALM}", ALICE_PW)
    assert f"alice@{REALM}" in _exec.run(["klist"], env=env).stdout

    S.ensure_service_account(dc, "PGDB1", SPN)
    S.ensure_service_account(dc, "PGDB1", SPN)  # idempotent
    with pytest.raises(S.AlreadyExistsError):
        S.ensure_service_account(dc, "PGDB2", SPN)
    keytab = tmp_path / "kt" / "db1.keytab"
    S.export_keytab(dc, SPN, keytab, owner_uid=0, owner_gid=0)
    assert keytab.stat().st_mode & 0o777 == 0o600
    listing = _exec.run(["klist", "-k", "-e", str(keytab)], env=env).stdout
    enctypes = re.findall(r"\(([^)]+)\)", listing)
    assert enctypes and all(e.startswith("aes") for e in enctypes), listing
    assert {e.principal for e in parse_keytab(keytab.read_bytes())} == {f"{SPN}@{REALM}"}

    # alice's TGT gets a service ticket, and the exported keys decrypt it.
    out = _exec.run(["kvno", "-k", str(keytab), f"{SPN}@{REALM}"], env=env).stdout
    assert "keytab entry valid" in out
    etypes = _exec.run(["klist", "-e"], env=env).stdout
    assert "rc4" not in etypes.split(SPN, 1)[1].splitlines()[1]


def test_password_policy_is_mapped(running: RunningDc) -> None:
    S.create_user(running.dc, "bob", enabled=False)
    with pytest.raises(S.PasswordPolicyError) as err:
        S.set_password(running.dc, "bob", "short")
    assert "short" not in str(err.value).split(":", 1)[0]
    with pytest.raises(S.PasswordPolicyError):
        S.set_password(running.dc, "bob", "alllowercaseletters")
    with pytest.raises(S.PasswordPolicyError):
        S.create_user(running.dc, "carol", password="x")
    with pytest.raises(S.NoSuchObjectError):
        S.get_user(running.dc, "carol")  # the failed create left nothing behind


def test_list_update_delete(running: RunningDc) -> None:
    dc = running.dc
    S.create_user(dc, "dave", password="Dave-" + secrets.token_hex(6), surname="Bowman")
    names = [u["sAMAccountName"] for u in S.list_users(dc)]
    assert "dave" in names and "Admin" in names and "PGDB1$" not in names
    assert S.update_user(dc, "dave", {"mail": "dave@example.com", "sn": None})["mail"] == (
        "dave@example.com"
    )
    assert "sn" not in S.get_user(dc, "dave")
    S.delete_user(dc, "dave")
    with pytest.raises(S.NoSuchObjectError):
        S.delete_user(dc, "dave")


def test_footprint(running: RunningDc, tmp_path: Path) -> None:
    """Memory is bounded here; times are only logged (bench/ measures them)."""
    pss_mb = _pss_kb(running.proc.pid) / 1024
    env = _krb_env(running.dc, tmp_path)
    t = time.monotonic()
    for _ in range(10):
        _kinit(env, f"Admin@{REALM}", running.admin_password)
    kinit_ms = (time.monotonic() - t) * 100
    log.warning(
        "DC PSS %.0f MB, kinit %.0f ms, provision %.1fs, ready %.1fs",
        pss_mb,
        kinit_ms,
        running.provision_s,
        running.ready_s,
    )
    assert pss_mb < 90
