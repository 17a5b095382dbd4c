"""The supervisor restarts what dies, adopts what survives, and never doubles a process."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pgrealm.store import Store
from pgrealm.supervisor import ProcessSpec, Supervisor
from pgrealm.supervisor.process import group_members, is_alive, start, stop


def _spec(tmp_path: Path) -> ProcessSpec:
    return ProcessSpec(name="t/sleeper", argv=["/bin/sleep", "300"], log_path=tmp_path / "s.log")


def test_restarts_a_process_that_died(tmp_path: Path) -> None:
    sup = Supervisor(Store(tmp_path / "state.db"))
    first = sup.ensure_running(_spec(tmp_path))
    try:
        os.kill(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sup.check_once()
            second = sup.running("t/sleeper")
            if second is not None and second.pid != first.pid:
                break
            time.sleep(0.1)
        assert second is not None and second.pid != first.pid
    finally:
        sup.stop("t/sleeper", forget=True)
    assert sup.running("t/sleeper") is None


def test_a_new_supervisor_adopts_the_running_copy(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    first = Supervisor(store).ensure_running(_spec(tmp_path))
    try:
        again = Supervisor(Store(tmp_path / "state.db")).ensure_running(_spec(tmp_path))
        assert again == first and is_alive(first)
        assert Supervisor(store).running_names() == {"t/sleeper"}
    finally:
        Supervisor(store).stop("t/sleeper", forget=True)
    assert not is_alive(first)


def test_stop_waits_for_the_whole_process_group(tmp_path: Path) -> None:
    # Like samba's prefork master: the leader exits on SIGTERM, a worker lingers.
    script = "(trap '' TERM; exec sleep 300) & exec sleep 300"
    spec = ProcessSpec(name="t/group", argv=["/bin/sh", "-c", script], log_path=tmp_path / "g.log")
    proc = start(spec)
    deadline = time.monotonic() + 5
    while len(group_members(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(group_members(proc.pid)) == 2
    stop(proc, [signal.SIGTERM, signal.SIGKILL], timeout=1.0)
    assert group_members(proc.pid) == []


def test_a_process_left_to_its_owner_is_reported_not_restarted(tmp_path: Path) -> None:
    # A Multi-AZ primary: its death is a failover, which its reconciler does.
    store = Store(tmp_path / "state.db")
    sup = Supervisor(store)
    spec = ProcessSpec(
        name="t/primary", argv=["/bin/sleep", "300"], log_path=tmp_path / "p.log", restart=False
    )
    first = sup.ensure_running(spec)
    try:
        assert not sup.crashed("t/primary")
        os.kill(first.pid, signal.SIGKILL)
        time.sleep(0.5)
        sup.check_once()
        assert sup.running("t/primary") is None and sup.crashed("t/primary")
        # Stopped with the whole stack, it is not a crash: the next start brings it back.
        sup.ensure_running(spec)
        sup.stop_all()
        again = Supervisor(store)
        assert not again.crashed("t/primary")
        again.check_once()
        assert again.running("t/primary") is not None
    finally:
        Supervisor(store).stop("t/primary", forget=True)
