"""A DC's side of a trust with another forest, made with samba-tool as an admin would.

Each forest makes its own side (``--create-location=local``): the trusted domain object
(TDO) with the trust password, which both sides must be given. What Samba 4.17 needs for
that, found by trying it between two Samba forests:

* samba-tool asks the other forest's DC for its domain name and SID over LSA on SMB named
  pipes, so that DC runs its file server, and winbindd beside it (DcSpec.trusts). The
  query works anonymously (``-U%``): no credentials of the other forest are needed.
* It finds that DC by its DNS name through this DC's resolver, which asks this DC's DNS,
  which forwards names of other domains (DcSpec.dns_forwarders: the conditional
  forwarder's addresses).
* It reads the trust password with Python's getpass, from stdin when it has no terminal:
  ``setsid`` takes the terminal away, so the password goes in on stdin, never on a
  command line. Each direction asks for it twice.
* In local mode it can fail after the TDO exists (validation, or an UnboundLocalError in
  its cleanup with ``--skip-validation``); whether the TDO exists is what counts, so
  :func:`create_trust` asks ``trust show`` afterwards.
* Validation (``trust validate``) asks winbindd to find the other forest's DC and check
  the trust account over netlogon: it fails until the other side exists, and the first
  time after that DC restarted.

Kerberos across the trust needs none of winbindd: the KDC issues and accepts
cross-realm tickets from the TDO's keys, so a client with a ticket from one realm gets
service tickets in the other.
"""

from __future__ import annotations

import logging
import time

from pgrealm.engines import _exec, netns
from pgrealm.engines.samba import tool
from pgrealm.engines.samba.dc import confined
from pgrealm.engines.samba.errors import SambaError
from pgrealm.engines.samba.spec import DcSpec

__all__ = [
    "TRUST_DIRECTIONS",
    "TRUST_TYPES",
    "create_trust",
    "delete_trust",
    "trust_exists",
    "validate_trust",
]

log = logging.getLogger(__name__)

SAMBA_TOOL = "/usr/bin/samba-tool"
SETSID = "/usr/bin/setsid"
TRUST_TYPES = ("forest", "external")
TRUST_DIRECTIONS = ("both", "incoming", "outgoing")
_TIMEOUT = 120.0
_RETRY_PAUSE = 1.0


def _argv(dc: DcSpec, *args: str) -> list[str]:
    argv = confined(dc, [SETSID, "--wait", SAMBA_TOOL, "domain", "trust", *args,
                         f"--configfile={dc.paths.smb_conf}"])  # fmt: skip
    return netns.wrap(dc.netns, argv) if dc.netns else argv


def _run(dc: DcSpec, *args: str, input: str | None = None) -> _exec.Completed:
    return _exec.run(
        _argv(dc, *args), env=tool.samba_env(dc), input=input, timeout=_TIMEOUT, check=False
    )


def _error(done: _exec.Completed) -> str:
    """samba-tool's own ERROR line, or its last line."""
    lines = [ln.strip() for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or [f"samba-tool exited {done.returncode}"])[-1]


def trust_exists(dc: DcSpec, remote: str) -> bool:
    return _run(dc, "show", remote).returncode == 0


def create_trust(
    dc: DcSpec, remote: str, trust_type: str, direction: str, password: str, remote_dc: str
) -> None:
    """This forest's side of a trust with ``remote`` (a DNS domain name), whose DC answers
    at ``remote_dc``; SambaError with samba-tool's reason if no TDO came of it."""
    if trust_type not in TRUST_TYPES or direction not in TRUST_DIRECTIONS:
        raise ValueError(f"not a trust Samba makes: {trust_type} {direction}")
    asks = 4 if direction == "both" else 2
    done = _run(
        dc, "create", remote, f"--type={trust_type}", f"--direction={direction}",
        "--create-location=local", f"--ipaddress={remote_dc}", "-U%",
        input=(password + "\n") * asks,
    )  # fmt: skip
    if done.returncode != 0 and not trust_exists(dc, remote):
        raise SambaError(done.argv, f"creating the trust with {remote} failed: {_error(done)}")
    log.info("%s: trust with %s made (%s, %s)", dc.hostname, remote, trust_type, direction)


def validate_trust(dc: DcSpec, remote: str, attempts: int = 3) -> str | None:
    """None if this side's trust with ``remote`` validates; otherwise samba-tool's reason.

    Tried a few times: winbindd keeps its connection to the other forest's DC, and the
    first use of one to a DC that restarted since (the other side turning its file
    server on, say) fails with WERR_NETNAME_DELETED; the next one reconnects."""
    problem = None
    for attempt in range(attempts):
        done = _run(dc, "validate", remote, "--validate-location=local")
        if done.returncode == 0:
            return None
        problem = _error(done)
        if attempt + 1 < attempts:
            time.sleep(_RETRY_PAUSE)
    return problem


def delete_trust(dc: DcSpec, remote: str) -> None:
    if not trust_exists(dc, remote):
        return
    done = _run(dc, "delete", remote, "--delete-location=local")
    if done.returncode != 0 and trust_exists(dc, remote):
        raise SambaError(done.argv, f"deleting the trust with {remote} failed: {_error(done)}")
