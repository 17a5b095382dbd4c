"""Provisions a new AD domain into a DC home (first DC of a directory).

Steps: write smb.conf/krb5.conf, run ``samba-tool domain provision`` against that
smb.conf, then shape the directory the way AWS Managed AD does (see
``_samdb_tool.op_finish_provision``) and drop a marker. A home with the marker is
left alone; a home without it is a crashed attempt and is wiped and redone (no other
DC can know the half-made domain yet).

Samba quirks:
* ``samba-tool domain provision`` reads /etc/resolv.conf to suggest a ``dns forwarder``
  but only writes it into an smb.conf it creates itself; ours exists, so none is set.
* Without ``--adminpass`` it picks a random Administrator password and prints it on
  stdout (suppressed by ``--quiet``, and the helper replaces it anyway).
* ``--host-ip`` is what the DC's A record and the _kerberos/_kpasswd/_ldap SRV targets
  resolve to; without it provision guesses an address of the host (eth0).
"""

from __future__ import annotations

import logging
import shutil
import time

from pgrealm.engines import _exec
from pgrealm.engines.samba import tool
from pgrealm.engines.samba.conf import write_atomic, write_dc_configs
from pgrealm.engines.samba.spec import DcSpec
from pgrealm.engines.samba.tls import ensure_tls

__all__ = ["is_provisioned", "provision_dc", "wipe_partial"]

log = logging.getLogger(__name__)

SAMBA_TOOL = "/usr/bin/samba-tool"
SAMBA_SPNUPDATE = "/usr/sbin/samba_spnupdate"
_STATE_DIRS = ("private", "bind-dns", "state", "cache", "lock", "run")


def is_provisioned(dc: DcSpec) -> bool:
    return dc.paths.provisioned_marker.exists() and dc.paths.sam_ldb.exists()


def provision_dc(dc: DcSpec, admin_password: str, kdc_addresses: list[str] | None = None) -> None:
    """Create the domain of ``dc`` with ``Admin``/``admin_password`` (Simple AD:
    ``Administrator``); no-op if already done.

    ``kdc_addresses``: all DCs the directory will have (see conf.py).
    """
    if is_provisioned(dc):
        log.debug("%s: already provisioned in %s", dc.hostname, dc.home)
        return
    wipe_partial(dc)
    write_dc_configs(dc, kdc_addresses)
    started = time.monotonic()
    _exec.run(_provision_argv(dc), env=tool.samba_env(dc), timeout=300)
    log.info("%s: samba-tool provision took %.1fs", dc.hostname, time.monotonic() - started)
    tool.call(
        dc,
        "finish_provision",
        netbios=dc.domain.netbios,
        admin_password=admin_password,
        simple=dc.domain.simple,
    )
    # The dnsupdate service (disabled, see conf.py) would also run samba_spnupdate; run it
    # once here instead. It edits the local sam.ldb only (no network for a writable DC) and
    # adds ldap/<fqdn>, GC/..., the DRS GUID SPN: without them GSSAPI LDAP binds and
    # DC-to-DC replication get "Server not found in Kerberos database".
    _exec.run(
        [SAMBA_SPNUPDATE, f"--configfile={dc.paths.smb_conf}"], env=tool.samba_env(dc), timeout=120
    )
    ensure_tls(dc)
    write_atomic(dc.paths.provisioned_marker, f"{dc.domain.dns_name}\n")
    log.info(
        "%s: provisioned %s in %.1fs", dc.hostname, dc.domain.realm, time.monotonic() - started
    )


def _provision_argv(dc: DcSpec) -> list[str]:
    return [
        SAMBA_TOOL,
        "domain",
        "provision",
        f"--configfile={dc.paths.smb_conf}",
        f"--realm={dc.domain.realm}",
        f"--domain={dc.domain.netbios}",
        f"--host-name={dc.hostname.upper()}",
        f"--host-ip={dc.address}",
        "--server-role=dc",
        "--dns-backend=SAMBA_INTERNAL",
        # tdb: lmdb preallocates an 8 GB sparse map per partition and is no faster here.
        "--backend-store=tdb",
        "--function-level=2008_R2",
        "--quiet",
    ]


def wipe_partial(dc: DcSpec) -> None:
    """Remove what a crashed provision or join left, keeping logs for the post-mortem."""
    for name in _STATE_DIRS:
        d = dc.home / name
        if d.exists():
            log.warning("%s: removing partial provision state %s", dc.hostname, d)
            shutil.rmtree(d)
