"""``make chaos`` (``python -m bench.chaos``): faults at random points under a workload,
with a fixed seed and a bounded run, and what they cost.

A stack of its own gets a directory, a user ``writer`` and a Kerberos-joined instance.
While ``writer`` inserts numbered rows over GSSAPI and an API workload creates and
deletes directory users and small instances, and snapshots the instance and restores the
snapshots into new ones, one fault at a time is injected, SIGKILL each:

    server       the pgrealm server (restarted, as after a crash)
    dc1, dc2     a domain controller (the supervisor restarts it)
    postmaster   the instance's PostgreSQL
    samdb        the directory's serving sam.ldb helper
    basebackup   a pg_basebackup in flight (a DB snapshot being taken)

After each, recovery is the moment a Kerberos login inserts a row again with every
resource back where its last call left it. At the end: every row whose commit returned
must be there, every user, instance and snapshot must be where the last call that
answered put it (then the workload's are deleted and must go), no resource may be stuck,
nothing may be orphaned (addresses, endpoint names, files under the home, processes after
the stop), no API call may have answered 5xx, and no password may have shown in any
process's command line or environment, nor in any file under the stack's home.

Then, on the same stack, the load of bench/load.py: concurrent API clients with races for
the same names, and a Kerberos login storm while a DC is stopped. The table goes to
stdout and bench/results/reliability.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.badinput import Sweep, sweep
from bench.load import ApiLoad, Storm, api_load, login_storm
from pgrealm.cli.demo import POLICY_ARN, TRUST
from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.devstack import DevStack, cleanup, free_port, make_home
from pgrealm.engines import hosts, netns
from pgrealm.passwords import random_password
from pgrealm.store import Store
from pgrealm.store.kinds import Kind

RESULTS = Path(__file__).resolve().parent / "results" / "reliability.md"
BLOCK = os.environ.get("PGREALM_CHAOS_BLOCK", "198.19.144.0/20")  # nobody else's
REALM, DOMAIN, INSTANCE = "CHAOS.EXAMPLE.COM", "chaos.example.com", "chaosdb"
FAULTS = ("server", "dc1", "dc2", "postmaster", "samdb", "basebackup")
BAD_INPUT_ACCOUNT = "444444444444"  # the bad-input sweep's: nothing of the workload's


@dataclass
class Tally:
    injected: list[str] = field(default_factory=list)
    recovered: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    committed: set[int] = field(default_factory=set)
    api_calls: int = 0
    api_5xx: list[str] = field(default_factory=list)
    secrets_seen: set[str] = field(default_factory=set)
    load: ApiLoad | None = None
    storm: Storm | None = None
    bad_input: Sweep | None = None
    seconds: float = 0.0  # the whole run, stack start to stop


@dataclass(frozen=True)
class LoadPlan:
    """bench/load.py's sizes: make chaos's, or make test's shorter ones."""

    clients: int = 32
    seconds: float = 120.0
    storm_rate: float = 200.0
    storm_seconds: float = 60.0
    outage: float = 20.0
    bad_input: int | None = None  # bad requests per operation (None: every generated one)

    def problems(self, tally: Tally) -> list[str]:
        """What the load found that must not happen."""
        found: list[str] = []
        if tally.load is not None:
            load = tally.load
            found += load.five_xx + load.hung + load.double_wins + load.left_behind
        storm = tally.storm
        if storm is not None:
            outside = [ok for at, s, ok in storm.logins if not storm.during(at, s)]
            if False in outside:
                found.append(f"{outside.count(False)} logins failed outside the DC outage")
                found += sorted(set(storm.errors))[:5]
        if tally.bad_input is not None:
            found += tally.bad_input.wrong
            if tally.bad_input.created:
                found.append(f"invalid requests created {tally.bad_input.created} records")
        return found


