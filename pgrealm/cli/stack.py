"""Starting and stopping the background ``pgrealm server`` for ``pgrealm up``/``down``."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from pgrealm.config import Settings

__all__ = ["server_pid", "start_server", "stop_server", "wait_api"]

log = logging.getLogger(__name__)


def _pidfile(settings: Settings) -> str:
    return str(settings.home / "server.pid")


def server_pid(settings: Settings) -> int | None:
    """The running server's PID, if its pidfile names a live pgrealm server."""
    try:
        pid = int(open(_pidfile(settings)).read().strip())
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if b"server" in cmdline and any(b"pgrealm" in a for a in cmdline) else None


def start_server(settings: Settings, timeout: float = 60.0) -> int:
    """Start the server detached (own session, log in the home) unless it runs already."""
    pid = server_pid(settings)
    if pid is not None:
        return pid
    settings.home.mkdir(parents=True, exist_ok=True)
    logf = open(settings.home / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgrealm", "server"],
        stdin=subprocess.DEVNULL,
        stdout=logf,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=dict(os.environ),
    )
    with open(_pidfile(settings), "w") as f:
        f.write(f"{proc.pid}\n")
    wait_api(settings, timeout, proc)
    return proc.pid


def wait_api(
    settings: Settings, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"pgrealm server exited ({proc.returncode}); see {settings.home / 'server.log'}"
            )
        try:
            urllib.request.urlopen(settings.api_url + "/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answered: unsigned requests are refused, as they should be
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"pgrealm server did not answer on {settings.api_url}")


def stop_server(settings: Settings, timeout: float = 120.0) -> bool:
    """SIGTERM the server (it stops every managed process first); True if one was running."""
    pid = server_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server_pid(settings) is None:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    try:
        os.unlink(_pidfile(settings))
    except FileNotFoundError:
        pass
    return True
