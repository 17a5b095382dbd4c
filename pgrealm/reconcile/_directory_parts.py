"""What the directory reconciler's parts share: process names, the steps' context, the
DCs' addresses and status, and the reconciler's attributes for the mixins' type checks
(directory.py holds the reconciler; directory_trusts.py, directory_upkeep.py and
directory_ldaps.py its duties for a settled directory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pgrealm.config import Settings
from pgrealm.engines.interfaces import DirectoryEngine
from pgrealm.reconcile.network import HostNetwork
from pgrealm.reconcile.runner import Key
from pgrealm.reconcile.step import Step
from pgrealm.sealing import Sealer
from pgrealm.store import Doc, Store
from pgrealm.supervisor import ProcessSpec, Supervisor

__all__ = ["DirectoryParts", "StepCtx", "addresses", "process_name", "set_dc_status"]


def process_name(doc: Doc, dc: Doc) -> str:
    return f"{doc['aws']['DirectoryId']}/{dc['name']}"


class StepCtx:
    """What the steps of one directory run share."""

    def __init__(self, key: Key, doc: Doc) -> None:
        self.key = key
        self.doc = doc


class DirectoryParts:
    """The reconciler's attributes and the methods its parts call on one another."""

    store: Store
    settings: Settings
    supervisor: Supervisor
    sealer: Sealer
    ad: DirectoryEngine
    network: HostNetwork | None

    if TYPE_CHECKING:

        def _update(self, key: Key, change: Callable[[Doc], Any]) -> None: ...
        def _run_dc(self, key: Key, doc: Doc, dc: Doc) -> None: ...
        def _join_steps(self, dc1: Doc, dc: Doc) -> list[Step[StepCtx]]: ...
        def _authority(self, key: Key, doc: Doc) -> Doc: ...
        def process_spec(self, doc: Doc, dc: Doc) -> ProcessSpec: ...


def addresses(doc: Doc) -> list[str]:
    """Every DC's VPC address: what the DCs' own krb5.conf names."""
    return [str(dc["vpc_ip"]) for dc in doc["dcs"]]


def set_dc_status(dc: Doc, down: bool) -> None:
    if down:
        dc["status"] = "Impaired"
        dc["status_reason"] = "The domain controller is not responding; it is being recovered."
    else:
        dc["status"] = "Active"
        dc.pop("status_reason", None)
