"""Admin's rights as AWS Managed AD sets them up, exercised over LDAP like a real AD tool.

Admin (password set through ds ResetUserPassword, passed to Samba's tools in the
PASSWD environment variable, never argv) manages OU=CORP: users, passwords (over a
sealed LDAP connection), OUs, delegation, DNS records, and restores a deleted user from
the tombstone; a write to the domain root is refused. Uses the shared directory.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pgrealm.client.krb5conf import render_krb5_conf
from tests.acceptance.conftest import REALM, new_password
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

BASE = "DC=corp,DC=example,DC=com"
HOME = f"OU=CORP,{BASE}"


class Ldap:
    """Samba's ldb tools bound as CORP\\Admin to one DC, password in the environment."""

    def __init__(self, address: str, password: str, tmp: Path) -> None:
        conf = tmp / "krb5.conf"
        conf.write_text(render_krb5_conf(REALM, [address]))
        self.url = f"ldap://{address}"
        self.address = address
        self.env = {
            "PATH": os.environ["PATH"],
            "KRB5_CONFIG": str(conf),
            "KRB5CCNAME": f"FILE:{tmp}/ccache",
            "PASSWD": password,
            "HOME": str(tmp),
        }

    def run(self, argv: list[str], ldif: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, input=ldif, env=self.env, capture_output=True, text=True, timeout=60
        )

    def tool(
        self, name: str, *args: str, ldif: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run([name, "-H", self.url, "-U", "CORP\\Admin", *args], ldif)

    def ok(self, name: str, *args: str, ldif: str | None = None) -> str:
        done = self.tool(name, *args, ldif=ldif)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def admin(
    stack: StackHandle, directory: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Ldap:
    password = new_password()
    stack.client("ds").reset_user_password(
        DirectoryId=directory["DirectoryId"], UserName="Admin", NewPassword=password
    )
    return Ldap(stack.kdcs(directory)[0], password, tmp_path_factory.mktemp("admin"))


def test_admin_is_delegated_not_domain_admin(admin: Ldap) -> None:
    out = admin.ok("ldbsearch", "-b", BASE, "(sAMAccountName=Admin)", "memberOf")
    assert "CN=AWS Delegated Administrators," in out
    assert "Domain Admins" not in out and "CN=Administrators," not in out


def test_admin_manages_its_ou(admin: Ldap) -> None:
    name = f"lu-{secrets.token_hex(3)}"
    user_dn = f"CN={name},OU=Users,{HOME}"
    admin.ok("ldbadd", ldif=f"dn: {user_dn}\nobjectClass: user\nsAMAccountName: {name}\n")
    # unicodePwd is only accepted over an encrypted connection: this one is sealed.
    pw = base64.b64encode(f'"{new_password()}"'.encode("utf-16-le")).decode()
    admin.ok(
        "ldbmodify",
        ldif=f"dn: {user_dn}\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: {pw}\n",
    )
    ou = f"OU=lo-{name},{HOME}"
    admin.ok("ldbadd", ldif=f"dn: {ou}\nobjectClass: organizationalUnit\n")
    # delegation: Admin rewrites the DACL of its new OU (sd_flags: DACL only)
    admin.ok(
        "ldbmodify", "--controls=sd_flags:1:4",
        ldif=f"dn: {ou}\nchangetype: modify\nreplace: nTSecurityDescriptor\n"
        "nTSecurityDescriptor: D:(A;CI;RPWP;;;AU)\n",
    )  # fmt: skip
    sd = admin.ok(
        "ldbsearch", "--controls=sd_flags:1:4", "-s", "base", "-b", ou, "nTSecurityDescriptor"
    )
    assert "(A;CI;RPWP;;;AU)" in sd
    # DNS records of the domain (DnsAdmins through AWS Delegated DNS Administrators)
    dns = admin.run(
        ["samba-tool", "dns", "add", admin.address, "corp.example.com", name, "A",
         "127.0.0.9", "-U", "CORP\\Admin"]
    )  # fmt: skip
    assert dns.returncode == 0, dns.stdout + dns.stderr
    admin.ok("ldbdel", ou)


def test_admin_cannot_touch_the_domain_root(admin: Ldap) -> None:
    done = admin.tool(
        "ldbmodify",
        ldif=f"dn: {BASE}\nchangetype: modify\nreplace: description\ndescription: mine\n",
    )
    assert done.returncode != 0 and "INSUFFICIENT_ACCESS_RIGHTS" in done.stdout + done.stderr
    name = f"lx-{secrets.token_hex(3)}"
    done = admin.tool(
        "ldbadd", ldif=f"dn: CN={name},CN=Users,{BASE}\nobjectClass: user\nsAMAccountName: {name}\n"
    )
    assert done.returncode != 0 and "INSUFFICIENT_ACCESS_RIGHTS" in done.stdout + done.stderr


@pytest.mark.parametrize("object_class", ["user", "group"])
def test_admin_restores_a_deleted_object(admin: Ldap, object_class: str) -> None:
    name = f"lr-{secrets.token_hex(3)}"
    dn = f"CN={name},OU=Users,{HOME}"
    admin.ok("ldbadd", ldif=f"dn: {dn}\nobjectClass: {object_class}\nsAMAccountName: {name}\n")
    admin.ok("ldbdel", dn)
    found = admin.ok(
        "ldbsearch", "--show-deleted", "-b", f"CN=Deleted Objects,{BASE}",
        f"(sAMAccountName={name})", "dn",
    )  # fmt: skip
    tomb = next(line[4:] for line in found.splitlines() if line.startswith("dn: "))
    admin.ok(
        "ldbmodify", "--show-deleted",
        ldif=f"dn: {tomb}\nchangetype: modify\ndelete: isDeleted\n-\n"
        f"replace: distinguishedName\ndistinguishedName: {dn}\n",
    )  # fmt: skip
    back = admin.ok("ldbsearch", "-b", BASE, f"(sAMAccountName={name})", "dn")
    assert f"dn: {dn}" in back
    admin.ok("ldbdel", dn)


def test_ldaps_serves_the_self_signed_certificate(admin: Ldap) -> None:
    # Samba's client refuses SASL sign/seal inside TLS, so LDAPS uses a simple bind.
    done = admin.run(
        ["ldbsearch", "-H", f"ldaps://{admin.address}", "--simple-bind-dn=Admin@corp.example.com",
         "--option=tls verify peer=no_check", "-b", BASE, "(sAMAccountName=Admin)", "dn"]
    )  # fmt: skip
    assert done.returncode == 0 and f"CN=Admin,OU=Users,{HOME}" in done.stdout, done.stderr
