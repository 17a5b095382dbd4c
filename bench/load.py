"""Load, part of ``make chaos`` (bench/chaos.py runs it on its stack after the faults):

- **API load:** ``clients`` threads, each with clients of its own, call the API for
  ``seconds``: mostly describes, and creates and deletes of directory users and groups,
  DB parameter groups, DB snapshots and small DB instances. Every few seconds two of them
  race to create the same new user, group or parameter group: one must win and the other
  get AWS's already-exists error. Counted: calls, 5xx answers, races with two winners,
  calls slower than ``_HANG`` (a deadlock would show there), and whether everything the
  load made is gone again at the end.
- **Login storm:** worker processes open Kerberos connections to one instance at a fixed
  ``rate`` for ``seconds``, each with only the user's TGT in its credential cache, so every
  login asks a KDC for the service ticket, as a new client does. In the middle, one DC is
  SIGSTOPped for ``outage`` seconds (it neither answers nor refuses). Counted: failed
  logins, and the p99 connect time outside and during the outage.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config

from pgrealm.devstack import DevStack

__all__ = ["ApiLoad", "Storm", "api_load", "login_storm"]

_HANG = 30.0  # seconds: an API call slower than this counts as hung
_MAX_SNAPSHOTS = 3  # in flight at once: each is a pg_basebackup on a 2-core machine
_MAX_INSTANCES = 2
_RACE_EVERY = 3.0
_ALREADY = {"ConflictException", "DBParameterGroupAlreadyExists", "EntityAlreadyExists"}


@dataclass
class ApiLoad:
    calls: int = 0
    five_xx: list[str] = field(default_factory=list)
    hung: list[str] = field(default_factory=list)
    races: int = 0
    double_wins: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


class _Caller:
    """One API call at a time, timed and sorted into what the tally counts."""

    def __init__(self, tally: ApiLoad, lock: threading.Lock) -> None:
        self.tally, self.lock = tally, lock

    def __call__(self, what: str, fn: Callable[[], Any]) -> tuple[Any, str]:
        started = time.monotonic()
        code, result = "", None
        try:
            result = fn()
        except Exception as exc:  # botocore's ClientError, or a transport failure
            response = getattr(exc, "response", None) or {}
            code = response.get("Error", {}).get("Code") or type(exc).__name__
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if status >= 500 or not response:
                with self.lock:
                    self.tally.five_xx.append(f"{what}: {code} {str(exc)[:160]}")
        elapsed = time.monotonic() - started
        with self.lock:
            self.tally.calls += 1
            self.tally.latencies.append(elapsed)
            if code:
                self.tally.errors[code] = self.tally.errors.get(code, 0) + 1
            if elapsed > _HANG:
                self.tally.hung.append(f"{what}: {elapsed:.0f} s")
        return result, code


class _Worker:
    """One API client's loop: a weighted mix of calls, with its own resources."""

    def __init__(self, load: _Load, number: int) -> None:
        self.load, self.rng = load, random.Random(load.seed * 1000 + number)
        self.name = f"w{number}"
        config = Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10)
        self.rds = load.stack.client("rds", config=config)
        self.ds = load.stack.client("ds", config=config)
        self.data = load.stack.client("ds-data", config=config)
        self.turn = 0

    def run(self, deadline: float) -> None:
        ops = [
            (50, self.describe), (15, self.user), (10, self.group), (10, self.parameter_group),
            (8, self.snapshot), (7, self.instance),
        ]  # fmt: skip
        weights = [w for w, _ in ops]
        while time.monotonic() < deadline:
            self.turn += 1
            self.rng.choices([op for _, op in ops], weights)[0]()

    def describe(self) -> None:
        did = self.load.directory_id
        call = self.rng.choice([
            ("describe-db-instances", self.rds.describe_db_instances),
            ("describe-directories", self.ds.describe_directories),
            ("list-users", lambda: self.data.list_users(DirectoryId=did)),
            ("describe-db-snapshots", self.rds.describe_db_snapshots),
            ("describe-db-parameter-groups", self.rds.describe_db_parameter_groups),
        ])  # fmt: skip
        self.load.call(*call)

    def user(self) -> None:
        self._made_and_gone("user", self.data.create_user, self.data.delete_user)

    def group(self) -> None:
        self._made_and_gone("group", self.data.create_group, self.data.delete_group)

    def _made_and_gone(self, kind: str, create: Any, delete: Any) -> None:
        """A directory user or group made, then deleted, by the same client."""
        asked = {"DirectoryId": self.load.directory_id,
                 "SAMAccountName": f"ld{self.name}{kind[0]}{self.turn}"}  # fmt: skip
        self.load.call(f"create-{kind}", lambda: create(**asked))
        self.load.call(f"delete-{kind}", lambda: delete(**asked))

    def parameter_group(self) -> None:
        name = f"ld-{self.name}-pg{self.turn}"
        self.load.call("create-db-parameter-group", lambda: self.rds.create_db_parameter_group(
            DBParameterGroupName=name, DBParameterGroupFamily="postgres15",
            Description="load"))  # fmt: skip
        self.load.call(
            "delete-db-parameter-group",
            lambda: self.rds.delete_db_parameter_group(DBParameterGroupName=name),
        )

    def snapshot(self) -> None:
        if not self.load.take_slot("snapshot", _MAX_SNAPSHOTS):
            return self.describe()
        name = f"ld-{self.name}-s{self.turn}"
        _, code = self.load.call("create-db-snapshot", lambda: self.rds.create_db_snapshot(
            DBInstanceIdentifier=self.load.instance, DBSnapshotIdentifier=name))  # fmt: skip
        if code:
            self.load.give_slot("snapshot")
        else:
            self.load.made("snapshot", name)
        return None

    def instance(self) -> None:
        if not self.load.take_slot("instance", _MAX_INSTANCES):
            return self.describe()
        name = f"ld-{self.name}-i{self.turn}"
        _, code = self.load.call("create-db-instance", lambda: self.rds.create_db_instance(
            DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="master", MasterUserPassword=self.load.password,
            BackupRetentionPeriod=0))  # fmt: skip
        if code:
            self.load.give_slot("instance")
        else:
            self.load.made("instance", name)
        return None


