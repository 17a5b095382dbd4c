"""The supervisor restarts what dies, adopts what survives, and never doubles a process."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pgrealm.store import Store
from pgrealm.supervisor import ProcessSpec, Supervisor
from pgrealm.supervisor.process import is_alive


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
    finally:
        Supervisor(store).stop("t/sleeper", forget=True)
    assert not is_alive(first)
