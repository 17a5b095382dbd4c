"""A directory's domain controllers as the benchmark measures them, and the Enterprise
edition's directory beside the seed flow's Standard one.

The seed flow creates a Standard directory (single-process DCs). This creates a second,
Enterprise directory (prefork DCs with a KDC worker per core) through boto3 in the same
stack, times it to Active, measures its memory once replication has settled, and
deletes it again, so the two editions' costs are printed side by side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench.procmem import tree_pss_kib
from bench.seed_flow import new_password
from bench.stack import BenchStack
from pgrealm.config import Settings
from pgrealm.engines import samba
from pgrealm.gateways.directory import dc_spec
from pgrealm.store import Doc, Store

__all__ = ["DirectoryCost", "dc_specs", "enterprise_directory", "measure_dcs"]

SETTLE_SECONDS = 10.0  # after Active: the first replication rounds between the two DCs


@dataclass(frozen=True)
class DirectoryCost:
    edition: str
    dcs: int
    pss_kib: int
    processes: int
    active_s: float = 0.0  # create call to Active (0: not timed here)


def dc_specs(stack: BenchStack, directory_id: str) -> list[samba.DcSpec]:
    settings = Settings.from_env(stack.env)
    doc = _directory_doc(stack, directory_id)
    return [dc_spec(settings, doc, dc) for dc in doc["dcs"]]


def _directory_doc(stack: BenchStack, directory_id: str) -> Doc:
    for doc in Store(stack.home / "state.db").list("directory"):
        if doc["aws"]["DirectoryId"] == directory_id:
            return doc
    raise LookupError(directory_id)


def measure_dcs(edition: str, specs: list[samba.DcSpec], active_s: float = 0.0) -> DirectoryCost:
    pids = [p for p in (samba.dc_pid(s) for s in specs) if p is not None]
    pss, procs = tree_pss_kib(pids)
    return DirectoryCost(edition, len(pids), pss, procs, active_s)


def enterprise_directory(stack: BenchStack) -> DirectoryCost:
    ds = stack.client("ds")
    subnets = stack.client("ec2").describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    started = time.monotonic()
    did = ds.create_microsoft_ad(
        Name="enterprise.bench.test",
        ShortName="ENTERPRISE",
        Password=new_password(),
        Edition="Enterprise",
        VpcSettings={
            "VpcId": subnets[0]["VpcId"],
            "SubnetIds": [subnets[-2]["SubnetId"], subnets[-1]["SubnetId"]],
        },
    )["DirectoryId"]

    def active() -> Any:
        d = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]
        if d["Stage"] == "Failed":
            raise RuntimeError(f"Enterprise directory failed: {d.get('StageReason')}")
        return d["Stage"] == "Active"

    stack.wait("the Enterprise directory to be Active", active, 300, every=0.05)
    active_s = time.monotonic() - started
    time.sleep(SETTLE_SECONDS)
    cost = measure_dcs("Enterprise", dc_specs(stack, did), active_s)
    ds.delete_directory(DirectoryId=did)
    return cost
