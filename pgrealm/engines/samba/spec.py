"""What a Samba AD domain and one of its domain controllers are: frozen specs and derived paths.

Everything a DC owns lives under ``DcSpec.home``; :class:`DcPaths` is the one place that
names the files and directories inside it, so conf rendering, provisioning and the
runtime probes agree.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DcPaths", "DcSpec", "DomainSpec", "MAX_HOME_LEN", "PROCESS_MODELS"]

log = logging.getLogger(__name__)

_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_NETBIOS = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,14}$")

# Unix socket paths are limited to 107 bytes (sun_path). The longest socket Samba puts
# under a home is "run/ncalrpc/np/protected_storage" (32 chars), so the home path itself
# must stay short; checked here rather than failing obscurely inside samba.
MAX_HOME_LEN = 64

# Samba's --model values (dc.py says what each costs and why pgrealm picks which).
PROCESS_MODELS = ("single", "prefork", "standard")


@dataclass(frozen=True)
class DomainSpec:
    """An AD domain: ``dns_name`` like "corp.example.com", ``netbios`` like "CORP".

    ``simple``: laid out as Simple AD (the built-in Administrator and CN=Users), not as
    AWS Managed AD (Admin, OU=<NETBIOS> and the AWS delegated groups)."""

    dns_name: str
    netbios: str
    simple: bool = False

    def __post_init__(self) -> None:
        if not _DNS_NAME.match(self.dns_name):
            raise ValueError(f"not a lower-case DNS domain name: {self.dns_name!r}")
        if not _NETBIOS.match(self.netbios):
            raise ValueError(f"not an upper-case NetBIOS name of <=15 chars: {self.netbios!r}")

    @property
    def realm(self) -> str:
        return self.dns_name.upper()

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={label}" for label in self.dns_name.split("."))

    @property
    def home_ou_dn(self) -> str:
        """Where customers' users live: the OU AWS Managed AD creates, named after the
        NetBIOS name; Simple AD keeps AD's own CN=Users."""
        if self.simple:
            return f"CN=Users,{self.base_dn}"
        return f"OU={self.netbios},{self.base_dn}"

    @property
    def users_ou_dn(self) -> str:
        return self.home_ou_dn if self.simple else f"OU=Users,{self.home_ou_dn}"

    @property
    def computers_ou_dn(self) -> str:
        if self.simple:
            return f"CN=Computers,{self.base_dn}"
        return f"OU=Computers,{self.home_ou_dn}"


@dataclass(frozen=True)
class DcSpec:
    """One domain controller: NetBIOS ``hostname`` (<=15 chars), the ``address`` it serves
    on (its VPC address), ``home``, and the Samba ``process_model`` it runs with.

    A DC of a directory runs in its own network namespace (``netns``), and the machine
    reaches it at ``reach``; the engine tests' DCs run on a loopback address of the
    machine's own network, with neither.

    ``trusts``: the DC also runs Samba's file server and winbindd, which trusts need (the
    other forest's tools query this DC's LSA over SMB named pipes; winbindd finds the
    other forest's DCs and validates). ``dns_forwarders``: where the DC's DNS sends names
    it is not authoritative for (a trusted forest's: Samba 4.17 forwards every such
    name to one list, it has no per-domain conditional forwarders)."""

    domain: DomainSpec
    hostname: str
    address: str
    home: Path
    process_model: str = "single"
    netns: str | None = None
    reach: str | None = None
    trusts: bool = False
    dns_forwarders: tuple[str, ...] = ()
    tls_priority: str | None = None  # GnuTLS priority for LDAPS/StartTLS (Samba's default)
    tls_ca: str | None = field(default=None, repr=False)  # PEM of the CA that issues its cert
    auth_audit: bool = False  # log each authentication as JSON (a ds log subscription)

    def __post_init__(self) -> None:
        if not _NETBIOS.match(self.hostname.upper()):
            raise ValueError(f"not a NetBIOS host name of <=15 chars: {self.hostname!r}")
        try:
            ipaddress.IPv4Address(self.address)
        except ValueError:
            raise ValueError(f"DC address must be an IPv4 address: {self.address!r}") from None
        if not self.home.is_absolute() or len(str(self.home)) > MAX_HOME_LEN:
            raise ValueError(f"DC home must be absolute and <= {MAX_HOME_LEN} chars: {self.home}")
        if self.process_model not in PROCESS_MODELS:
            raise ValueError(f"not a Samba process model: {self.process_model!r}")

    @property
    def reach_address(self) -> str:
        """Where this machine's probes and tools reach the DC."""
        return self.reach or self.address

    @property
    def fqdn(self) -> str:
        return f"{self.hostname.lower()}.{self.domain.dns_name}"

    @property
    def paths(self) -> DcPaths:
        return DcPaths(self.home)


@dataclass(frozen=True)
class DcPaths:
    """File layout inside a DC home."""

    home: Path

    @property
    def smb_conf(self) -> Path:
        return self.home / "smb.conf"

    @property
    def krb5_conf(self) -> Path:
        return self.home / "krb5.conf"

    @property
    def resolv_conf(self) -> Path:
        """Bound over /etc/resolv.conf in the DC's mount namespace (see dc.py)."""
        return self.home / "resolv.conf"

    @property
    def private(self) -> Path:
        return self.home / "private"

    @property
    def sam_ldb(self) -> Path:
        return self.private / "sam.ldb"

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def sysvol(self) -> Path:
        return self.state / "sysvol"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def lock(self) -> Path:
        return self.home / "lock"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def log(self) -> Path:
        return self.home / "log"

    @property
    def pid_file(self) -> Path:
        return self.run / "samba.pid"

    @property
    def provisioned_marker(self) -> Path:
        """Written last by provisioning; its presence means the home is complete."""
        return self.home / ".provisioned"