class Chaos:
    def __init__(self, stack: DevStack, seed: int, workdir: Path) -> None:
        self.stack = stack
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.tally = Tally()
        self.passwords: list[str] = []
        self.stop_writing = threading.Event()
        self.directory_id = ""
        self.endpoint = ""
        self.env: dict[str, str] = {}
        self.writer_password = ""
        self.master_password = ""
        self.promised: dict[tuple[str, str], bool] = {}  # (kind, name) -> there or gone

    # -- setup --------------------------------------------------------------------------
    def secret(self) -> str:
        password = random_password(20)
        self.passwords.append(password)
        return password

    def setup(self) -> None:
        iam, ds = self.stack.client("iam"), self.stack.client("ds")
        iam.create_role(RoleName="rds-ad", AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.attach_role_policy(RoleName="rds-ad", PolicyArn=POLICY_ARN)
        subnets = self.stack.client("ec2").describe_subnets(
            Filters=[{"Name": "default-for-az", "Values": ["true"]}]
        )["Subnets"][:2]
        self.directory_id = ds.create_microsoft_ad(
            Name=DOMAIN,
            ShortName="CHAOS",
            Password=self.secret(),
            Edition="Standard",
            VpcSettings={
                "VpcId": subnets[0]["VpcId"],
                "SubnetIds": [s["SubnetId"] for s in subnets],
            },
        )["DirectoryId"]
        directory = self.stack.wait("the directory", self._active, timeout=300)
        ds.enable_directory_data_access(DirectoryId=self.directory_id)
        writer = self.writer_password = self.secret()
        self.stack.client("ds-data").create_user(
            DirectoryId=self.directory_id, SAMAccountName="writer"
        )
        ds.reset_user_password(DirectoryId=self.directory_id, UserName="writer", NewPassword=writer)
        master = self.master_password = self.secret()
        self.stack.client("rds").create_db_instance(
            DBInstanceIdentifier=INSTANCE,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="postgres",
            MasterUserPassword=master,
            Domain=self.directory_id,
            DomainIAMRoleName="rds-ad",
        )
        inst = self.stack.wait("the instance", self._instance_ready, timeout=300)
        self.endpoint = inst["Endpoint"]["Address"]
        conf = self.workdir / "krb5.conf"
        conf.write_text(render_krb5_conf(REALM, self.stack.kdcs(directory), [self.endpoint]))
        self.env = {
            "PATH": "/usr/bin:/bin",
            "KRB5_CONFIG": str(conf),
            "KRB5CCNAME": f"FILE:{self.workdir}/ccache",
            "PGCONNECT_TIMEOUT": "3",
        }
        sql = (
            f'CREATE USER "writer@{REALM}" WITH LOGIN; GRANT rds_ad TO "writer@{REALM}";'
            "CREATE TABLE chaos (n int PRIMARY KEY);"
            f'GRANT INSERT, SELECT ON chaos TO "writer@{REALM}";'
        )
        self._psql("postgres", sql, password=master, check=True)
        subprocess.run(["kinit", f"writer@{REALM}"], input=writer + "\n", env=self.env,
                       capture_output=True, text=True, check=True, timeout=30)  # fmt: skip

    def _active(self) -> Any:
        desc = self._call(
            lambda: self.stack.client("ds").describe_directories(DirectoryIds=[self.directory_id])
        )
        found = desc and desc["DirectoryDescriptions"][0]
        if found and found["Stage"] == "Failed":
            raise RuntimeError(f"directory failed: {found.get('StageReason')}")
        return found if found and found["Stage"] == "Active" else None

    def _instance_ready(self) -> Any:
        out = self._call(
            lambda: self.stack.client("rds").describe_db_instances(DBInstanceIdentifier=INSTANCE)
        )
        inst = out and out["DBInstances"][0]
        ok = (
            inst
            and inst["DBInstanceStatus"] == "available"
            and all(m["Status"] == "kerberos-enabled" for m in inst["DomainMemberships"])
        )
        return inst if ok else None

    def _call(self, fn: Callable[[], Any]) -> Any:
        """One API call of the workload: a 5xx is counted, anything else is a miss."""
        self.tally.api_calls += 1
        try:
            return fn()
        except Exception as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status and int(status) >= 500:
                self.tally.api_5xx.append(str(exc)[:200])
            return None

    def _psql(self, user: str, sql: str, password: str | None = None, check: bool = False) -> bool:
        env = dict(self.env)
        if password is not None:
            env["PGPASSWORD"] = password  # our own client's environment, as a user would
        conninfo = f"host={self.endpoint} port=5432 dbname=postgres user={user}"
        done = subprocess.run(
            ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql],
            env=env, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr.strip()}")
        return done.returncode == 0

    # -- the workload -------------------------------------------------------------------
    def write_rows(self) -> None:
        n = 0
        while not self.stop_writing.is_set():
            n += 1
            if self._psql(f"writer@{REALM}", f"INSERT INTO chaos VALUES ({n})"):
                self.tally.committed.add(n)  # its commit returned: it must survive
            self.stop_writing.wait(0.1)

    def api_round(self, number: int) -> None:
        """One round of the API workload; what each call that answered promised is noted,
        and checked once the faults are over (:meth:`broken_promises`)."""
        data, did = self.stack.client("ds-data"), self.directory_id
        name = f"u{number}"
        if self._call(lambda: data.create_user(DirectoryId=did, SAMAccountName=name)):
            gone = self._call(lambda: data.delete_user(DirectoryId=did, SAMAccountName=name))
            self.promised["user", name] = gone is None  # still there unless deleted
        self._call(lambda: self.stack.client("rds").describe_db_instances())
        self._instance_round(number)

    def _instance_round(self, number: int) -> None:
        """Small instances made and deleted, a snapshot of chaosdb restored into a new one,
        in a fixed rhythm, while the faults come."""
        rds = self.stack.client("rds")
        step = number % 8
        if step == 1:
            name = f"cw{number}"
            made = self._call(lambda: rds.create_db_instance(
                DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
                MasterUsername="master", MasterUserPassword=self.master_password,
                BackupRetentionPeriod=0))  # fmt: skip
            if made:
                self.promised["instance", name] = True
        elif step == 3:
            name = f"cs{number}"
            if self._call(lambda: rds.create_db_snapshot(DBInstanceIdentifier=INSTANCE,
                                                         DBSnapshotIdentifier=name)):  # fmt: skip
                self.promised["snapshot", name] = True
        elif step == 6:
            self._restore_and_delete(rds, f"cs{number - 3}", f"cr{number}")
            self._delete_instance(rds, f"cw{number - 5}")

    def _restore_and_delete(self, rds: Any, snapshot: str, target: str) -> None:
        if self.promised.get(("snapshot", snapshot)) and self._call(
            lambda: rds.restore_db_instance_from_db_snapshot(
                DBInstanceIdentifier=target, DBSnapshotIdentifier=snapshot)):  # fmt: skip
            self.promised["instance", target] = True
        if self.promised.get(("snapshot", snapshot)) and self._call(
            lambda: rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot)
        ):
            self.promised["snapshot", snapshot] = False

    def _delete_instance(self, rds: Any, name: str) -> None:
        if self.promised.get(("instance", name)) and self._call(
            lambda: rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
        ):
            self.promised["instance", name] = False

    def broken_promises(self) -> list[str]:
        """Each resource where its last answered call said, within 5 minutes; then the
        workload's instances and snapshots are deleted, and must be gone as promised."""
        rds = self.stack.client("rds")
        deadline = time.monotonic() + 300
        while True:
            broken = self._unkept(rds)
            if not broken or time.monotonic() > deadline:
                break
            time.sleep(2.0)
        for (kind, name), present in list(self.promised.items()):
            if present and kind == "instance":
                self._delete_instance(rds, name)
            elif (
                present
                and kind == "snapshot"
                and self._call(lambda name=name: rds.delete_db_snapshot(DBSnapshotIdentifier=name))
            ):
                self.promised["snapshot", name] = False
        while time.monotonic() < deadline + 300:
            left = self._unkept(rds)
            if not left:
                break
            time.sleep(2.0)
        return broken + left

    def _unkept(self, rds: Any) -> list[str]:
        users = self.stack.client("ds-data").list_users(DirectoryId=self.directory_id)["Users"]
        instances = rds.describe_db_instances()["DBInstances"]
        snapshots = rds.describe_db_snapshots()["DBSnapshots"]
        have = {("user", u["SAMAccountName"]) for u in users}
        have |= {("instance", i["DBInstanceIdentifier"]) for i in instances
                 if i["DBInstanceStatus"] in ("available", "backing-up")}  # fmt: skip
        have |= {("snapshot", x["DBSnapshotIdentifier"]) for x in snapshots
                 if x["Status"] == "available"}  # fmt: skip
        exists = {i["DBInstanceIdentifier"] for i in instances}
        exists |= {x["DBSnapshotIdentifier"] for x in snapshots}
        unkept = []
        for (kind, name), present in self.promised.items():
            if present and (kind, name) not in have:
                unkept.append(f"{kind} {name}: promised, not there")
            if not present and (name in exists if kind != "user" else (kind, name) in have):
                unkept.append(f"{kind} {name}: deleted, still there")
        return unkept

    # -- faults -------------------------------------------------------------------------
    def _pid(self, suffix: str) -> int | None:
        for doc in Store(self.stack.home / "state.db").list(Kind.PROCESS):
            if str(doc["name"]).endswith(suffix) and doc.get("pid"):
                return int(doc["pid"])
        return None

    def _pids_matching(self, words: tuple[str, ...]) -> list[int]:
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
            except OSError:
                continue
            if all(w.encode() in seen for w in words):
                found.append(int(proc.name))
        return found

    def _basebackups(self) -> list[int]:
        """The pg_basebackup clients of this stack: not the server's walsender, whose
        title names the backup too (killing that is a crash of the instance, not this)."""
        found = []
        for pid in self._pids_matching(("pg_basebackup", str(self.stack.home))):
            try:
                argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if argv0.endswith(b"/pg_basebackup"):
                found.append(pid)
        return found

    def inject(self, kind: str) -> None:
        if kind == "server":
            self.stack.kill()
            self.stack.start()
        elif kind in ("dc1", "dc2", "postmaster"):
            suffix = f"/{kind}" if kind != "postmaster" else f"-{INSTANCE}"
            killed = self._pid(suffix)
            _kill(killed)
            # Back means a new process the supervisor started, not the dead one's record.
            self.stack.wait(
                f"{kind} to be restarted",
                lambda: self._pid(suffix) not in (None, killed) and _alive(self._pid(suffix)),
                timeout=120,
            )
        elif kind == "samdb":
            self._call(
                lambda: self.stack.client("ds-data").list_users(DirectoryId=self.directory_id)
            )
            for pid in self._pids_matching(("_samdb_tool.py", str(self.stack.home))):
                _kill(pid)
        elif kind == "basebackup":
            self._basebackup_fault()

    def _basebackup_fault(self) -> None:
        rds, name = self.stack.client("rds"), f"snap-{len(self.tally.injected)}"
        # Refused while the instance is busy (another snapshot of the workload's): again.
        self.stack.wait(
            f"{name} to be accepted",
            lambda: self._call(lambda: rds.create_db_snapshot(
                DBInstanceIdentifier=INSTANCE, DBSnapshotIdentifier=name)) is not None,
            timeout=180,
            every=1.0,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = self._basebackups()
            if pids:
                for pid in pids:
                    _kill(pid)
                break
            time.sleep(0.02)
        self.stack.wait(
            f"{name} to be taken after all",
            lambda: (self._call(lambda: rds.describe_db_snapshots(DBSnapshotIdentifier=name)) or
                     {"DBSnapshots": [{}]})["DBSnapshots"][0].get("Status") == "available",
            timeout=180,
        )  # fmt: skip
        self._call(lambda: rds.delete_db_snapshot(DBSnapshotIdentifier=name))

    def recover(self, since: float) -> float:
        """Seconds from the fault until everything answers and a Kerberos insert lands."""
        self.stack.wait("the directory to be Active again", self._active, timeout=300)
        self.stack.wait("the instance to be back", self._instance_ready, timeout=300)
        before = len(self.tally.committed)
        self.stack.wait(
            "a Kerberos login to insert again",
            lambda: len(self.tally.committed) > before,
            timeout=120,
        )
        return time.monotonic() - since

    def look_for_secrets(self) -> None:
        for pid in self._pids_matching(()):
            if pid == os.getpid():
                continue
            try:
                seen = (
                    Path(f"/proc/{pid}/cmdline").read_bytes()
                    + Path(f"/proc/{pid}/environ").read_bytes()
                )
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == os.getpid():
                continue  # our own psql clients, given PGPASSWORD as a user would
            for password in self.passwords:
                if password.encode() in seen:
                    self.tally.secrets_seen.add(f"pid {pid}")

    # -- load -------------------------------------------------------------------------
    def load(self, plan: LoadPlan) -> None:
        print(f"  load: {plan.clients} API clients for {plan.seconds:.0f} s", flush=True)
        self.tally.load = api_load(self.stack, self.directory_id, INSTANCE,
                                   self.master_password, plan.clients, plan.seconds)  # fmt: skip
        tgt = self.workdir / "tgt"
        subprocess.run(["kinit", "-c", f"FILE:{tgt}", f"writer@{REALM}"],
                       input=self.writer_password + "\n", env=self.env, capture_output=True,
                       text=True, check=True, timeout=30)  # fmt: skip
        dc1 = self._pid("/dc1")
        assert dc1 is not None
        print(f"  load: a login storm at {plan.storm_rate:.0f}/s for {plan.storm_seconds:.0f} s, "
              f"dc1 stopped for {plan.outage:.0f} s", flush=True)  # fmt: skip
        conninfo = (f"host={self.endpoint} port=5432 dbname=postgres user=writer@{REALM} "
                    "connect_timeout=10")  # fmt: skip
        self.tally.storm = login_storm(dc1, conninfo, self.env, tgt, plan.storm_rate,
                                       plan.storm_seconds, plan.outage)  # fmt: skip
        self.stack.wait("the directory to be Active after the storm", self._active, timeout=300)
        print(f"  bad input: every served operation's, {plan.bad_input or 'all'} each", flush=True)
        self.tally.bad_input = sweep(self.stack.url, BAD_INPUT_ACCOUNT, plan.bad_input,
                                     self._records)  # fmt: skip

    def _records(self) -> int:
        store = Store(self.stack.home / "state.db")
        return sum(len(store.keys(kind)) for kind in Kind if kind != Kind.PROCESS)

    def look_in_files(self, home: Path) -> None:
        """No password in plain text in any file the stack wrote (logs, state, homes)."""
        secrets = [p.encode() for p in self.passwords]
        for path in home.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():
                    data = path.read_bytes()
                else:
                    continue
            except OSError:
                continue
            if any(secret in data for secret in secrets):
                self.tally.secrets_seen.add(f"file {path}")

    # -- the end ------------------------------------------------------------------------
    def _orphan_namespaces(self, owners: set[str]) -> list[str]:
        """Host namespaces no DC or instance owns (a router goes with its last host)."""
        net = self.stack.network()
        wanted = {net.host_namespace(a) for a in owners}
        return [f"netns {ns}" for ns in sorted(netns.namespaces(net.prefix))
                if "-h-" in ns and ns not in wanted]  # fmt: skip

    def lost_rows(self) -> set[int]:
        conninfo = f"host={self.endpoint} port=5432 dbname=postgres user=writer@{REALM}"
        done = subprocess.run(
            ["psql", "-X", "-At", conninfo, "-c", "SELECT n FROM chaos"],
            env=self.env, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        present = {int(line) for line in done.stdout.split()}
        return self.tally.committed - present

    def orphans(self) -> list[str]:
        store = Store(self.stack.home / "state.db")
        found = []
        owners = {d["address"] for d in store.list(Kind.DB_INSTANCE)}
        for directory in store.list(Kind.DIRECTORY):
            owners |= {dc["address"] for dc in directory["dcs"]}
        found += [f"address {a['HostIp']}" for a in store.list(Kind.ADDRESS)
                  if a["HostIp"] not in owners]  # fmt: skip
        found += self._orphan_namespaces(owners)
        endpoints = {d["aws"]["Endpoint"]["Address"] for d in store.list(Kind.DB_INSTANCE)}
        names = hosts.published(Path("/etc/hosts"), str(self.stack.home))
        found += [f"hosts line {n}" for n in names if n not in endpoints]
        snapshots = {f"{k[0]}-{k[1]}-{k[2]}" for k, _ in store.items(Kind.DB_SNAPSHOT)}
        instances = {f"{k[0]}-{k[1]}-{k[2]}" for k, _ in store.items(Kind.DB_INSTANCE)}
        directories = {str(d["aws"]["DirectoryId"]) for d in store.list(Kind.DIRECTORY)}
        for folder, owned in (("snapshots", snapshots), ("instances", instances),
                              ("directories", directories)):  # fmt: skip
            root = self.stack.home / folder
            if root.exists():
                found += [f"file {p}" for p in root.iterdir() if p.name not in owned]
        found += [f"keytab {p}" for p in self._keytabs_without_a_domain(store)]
        return found

    def _keytabs_without_a_domain(self, store: Store) -> list[Path]:
        """An instance's keytab lives only while it is in a domain."""
        found = []
        for key, doc in store.items(Kind.DB_INSTANCE):
            home = self.stack.home / "instances" / f"{key[0]}-{key[1]}-{key[2]}"
            if not doc["aws"].get("DomainMemberships"):
                found += list(home.glob("**/krb5.keytab"))
        return found


def _alive(pid: int | None) -> bool:
    return bool(pid) and Path(f"/proc/{pid}").exists()


def _kill(pid: int | None) -> None:
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def run(
    seed: int, faults: int, budget: float, block: str = BLOCK, plan: LoadPlan | None = None
) -> tuple[Tally, list[str], list[str]]:
    """Returns the tally, orphans found while running, and processes left after the stop.
    ``plan``: the load after the faults (none: no load)."""
    if os.geteuid() != 0:
        raise SystemExit("make chaos needs root (Samba AD DC, PostgreSQL's own OS user)")
    home = make_home("pgrealm-chaos-")
    stack = DevStack(home, free_port(), block)
    workdir = Path(tempfile.mkdtemp(prefix="pgrealm-chaos-client-"))
    chaos = Chaos(stack, seed, workdir)
    orphans: list[str] = []
    started = time.monotonic()
    stack.start()
    try:
        chaos.setup()
        writer = threading.Thread(target=chaos.write_rows, daemon=True)
        writer.start()
        for number in range(faults):
            if time.monotonic() - started > budget:
                break
            kind = (
                FAULTS[number % len(FAULTS)] if number < len(FAULTS) else chaos.rng.choice(FAULTS)
            )
            chaos.api_round(number)
            time.sleep(chaos.rng.uniform(0.0, 1.0))  # a random point of the workload
            at = time.monotonic()
            chaos.tally.injected.append(kind)
            try:
                chaos.inject(kind)
                chaos.tally.recovered.append(chaos.recover(at))
            except Exception as exc:
                chaos.tally.failed.append(f"{kind}: {exc}"[:300])
            chaos.look_for_secrets()
            print(
                f"  fault {number + 1:>3} {kind:<10} recovered in {time.monotonic() - at:5.1f} s",
                flush=True,
            )
        chaos.stop_writing.set()
        writer.join(timeout=30)
        lost = chaos.lost_rows()
        chaos.tally.failed += [f"row {n} lost" for n in sorted(lost)]
        chaos.tally.failed += chaos.broken_promises()
        if plan is not None:
            chaos.load(plan)
            chaos.look_for_secrets()
        orphans = chaos.orphans()
    finally:
        chaos.stop_writing.set()
        stack.stop()
        chaos.tally.seconds = time.monotonic() - started
    chaos.look_in_files(home)
    leftovers = [f"pid {p}" for p in _processes_of(home)]
    cleanup(home, keep=bool(chaos.tally.failed or orphans or leftovers), block=block)
    shutil.rmtree(workdir, ignore_errors=True)  # the client's krb5.conf and ccache
    return chaos.tally, orphans, leftovers


def _processes_of(home: Path) -> list[int]:
    from pgrealm.devstack import _pids_using

    return _pids_using(home)


def report(tally: Tally, orphans: list[str], leftovers: list[str], seed: int) -> str:
    times = sorted(tally.recovered)
    median = times[len(times) // 2] if times else 0.0
    lost = [f for f in tally.failed if f.endswith("lost")]
    rows = [
        ("faults survived / injected", f"{len(tally.recovered)} / {len(tally.injected)}"),
        ("faults by kind", ", ".join(f"{k} {tally.injected.count(k)}" for k in FAULTS)),
        ("recovery, median / worst", f"{median:.1f} s / {max(times, default=0.0):.1f} s"),
        ("rows committed / lost", f"{len(tally.committed)} / {len(lost)}"),
        ("stuck resources", str(len([f for f in tally.failed if not f.endswith("lost")]))),
        ("orphans", str(len(orphans) + len(leftovers))),
        ("API calls / 5xx", f"{tally.api_calls} / {len(tally.api_5xx)}"),
        ("secrets found", str(len(tally.secrets_seen))),
        *_load_rows(tally),
        ("the whole run", f"{tally.seconds / 60:.1f} min"),
    ]
    lines = [
        f"# pgrealm reliability (make chaos, seed {seed})",
        "",
        "| what | result |",
        "|---|---|",
        *[f"| {a} | {b} |" for a, b in rows],
    ]
    details = tally.failed + orphans + leftovers + tally.api_5xx + sorted(tally.secrets_seen)
    details += LoadPlan().problems(tally)
    if details:
        lines += ["", "Problems:", "", *[f"- {d}" for d in details]]
    if tally.storm is not None and tally.storm.errors:
        lines += ["", "Why logins failed in the storm (first few):", ""]
        lines += [f"- {e}" for e in tally.storm.errors[:5]]
    return "\n".join(lines) + "\n"


def _load_rows(tally: Tally) -> list[tuple[str, str]]:
    rows = []
    load, storm = tally.load, tally.storm
    if load is not None:
        lat = sorted(load.latencies) or [0.0]
        rows += [
            ("API load: calls / 5xx / hung", f"{load.calls} / {len(load.five_xx)} / "
             f"{len(load.hung)}"),
            ("API load: call time p50 / p99 / worst", f"{lat[len(lat) // 2] * 1e3:.0f} ms / "
             f"{lat[int(len(lat) * 0.99)] * 1e3:.0f} ms / {lat[-1]:.1f} s"),
            ("API load: races for one name / with two winners",
             f"{load.races} / {len(load.double_wins)}"),
            ("API load: resources left behind", str(len(load.left_behind))),
        ]  # fmt: skip
    sweep_done = tally.bad_input
    if sweep_done is not None:
        got = sweep_done.tally
        rows += [
            ("bad input: invalid requests / 4xx", f"{got['sent']} / {got['4xx']}"),
            ("bad input: hostile strings sent", str(got["hostile sent"])),
            ("bad input: answers breaking a rule (5xx, traceback, not 4xx)",
             str(len(sweep_done.wrong))),
        ]  # fmt: skip
    if storm is not None:
        rows += [
            ("login storm: asked / achieved", f"{storm.rate:.0f}/s / {storm.achieved():.0f}/s "
             f"for {storm.seconds:.0f} s"),
            ("login storm: logins / failed", f"{len(storm.logins)} / {storm.failed()}"),
            (f"login storm: connect p99, outside / during a {storm.outage[1] - storm.outage[0]:.0f}"
             " s DC outage", f"{storm.p99(False) * 1e3:.0f} ms / {storm.p99(True) * 1e3:.0f} ms"),
        ]  # fmt: skip
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    p.add_argument("--seed", type=int, default=20261129)
    p.add_argument("--faults", type=int, default=50)
    p.add_argument("--budget", type=float, default=1080.0, help="seconds before it stops injecting")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args()
    plan = LoadPlan()
    tally, orphans, leftovers = run(args.seed, args.faults, args.budget, plan=plan)
    text = report(tally, orphans, leftovers, args.seed)
    print(text)
    args.output.write_text(text)
    clean = not (tally.failed or orphans or leftovers or tally.api_5xx or tally.secrets_seen
                 or plan.problems(tally))  # fmt: skip
    raise SystemExit(0 if clean else 1)


if __name__ == "__main__":
    main()
