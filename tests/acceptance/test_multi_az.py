"""Multi-AZ on real PostgreSQL, through the aws CLI and boto3: a standby in another zone
streams synchronously; reboot --force-failover, and a postmaster killed by hand, promote
it. Each time the endpoint name moves to it, every commit that returned is there, and a
directory user's Kerberos login to the same endpoint and SPN works after a reconnect."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest

from pgrealm.reconcile.db_multi_az import process_name
from pgrealm.store import Store
from pgrealm.store.kinds import Kind
from tests.acceptance.conftest import REALM, joined_instance
from tests.acceptance.test_read_replicas import _available, _instance
from tests.acceptance.test_seed_flow import kinit, new_directory_user, psql
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance

MIRA = f"mira@{REALM}"
IDENT = "mazdb"


class _Writer(threading.Thread):
    """Commits numbered rows with Kerberos logins, one connection each, and keeps the
    numbers whose commit returned."""

    def __init__(self, env: dict[str, str], conninfo: str, first: int) -> None:
        super().__init__(daemon=True)
        self.env, self.conninfo, self.next = env, conninfo, first
        self.committed: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            done = psql(self.env, self.conninfo, f"INSERT INTO ledger VALUES ({self.next})")
            if done.returncode == 0:
                self.committed.append(self.next)
            self.next += 1


def _rows(env: dict[str, str], conninfo: str) -> set[int]:
    done = psql(env, conninfo, "SELECT n FROM ledger")
    assert done.returncode == 0, done.stderr
    return {int(n) for n in done.stdout.split()}


def _server(env: dict[str, str], conninfo: str) -> str:
    """The VPC address of the server a Kerberos login reached, and that it was GSSAPI."""
    done = psql(env, conninfo, "SELECT inet_server_addr(), gss_authenticated "
                "FROM pg_stat_gssapi WHERE pid = pg_backend_pid()")  # fmt: skip
    assert done.returncode == 0, done.stderr
    address, gss = done.stdout.strip().split("|")
    assert gss == "t"
    return address


def _failover_through(stack: StackHandle, env: dict[str, str], conninfo: str, act: Any) -> None:
    """Write rows while ``act`` fails the instance over; every committed row survives."""
    before = _server(env, conninfo)
    writer = _Writer(env, conninfo, first=max(_rows(env, conninfo)) + 1)
    writer.start()
    stack.wait("rows to be written", lambda: len(writer.committed) >= 3, timeout=30)
    act()
    stack.wait(
        "a Kerberos login to reach the promoted server",
        lambda: (
            psql(env, conninfo, "SELECT 1").returncode == 0 and _server(env, conninfo) != before
        ),
        timeout=90,
        every=0.5,
    )
    stack.wait("rows written after the failover", lambda: writer.committed[-1] > writer.next - 3,
               timeout=30)  # fmt: skip
    writer.halt.set()
    writer.join(timeout=60)
    assert set(writer.committed) <= _rows(env, conninfo)


def test_failovers_move_the_endpoint_and_keep_every_commit(
    stack: StackHandle, directory: dict[str, Any], rds_role: str, kerberos: dict[str, str]
) -> None:
    endpoint, master = joined_instance(stack, directory, rds_role, IDENT, multi_az=True)
    shown = _instance(stack, IDENT)
    assert shown["MultiAZ"] is True
    first_zone, second_zone = shown["AvailabilityZone"], shown["SecondaryAvailabilityZone"]
    assert first_zone != second_zone

    as_master = {"PATH": "/usr/bin:/bin", "PGPASSWORD": master}
    made = psql(as_master, f"host={endpoint} dbname=postgres user=master", f"""
        CREATE USER "{MIRA}" WITH LOGIN; GRANT rds_ad TO "{MIRA}";
        CREATE TABLE ledger (n int PRIMARY KEY); INSERT INTO ledger VALUES (0);
        GRANT SELECT, INSERT ON ledger TO "{MIRA}";""")  # fmt: skip
    assert made.returncode == 0, made.stderr
    password = new_directory_user(stack, directory["DirectoryId"], "mira")
    assert kinit(kerberos, MIRA, password).returncode == 0
    conninfo = f"host={endpoint} dbname=postgres user={MIRA} connect_timeout=3"

    # reboot --force-failover: the standby takes over, in the other zone.
    _failover_through(
        stack,
        kerberos,
        conninfo,
        lambda: stack.aws(
            "rds", "reboot-db-instance", "--db-instance-identifier", IDENT, "--force-failover"
        ),
    )
    after = _available(stack, IDENT)
    assert (after["AvailabilityZone"], after["SecondaryAvailabilityZone"]) == (
        second_zone, first_zone)  # fmt: skip
    assert after["Endpoint"]["Address"] == endpoint
    assert [m["Status"] for m in after["DomainMemberships"]] == ["kerberos-enabled"]
    events = stack.aws("rds", "describe-events", "--source-type", "db-instance",
                       "--source-identifier", IDENT)["Events"]  # fmt: skip
    messages = [e["Message"] for e in events]
    assert "Multi-AZ instance failover started" in messages
    assert "Multi-AZ instance failover completed" in messages

    # The primary's postmaster killed by hand: a failover too, as on a host failure.
    def kill_primary() -> None:
        store = Store(stack.home / "state.db")
        (doc,) = [
            d for d in store.list(Kind.DB_INSTANCE) if d["aws"]["DBInstanceIdentifier"] == IDENT
        ]
        (proc,) = [p for p in store.list("process") if p["name"] == process_name(doc)]
        os.kill(int(proc["pid"]), signal.SIGKILL)

    _failover_through(stack, kerberos, conninfo, kill_primary)
    again = _available(stack, IDENT)
    assert again["AvailabilityZone"] == first_zone

    # Back to one zone: the standby, its address and its process go.
    stack.aws("rds", "modify-db-instance", "--db-instance-identifier", IDENT, "--no-multi-az",
              "--apply-immediately")  # fmt: skip
    single = stack.wait(
        f"{IDENT} to be single-AZ",
        lambda: (
            lambda i: i if i["DBInstanceStatus"] == "available" and not i["MultiAZ"] else None
        )(_instance(stack, IDENT)),
        timeout=120,
    )
    assert "SecondaryAvailabilityZone" not in single
    assert _server(kerberos, conninfo)
    names = [p["name"] for p in Store(stack.home / "state.db").list("process")]
    assert len([n for n in names if IDENT in n]) == 1, names
    stack.aws("rds", "delete-db-instance", "--db-instance-identifier", IDENT,
              "--skip-final-snapshot")  # fmt: skip