class _Load:
    """What the workers share: the tally, the slots of heavy resources, and a reaper
    that deletes snapshots and instances once they are ready."""

    def __init__(self, stack: DevStack, directory_id: str, instance: str, seed: int,
                 password: str) -> None:  # fmt: skip
        self.stack, self.directory_id, self.instance = stack, directory_id, instance
        self.seed, self.password = seed, password
        self.tally = ApiLoad()
        self.lock = threading.Lock()
        self.call = _Caller(self.tally, self.lock)
        self.slots: dict[str, int] = {"snapshot": 0, "instance": 0}
        self.pending: list[tuple[str, str]] = []

    def take_slot(self, kind: str, most: int) -> bool:
        with self.lock:
            if self.slots[kind] >= most:
                return False
            self.slots[kind] += 1
            return True

    def give_slot(self, kind: str) -> None:
        with self.lock:
            self.slots[kind] -= 1

    def made(self, kind: str, name: str) -> None:
        with self.lock:
            self.pending.append((kind, name))

    def reap(self, rds: Any) -> None:
        """Delete what is ready of the load's snapshots and instances."""
        with self.lock:
            pending = list(self.pending)
        for kind, name in pending:
            status = _status(rds, kind, name)
            if status not in ("available", "failed", None):
                continue
            if status is not None:
                self.call(f"delete {kind}", lambda k=kind, n=name: _delete(rds, k, n))
            with self.lock:
                self.pending.remove((kind, name))
                self.slots[kind] -= 1

    def race(self, number: int) -> None:
        """Two clients create the same new resource at the same moment."""
        did = self.directory_id
        rds, data = self.stack.client("rds"), self.stack.client("ds-data")
        kind = ("user", "group", "parameter group")[number % 3]
        name = f"race{number}"
        create: Callable[[], Any] = {
            "user": lambda: data.create_user(DirectoryId=did, SAMAccountName=name),
            "group": lambda: data.create_group(DirectoryId=did, SAMAccountName=name),
            "parameter group": lambda: rds.create_db_parameter_group(
                DBParameterGroupName=name, DBParameterGroupFamily="postgres15",
                Description="race"),
        }[kind]  # fmt: skip
        barrier, codes = threading.Barrier(2), []

        def racer() -> None:
            barrier.wait()
            codes.append(self.call(f"race create {kind}", create)[1])

        threads = [threading.Thread(target=racer) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with self.lock:
            self.tally.races += 1
            if codes.count("") != 1 or not set(codes) - {""} <= _ALREADY:
                self.tally.double_wins.append(f"{kind} {name}: {codes}")
        delete = {
            "user": lambda: data.delete_user(DirectoryId=did, SAMAccountName=name),
            "group": lambda: data.delete_group(DirectoryId=did, SAMAccountName=name),
            "parameter group": lambda: rds.delete_db_parameter_group(DBParameterGroupName=name),
        }[kind]
        self.call(f"delete {kind}", delete)


def _status(rds: Any, kind: str, name: str) -> str | None:
    try:
        if kind == "snapshot":
            return str(rds.describe_db_snapshots(DBSnapshotIdentifier=name)["DBSnapshots"][0]
                       ["Status"])  # fmt: skip
        return str(rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
                   ["DBInstanceStatus"])  # fmt: skip
    except Exception:
        return None


def _delete(rds: Any, kind: str, name: str) -> Any:
    if kind == "snapshot":
        return rds.delete_db_snapshot(DBSnapshotIdentifier=name)
    return rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)


