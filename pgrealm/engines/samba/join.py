"""Joins a further DC to a running domain: ``samba-tool domain join <realm> DC``.

Order (each part safe to repeat; a home without the marker is wiped and joined again,
and samba-tool itself removes the half-made DC objects of an earlier attempt on dc1):

1. configs for the new DC (the same binding rules as provisioning, see conf.py);
2. its DNS records (A, _kerberos/_kpasswd/_ldap/_gc SRV, NS), written into the first DC's
   sam.ldb *before* the join, so the join's own replication of the DNS partitions
   carries them and both DCs answer for both at once (dnsupdate is off, see conf.py);
3. a short-lived Domain Admin ``pgrealm-join`` with a random password (the directory's
   Admin password is never kept, and the built-in Administrator's is unknown): created
   through the sam.ldb helper (stdin), handed to samba-tool in its environment
   (``PASSWD``, read by Samba's credentials code; /proc/<pid>/environ is root-only,
   unlike argv), and deleted right after the join whatever its outcome;
4. the join itself, against the first DC by address (``--server``): the join talks LDAP
   and DRS to that address only and resolves nothing (checked with strace). It runs
   confined like the DC (dc.py) anyway;
5. samba_spnupdate for the new DC (local edit, as provisioning does), the GUID CNAME
   ``<ntdsDSA GUID>._msdcs.<domain>`` drepl looks the new DC up by, and the marker.

Measured on Samba 4.17 (2 vCPUs shared with other work): the join replicates ~3,700
objects (schema and configuration are almost all of them) in 15-25 s.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pgrealm.engines import _exec, netns
from pgrealm.engines.samba import tool
from pgrealm.engines.samba.conf import write_atomic, write_dc_configs
from pgrealm.engines.samba.dc import confined
from pgrealm.engines.samba.provision import (
    SAMBA_SPNUPDATE,
    SAMBA_TOOL,
    is_provisioned,
    wipe_partial,
)
from pgrealm.engines.samba.spec import DcSpec
from pgrealm.engines.samba.tls import ensure_tls
from pgrealm.passwords import random_password

__all__ = ["JOIN_ACCOUNT", "join_dc", "ntds_guid", "remove_dc"]

log = logging.getLogger(__name__)

JOIN_HELPER = Path(__file__).with_name("_join_tool.py")
JOIN_ACCOUNT = "pgrealm-join"


def join_dc(dc: DcSpec, first: DcSpec, kdc_addresses: list[str] | None = None) -> None:
    """Make ``dc`` a writable DC of ``first``'s (running) domain; no-op if already done.

    ``kdc_addresses``: all DCs of the directory (see conf.py).
    """
    if is_provisioned(dc):
        log.debug("%s: already joined in %s", dc.hostname, dc.home)
        return
    started = time.monotonic()
    wipe_partial(dc)
    write_dc_configs(dc, kdc_addresses or [dc.address, first.address])
    _add_dns(dc, first)
    password = random_password(48)
    tool.call(
        first,
        "ensure_join_account",
        helper=JOIN_HELPER,
        sam_account_name=JOIN_ACCOUNT,
        password=password,
    )
    try:
        env = tool.samba_env(dc) | {"PASSWD": password}
        argv = confined(dc, _join_argv(dc, first))
        if dc.netns:  # it talks to the first DC over the VPC, as a new DC would
            argv = netns.wrap(dc.netns, argv)
        _exec.run(argv, env=env, timeout=600)
    finally:
        tool.call(first, "delete_account", helper=JOIN_HELPER, sam_account_name=JOIN_ACCOUNT)
    log.info("%s: samba-tool join took %.1fs", dc.hostname, time.monotonic() - started)
    _exec.run(
        [SAMBA_SPNUPDATE, f"--configfile={dc.paths.smb_conf}"],
        env=tool.samba_env(dc),
        timeout=120,
    )
    _add_dns(dc, first, with_guid=True)
    ensure_tls(dc)
    write_atomic(dc.paths.provisioned_marker, f"{dc.domain.dns_name} joined\n")
    log.info("%s: joined %s in %.1fs", dc.hostname, dc.domain.realm, time.monotonic() - started)


def ntds_guid(dc: DcSpec) -> str:
    """objectGUID of ``dc``'s NTDS Settings object (what drepl names it by)."""
    return str(tool.call(dc, "dc_info", helper=JOIN_HELPER)["ntds_guid"])


def _add_dns(dc: DcSpec, first: DcSpec, with_guid: bool = False) -> None:
    guids: dict[str, Any] = {}
    if with_guid:
        guids = {"ntds_guid": ntds_guid(dc), "peer_ntds_guid": ntds_guid(first)}
    result = tool.call(
        first,
        "add_dc_dns",
        helper=JOIN_HELPER,
        peer_fqdn=first.fqdn,
        peer_address=first.address,
        fqdn=dc.fqdn,
        address=dc.address,
        **guids,
    )
    log.debug("%s: %d DNS records added on %s", dc.hostname, result["added"], first.hostname)


def _join_argv(dc: DcSpec, first: DcSpec) -> list[str]:
    return [
        SAMBA_TOOL,
        "domain",
        "join",
        dc.domain.dns_name,
        "DC",
        f"--configfile={dc.paths.smb_conf}",
        f"--server={first.address}",
        f"--username={dc.domain.netbios}\\{JOIN_ACCOUNT}",
        "--dns-backend=SAMBA_INTERNAL",
        "--backend-store=tdb",
        "--quiet",
    ]


def remove_dc(first: DcSpec, gone: DcSpec) -> None:
    """Take the stopped DC ``gone`` out of the domain, on ``first``'s own database: its
    server and computer objects, DNS records and replication links
    (``demote --remove-other-dead-server``); replication carries that to the others."""
    argv = confined(first, [
        SAMBA_TOOL, "domain", "demote", f"--remove-other-dead-server={gone.hostname.upper()}",
        f"--configfile={first.paths.smb_conf}", "-H", f"tdb://{first.paths.sam_ldb}",
    ])  # fmt: skip
    if first.netns:
        argv = netns.wrap(first.netns, argv)
    _exec.run(argv, env=tool.samba_env(first), timeout=300)
    log.info("%s: removed from the domain on %s", gone.hostname, first.hostname)
