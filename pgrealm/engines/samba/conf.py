"""Renders a DC's smb.conf and krb5.conf, and writes them atomically into the DC home.

Samba quirks handled here (Samba 4.17, Debian):

* ``interfaces = 127.x.y.z`` alone is ignored ("interpret_interface: can't determine
  interface for ...") unless that exact address is configured on an interface; every
  task then dies with "no network interfaces configured". Written as ``127.x.y.z/8`` it
  matches lo's 127.0.0.0/8 network and Samba binds exactly that address, so no
  ``ip addr add`` is needed. With ``bind interfaces only`` nothing binds 0.0.0.0.
* ``server services`` drops ``s3fs`` (smbd: no file shares are served; a directory with
  trusts runs it, see TRUST_SERVICES),
  ``nbt`` and ``wrepl`` (NetBIOS/WINS, broadcast based) and ``dnsupdate``
  (samba_dnsupdate resolves through /etc/resolv.conf, i.e. outside). The DNS records
  it would add are written by provisioning (--host-ip); the SPNs its companion
  samba_spnupdate would add (ldap/<fqdn>, GC/..., the DRS GUID SPN) are added once at
  provision time by running samba_spnupdate locally (see provision.py).
* ``dns forwarder`` is left empty on purpose: names outside the domain get SERVFAIL
  instead of a query to the host's resolver.
* Name lookups by the DC itself (drepl finds a peer DC as ``<ntdsDSA GUID>._msdcs.<domain>``)
  go through ``name resolve order = host``, i.e. res_search() on /etc/resolv.conf and then
  getaddrinfo(); Samba 4.17 rejects the selftest-only ``file`` method. So every DC runs in
  its own mount namespace with ``resolv.conf`` (see :func:`render_resolv_conf`) bound over
  /etc/resolv.conf (dc.py): its resolver asks the directory's own DNS servers (loopback)
  and nothing else.
* Replication (two DCs, one site) is tuned for seconds, not Windows' minutes: drepl pulls
  each partner every ``dreplsrv:periodic_interval`` s (default 300) and 1 s after start,
  and pokes partners (DsReplicaSync) 1 s after a local change (``notify_interval``, default
  5); the KCC is Samba's built-in C one (``kccsrv:samba_kcc = no``: the python samba_kcc
  costs ~1 s CPU per run for the same two-DC topology) and runs every 10 s, so a DC learns
  of a newly joined peer quickly.
* provisioning uses an smb.conf that already exists verbatim (it only writes one when
  the file is missing or empty), which is how all paths end up under the home; it
  requires the ``[sysvol]`` and ``[netlogon]`` shares to be defined even though no file
  server runs.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import tempfile
from pathlib import Path

from pgrealm.engines.samba.spec import DcSpec

__all__ = [
    "REPLICATION_OPTIONS",
    "config_current",
    "prefork_options",
    "render_krb5_conf",
    "render_resolv_conf",
    "render_smb_conf",
    "write_atomic",
    "write_dc_configs",
]

log = logging.getLogger(__name__)

HEADER = "# managed by pgrealm: rewritten on every provision/start; do not edit\n"

# Samba services a DC of ours runs. ntp_signd signs time for an ntpd we do not run.
# winbindd is dropped too: with no file server (s3fs)
# nothing on the DC needs its idmap; KDC, LDAP (simple, NTLM and GSSAPI binds), DNS,
# kpasswd and RPC all work without it, and it doubles the DC's memory (one DC: ~50 MB
# PSS without it, ~100 MB with winbindd + its domain child + samba's tfork waiter).
SERVER_SERVICES = "-s3fs -nbt -wrepl -dnsupdate -winbindd -ntp_signd"
# A DC of a directory with trusts runs both (see DcSpec.trusts). The DC is alone in its
# network namespace, so its smbd takes 445 from nobody.
TRUST_SERVICES = "-nbt -wrepl -dnsupdate -ntp_signd"

REPLICATION_OPTIONS = (
    "dreplsrv:periodic_startup_interval = 1",
    "dreplsrv:periodic_interval = 15",
    "dreplsrv:notify_interval = 1",
    "kccsrv:samba_kcc = no",
    "kccsrv:periodic_startup_interval = 2",
    "kccsrv:periodic_interval = 10",
)


def prefork_options(cpus: int | None = None) -> tuple[str, ...]:
    """Worker processes per service under ``--model=prefork`` (see dc.py for why prefork).

    Samba's default is 4 workers for every service that forks (ldap, rpc, kdc). The KDC
    is the one that carries load (every kinit and every service ticket), so it gets a
    worker per core, 2 to 4: the default's 4 cannot run more than one per core at once.
    LDAP and RPC are event driven and see a handful of admin tools and the replication
    partner, so one worker each; each worker left out saves ~2-4 MB of private memory.
    """
    kdc = max(2, min(4, cpus or os.cpu_count() or 2))
    return ("prefork children = 1", f"prefork children:kdc = {kdc}")


def render_smb_conf(dc: DcSpec) -> str:
    """smb.conf for ``dc``: every path under its home, bound to its address only."""
    p = dc.paths
    lines = [
        "[global]",
        f"netbios name = {dc.hostname.upper()}",
        f"workgroup = {dc.domain.netbios}",
        f"realm = {dc.domain.realm}",
        "server role = active directory domain controller",
        f"interfaces = {dc.address}/{8 if dc.address.startswith('127.') else 32}",
        "bind interfaces only = yes",
        f"server services = {TRUST_SERVICES if dc.trusts else SERVER_SERVICES}",
        "disable netbios = yes",
        f"dns forwarder = {' '.join(dc.dns_forwarders)}".rstrip(),
        # NetBIOS is off: no WINS or broadcast lookups, only the hosts/DNS path.
        "name resolve order = host",
        *REPLICATION_OPTIONS,
        *(prefork_options() if dc.process_model == "prefork" else ()),
        f"private dir = {p.private}",
        f"binddns dir = {p.home / 'bind-dns'}",
        f"state directory = {p.state}",
        f"cache directory = {p.cache}",
        f"lock directory = {p.lock}",
        f"pid directory = {p.run}",
        f"ncalrpc dir = {p.run / 'ncalrpc'}",
        f"winbindd socket directory = {p.run / 'winbindd'}",
        f"ntp signd socket directory = {p.run / 'ntp_signd'}",
        # The log file name comes from dc_argv's --log-basename (log/log.samba): samba
        # opens its log before reading smb.conf, so only the command line avoids a
        # stray /var/log/samba/log.samba.
        "max log size = 10000",
        # auth_json_audit:3 adds one JSON line per authentication, success or failure
        # (a ds log subscription reads them: services/logs/sources.py).
        f"log level = 1{' auth_json_audit:3' if dc.auth_audit else ''}",
        # smbd and winbindd (trusts) would log to /var/log/samba; samba's own log stays
        # where --log-basename puts it.
        *([f"log file = {p.log / 'log.fileserver'}"] if dc.trusts else []),
        *([f"tls priority = {dc.tls_priority}"] if dc.tls_priority else []),
        "",
        "[sysvol]",
        f"path = {p.sysvol}",
        "read only = no",
        "",
        "[netlogon]",
        f"path = {p.sysvol / dc.domain.dns_name / 'scripts'}",
        "read only = no",
    ]
    return (
        HEADER
        + "\n".join(line if line.startswith("[") or not line else f"\t{line}" for line in lines)
        + "\n"
    )


def render_krb5_conf(kdc_addresses: list[str], realm: str) -> str:
    """A krb5.conf that finds ``realm``'s KDCs by address only: no DNS, no reverse lookups.

    Used by the DC itself (its embedded Heimdal and winbindd read KRB5_CONFIG) and by
    clients; ``dns_canonicalize_hostname = false`` keeps service names as typed.
    """
    kdcs = "".join(f"\t\tkdc = {a}\n" for a in kdc_addresses)
    return (
        HEADER + "[libdefaults]\n"
        f"\tdefault_realm = {realm}\n"
        "\tdns_lookup_kdc = false\n"
        "\tdns_lookup_realm = false\n"
        "\trdns = false\n"
        "\tdns_canonicalize_hostname = false\n"
        "\n[realms]\n"
        f"\t{realm} = {{\n{kdcs}"
        f"\t\tadmin_server = {kdc_addresses[0]}\n"
        f"\t\tkpasswd_server = {kdc_addresses[0]}\n"
        "\t}\n"
        "\n[domain_realm]\n"
        f"\t.{realm.lower()} = {realm}\n"
        f"\t{realm.lower()} = {realm}\n"
    )


def render_resolv_conf(dns_addresses: list[str]) -> str:
    """resolv.conf for a DC's mount namespace: the directory's DNS servers (its DCs)."""
    for address in dns_addresses:
        ipaddress.IPv4Address(address)  # ValueError: nothing but an address goes in the file
    servers = "".join(f"nameserver {a}\n" for a in dns_addresses[:3])  # glibc reads 3
    return HEADER + servers + "options timeout:1 attempts:1\n"


def write_atomic(path: Path, content: str | bytes, mode: int = 0o644) -> None:
    """Write ``path`` via a temp file in the same directory, fsync, rename."""
    data = content.encode() if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def config_current(dc: DcSpec) -> bool:
    """Whether the DC's smb.conf is what its spec renders now (trusts and forwarders
    change it: the DC then needs its configs rewritten and a restart)."""
    try:
        return dc.paths.smb_conf.read_text() == render_smb_conf(dc)
    except OSError:
        return False


def write_dc_configs(dc: DcSpec, kdc_addresses: list[str] | None = None) -> None:
    """(Re)write smb.conf, krb5.conf and resolv.conf in the DC home; create its directories.

    ``kdc_addresses``: every DC of the directory (default: this one only).
    """
    p = dc.paths
    for d in (p.home, p.state, p.cache, p.lock, p.run, p.log):
        d.mkdir(parents=True, exist_ok=True)
    write_atomic(p.smb_conf, render_smb_conf(dc))
    # Peers first, itself last: with --model=single the KDC runs in the same process as
    # drepl, whose Kerberos client blocks that process while it waits for a KDC, so a DC
    # can never get a ticket from itself (measured: replication stalled for minutes with
    # its own KDC first; peer first, changes cross in 2-4 s). Two DCs asking each other at
    # the same instant both wait kdc_timeout (3 s) once; tickets are then cached for hours.
    addresses = [a for a in (kdc_addresses or []) if a != dc.address] + [dc.address]
    write_atomic(p.krb5_conf, render_krb5_conf(addresses, dc.domain.realm))
    _write_resolv_conf(p.resolv_conf, render_resolv_conf(addresses))
    log.debug("wrote %s, %s and %s", p.smb_conf, p.krb5_conf, p.resolv_conf)


def _write_resolv_conf(path: Path, content: str) -> None:
    """Rewrite in place, not by rename: a running DC has this very inode bind-mounted
    over /etc/resolv.conf, and a renamed-over file would leave it reading the old one."""
    if path.exists():
        if path.read_text() != content:
            with path.open("r+") as f:
                f.write(content)
                f.truncate()
        return
    write_atomic(path, content)