def api_load(stack: DevStack, directory_id: str, instance: str, password: str,
             clients: int = 32, seconds: float = 120.0, seed: int = 1) -> ApiLoad:  # fmt: skip
    """The module docstring's API load; ``password`` is the small instances' master's."""
    load = _Load(stack, directory_id, instance, seed, password)
    deadline = time.monotonic() + seconds
    workers = [_Worker(load, n) for n in range(clients)]
    threads = [threading.Thread(target=w.run, args=(deadline,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    rds, number = stack.client("rds"), 0
    while time.monotonic() < deadline:
        load.race(number)
        number += 1
        load.reap(rds)
        time.sleep(_RACE_EVERY)
    for t in threads:
        t.join(timeout=_HANG * 4)
        if t.is_alive():
            load.tally.hung.append("a client still waiting after the load ended")
    _settle(stack, load)
    return load.tally


def _settle(stack: DevStack, load: _Load) -> None:
    """Everything the load made is deleted and gone within 5 minutes, or it is counted."""
    rds = stack.client("rds")
    deadline = time.monotonic() + 300
    while load.pending and time.monotonic() < deadline:
        load.reap(rds)
        time.sleep(1.0)
    load.tally.left_behind += [f"{k} {n} not deletable" for k, n in load.pending]
    instances = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    snapshots = [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]]
    while time.monotonic() < deadline:
        instances = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]
                     if i["DBInstanceIdentifier"].startswith("ld-")]  # fmt: skip
        snapshots = [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]
                     if s["DBSnapshotIdentifier"].startswith("ld-")]  # fmt: skip
        if not instances and not snapshots:
            break
        time.sleep(1.0)
    load.tally.left_behind += [f"instance {i} still there" for i in instances]
    load.tally.left_behind += [f"snapshot {s} still there" for s in snapshots]
    users = stack.client("ds-data").list_users(DirectoryId=load.directory_id)["Users"]
    load.tally.left_behind += [
        f"user {u['SAMAccountName']}"
        for u in users
        if u["SAMAccountName"].lower().startswith(("ld", "race"))
    ]


# -- the login storm ----------------------------------------------------------------------
@dataclass
class Storm:
    rate: float
    seconds: float
    outage: tuple[float, float]
    logins: list[tuple[float, float, bool]] = field(default_factory=list)  # at, seconds, ok
    errors: list[str] = field(default_factory=list)

    def during(self, at: float, seconds: float) -> bool:
        """The login overlapped the outage: it was under way while the DC was stopped."""
        return at < self.outage[1] and at + seconds > self.outage[0]

    def failed(self) -> int:
        return sum(1 for _, _, ok in self.logins if not ok)

    def p99(self, during: bool) -> float:
        times = sorted(s for at, s, ok in self.logins if ok and self.during(at, s) == during)
        return times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0

    def achieved(self) -> float:
        return len(self.logins) / self.seconds


def login_storm(dc_pid: int, conninfo: str, env: dict[str, str], tgt: Path,
                rate: float = 200.0, seconds: float = 60.0, outage: float = 20.0,
                workers: int = 8) -> Storm:  # fmt: skip
    """The module docstring's storm: ``dc_pid`` is the DC to stop, ``tgt`` a credential
    cache holding only the user's TGT, ``env`` the client's (KRB5_CONFIG)."""
    start = (seconds - outage) / 2
    storm = Storm(rate, seconds, (start, start + outage))
    begin = time.time() + 2.0  # the workers' common zero, once they have started
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.load_worker",
                conninfo,
                str(tgt),
                str(begin),
                str(n / rate),  # its offset: the workers' logins interleave
                str(seconds),
                str(rate / workers),
                str(n),
            ],
            env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for n in range(workers)
    ]
    _stop_then_continue(dc_pid, begin + storm.outage[0], outage)
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 120)
        result = json.loads(out.strip().splitlines()[-1])
        storm.logins += [tuple(x) for x in result["logins"]]  # type: ignore[misc]
        storm.errors += result["errors"]
    return storm


def _stop_then_continue(pid: int, when: float, seconds: float) -> None:
    """SIGSTOP the DC's whole process group at ``when`` (a wall-clock time), SIGCONT it
    ``seconds`` later: it is there, and answers nothing."""
    time.sleep(max(0.0, when - time.time()))
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGSTOP)
    time.sleep(seconds)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGCONT)


def copy_ccache(source: Path, target: Path) -> None:
    """A credential cache with only what ``source`` holds (the TGT)."""
    shutil.copyfile(source, target)
