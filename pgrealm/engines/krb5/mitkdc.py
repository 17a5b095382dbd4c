"""A throwaway MIT Kerberos realm in one directory: the realm tests run against, and the
benchmark's baseline KDC. Not used by the product (the directory is Samba's KDC).

Layout of ``home`` (all config kept as data and rendered by one function each)::

    krb5.conf      client profile (KRB5_CONFIG)       kdc.conf   KDC profile (KRB5_KDC_PROFILE)
    principal*     the KDB                             stash      master key stash
    kadm5.acl      empty: nobody administers remotely  kdc.log    the KDC's log

Passwords reach kdb5_util, kadmin.local and kinit on stdin (MIT's prompter reads stdin
when it is not a terminal), never argv.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from pgrealm.engines import _exec
from pgrealm.errors import EngineError

__all__ = ["MitRealm"]

log = logging.getLogger(__name__)

_SBIN = Path("/usr/sbin")
_BIN = Path("/usr/bin")
_ENCTYPES = "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal"
# Principals are spliced into kadmin.local's -q string, so keep them to safe characters.
_PRINC_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*(@[A-Z0-9.-]+)?$")
_PATH_RE = re.compile(r"^/[A-Za-z0-9._/+-]+$")
_KADMIN_ERROR = re.compile(r"^[\w.]+: ", re.MULTILINE)


@dataclass(frozen=True)
class MitRealm:
    """One MIT realm whose KDC listens on ``address``:``port`` (UDP and TCP)."""

    home: Path
    realm: str
    address: str
    port: int = 88

    @property
    def krb5_conf(self) -> Path:
        return self.home / "krb5.conf"

    @property
    def kdc_conf(self) -> Path:
        return self.home / "kdc.conf"

    @property
    def database(self) -> Path:
        return self.home / "principal"

    @property
    def kdc_log(self) -> Path:
        return self.home / "kdc.log"

    def krb5_conf_text(self) -> str:
        """Client profile: this realm only, no DNS at all, names used exactly as given."""
        return (
            "[libdefaults]\n"
            f"    default_realm = {self.realm}\n"
            "    dns_lookup_kdc = false\n"
            "    dns_lookup_realm = false\n"
            "    dns_canonicalize_hostname = false\n"
            "    rdns = false\n"
            "    ignore_acceptor_hostname = false\n"
            f"    permitted_enctypes = {_ENCTYPES.replace(':normal', '')}\n"
            "[realms]\n"
            f"    {self.realm} = {{\n"
            f"        kdc = {self.address}:{self.port}\n"
            "    }\n"
        )

    def kdc_conf_text(self) -> str:
        listen = f"{self.address}:{self.port}"
        return (
            "[kdcdefaults]\n"
            f"    kdc_listen = {listen}\n"
            f"    kdc_tcp_listen = {listen}\n"
            "[realms]\n"
            f"    {self.realm} = {{\n"
            f"        database_name = {self.database}\n"
            f"        key_stash_file = {self.home / 'stash'}\n"
            f"        acl_file = {self.home / 'kadm5.acl'}\n"
            f"        kdc_listen = {listen}\n"
            f"        kdc_tcp_listen = {listen}\n"
            "        master_key_type = aes256-cts-hmac-sha1-96\n"
            f"        supported_enctypes = {_ENCTYPES}\n"
            "        max_life = 10h\n"
            "        max_renewable_life = 7d\n"
            "    }\n"
            "[logging]\n"
            f"    kdc = FILE:{self.kdc_log}\n"
            f"    default = FILE:{self.home / 'krb5lib.log'}\n"
        )

    def env(self, ccache: Path | None = None) -> dict[str, str]:
        """An environment built from scratch for MIT tools against this realm."""
        env = {
            "PATH": f"{_SBIN}:{_BIN}:/sbin:/bin",
            "LANG": "C.UTF-8",
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5_KDC_PROFILE": str(self.kdc_conf),
        }
        if ccache is not None:
            env["KRB5CCNAME"] = f"FILE:{ccache}"
        return env

    def create(self) -> None:
        """Write the profiles and create the KDB with a random stashed master key (idempotent)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o755)
        self.krb5_conf.write_text(self.krb5_conf_text(), encoding="utf-8")
        self.kdc_conf.write_text(self.kdc_conf_text(), encoding="utf-8")
        (self.home / "kadm5.acl").touch()
        if self.database.exists():
            return
        master = secrets.token_urlsafe(24)
        _exec.run(
            [str(_SBIN / "kdb5_util"), "-r", self.realm, "create", "-s"],
            env=self.env(),
            input=f"{master}\n{master}\n",
            timeout=60,
        )
        log.info("created MIT realm %s in %s", self.realm, self.home)

    def kdc_argv(self) -> list[str]:
        """krb5kdc in the foreground; run it with :meth:`env` in a new session."""
        return [str(_SBIN / "krb5kdc"), "-n", "-r", self.realm]

    def _kadmin(
        self, query: str, *, input: str | None = None, check: bool = True
    ) -> _exec.Completed:
        argv = [str(_SBIN / "kadmin.local"), "-r", self.realm, "-q", query]
        done = _exec.run(argv, env=self.env(), input=input, timeout=60)
        # kadmin.local exits 0 whatever its query did; errors read "<cmd>: <why>".
        if check and _KADMIN_ERROR.search(done.stderr):
            raise EngineError(argv, 1, done.stderr)
        return done

    def principal(self, name: str) -> str:
        """``name`` qualified with this realm unless it already names one."""
        if not _PRINC_RE.match(name):
            raise ValueError(f"unsupported principal name {name!r}")
        return name if "@" in name else f"{name}@{self.realm}"

    def has_principal(self, name: str) -> bool:
        done = self._kadmin(f"getprinc {self.principal(name)}", check=False)
        # kadmin.local exits 0 even when the principal is missing; the text tells.
        return "Principal:" in done.stdout

    def add_principal(self, name: str, password: str | None = None) -> None:
        """Create ``name`` (random key if no password), or reset its password if it exists."""
        princ = self.principal(name)
        exists = self.has_principal(princ)
        if password is None:
            if not exists:
                self._kadmin(f"addprinc -randkey {princ}")
            return
        verb = "cpw" if exists else "addprinc"
        self._kadmin(f"{verb} {princ}", input=f"{password}\n{password}\n")

    def export_keytab(self, principal: str, path: Path) -> None:
        """Append ``principal``'s current keys to keytab ``path`` without changing them."""
        princ = self.principal(principal)
        if not _PATH_RE.match(str(path)):
            raise ValueError(f"unsupported keytab path {path}")
        # -norandkey (kadmin.local only) keeps the kvno: a ticket issued earlier stays valid.
        self._kadmin(f"ktadd -k {path} -norandkey {princ}")
        path.chmod(0o600)

    def kinit(self, principal: str, password: str, ccache: Path) -> None:
        """Get a TGT for ``principal`` into ``ccache``; the password goes in on stdin."""
        argv = [str(_BIN / "kinit"), self.principal(principal)]
        _exec.run(argv, env=self.env(ccache), input=f"{password}\n", timeout=30)
