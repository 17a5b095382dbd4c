"""What every check shares: the :class:`Target` and running a real tool as evidence."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pgrealm.client.doctor.report import Evidence
from pgrealm.engines import _exec
from pgrealm.errors import EngineError

__all__ = ["Target", "explain_krb_error", "tool"]


@dataclass(frozen=True)
class Target:
    """Who logs in where: the user's principal, the instance, and its directory."""

    user: str  # alice@CORP.EXAMPLE.COM
    realm: str
    domain: str
    directory_id: str
    dcs: tuple[str, ...]
    instance: str
    endpoint: str
    port: int
    instance_keytab: Path | None = None
    join_problem: str | None = None  # the instance's failed join, in its RDS event's words

    @property
    def spn(self) -> str:
        return f"postgres/{self.endpoint}@{self.realm}"

    def dc_name(self, address: str) -> str:
        return f"dc{self.dcs.index(address) + 1}"


def tool(argv: Sequence[str], env: dict[str, str], timeout: float = 10.0) -> Evidence:
    """Run a real tool; a timeout or a missing binary is evidence too, not an exception."""
    try:
        done = _exec.run(argv, env=env, timeout=timeout, check=False)
    except EngineError as exc:
        return Evidence(shlex.join(argv), str(exc), None)
    output = (done.stdout + ("\n" if done.stdout and done.stderr else "") + done.stderr).strip()
    return Evidence(shlex.join(argv), output, done.returncode)


def explain_krb_error(output: str, t: Target) -> tuple[str, str]:
    """(cause, fix) for a Kerberos failure message from kvno or psql."""
    text = output.lower()
    if "clock skew" in text:
        return "the clocks differ by more than 5 minutes (see clock).", "set the clock right."
    if "cannot find kdc" in text or "cannot contact any kdc" in text:
        return (
            f"libkrb5 cannot reach a KDC for {t.realm} (see krb5-conf and kdc).",
            f"pgrealm client krb5-conf --db-instance-identifier {t.instance} --output ...",
        )
    if "server not found" in text:
        return (
            f"the directory has no account with the SPN {t.spn}: the instance is not "
            "(or no longer) joined to it.",
            f"aws rds describe-db-instances --db-instance-identifier {t.instance} (see "
            "DomainMemberships Status), then aws rds modify-db-instance --domain ... to join.",
        )
    if "no credentials" in text or "credentials cache" in text or "expired" in text:
        return "there is no valid ticket (see ticket).", f"kinit {t.user}"
    return (
        "the server refused the Kerberos exchange; when every check above passes, the "
        "instance's keytab or its postgres log says why.",
        f"aws rds describe-db-log-files --db-instance-identifier {t.instance}",
    )
