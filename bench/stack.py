"""A pgrealm server of the benchmark's own: its home under /tmp, a free API port and the
loopback block from PGREALM_LOOPBACK_BLOCK (or PGREALM_TEST_BLOCK), so it runs beside a
user's stack and beside test runs.

The server runs as tests/fixtures/stack.py runs it: ``python -m pgrealm server`` in a new
session, stopped with SIGTERM (which stops every DC and postmaster it started).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3

__all__ = ["BenchStack", "running_stack"]

ROOT = Path(__file__).resolve().parents[1]
# Never the user's default 127.64.0.0/10 nor the tests' default 127.192.0.0/12.
DEFAULT_BLOCK = "127.144.0.0/12"


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _block() -> str:
    env = os.environ
    return env.get("PGREALM_LOOPBACK_BLOCK") or env.get("PGREALM_TEST_BLOCK") or DEFAULT_BLOCK


class BenchStack:
    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.block = _block()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "LANG": "C.UTF-8",
            "PGREALM_HOME": str(home),
            "PGREALM_API_PORT": str(port),
            "PGREALM_LOOPBACK_BLOCK": self.block,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.home / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pgrealm", "server"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=ROOT,
            )
        sts = self.client("sts")

        def answers() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"pgrealm server exited:\n{self.log_tail()}")
            try:
                sts.get_caller_identity()
                return True
            except Exception:
                return False

        self.wait("the pgrealm server to answer", answers, timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(180)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        text = (self.home / "server.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def aws(self, *args: str, inputs: dict[str, Any] | None = None) -> Any:
        """Run the real aws CLI and return its parsed JSON output.

        ``inputs`` go through ``--cli-input-json`` from a 0600 file, so secrets such as
        passwords never appear on a command line.
        """
        env = {
            **self.env,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        aws = str(Path(sys.executable).parent / "aws")
        argv = [aws, "--endpoint-url", self.url, "--output", "json", *args]
        with tempfile.TemporaryDirectory(dir=self.home) as tmp:
            if inputs is not None:
                path = Path(tmp) / "input.json"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    json.dump(inputs, f)
                argv += ["--cli-input-json", f"file://{path}"]
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"aws {' '.join(args)}: {done.stderr.strip()}")
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def wait(
        self, what: str, probe: Callable[[], Any], timeout: float = 300.0, every: float = 0.05
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"timed out waiting for {what}\n{self.log_tail()}")


@contextlib.contextmanager
def running_stack(keep: bool = False) -> Iterator[BenchStack]:
    if os.geteuid() != 0:
        raise SystemExit("make bench needs root (Samba AD DC, PostgreSQL's own OS user)")
    # Not a 0700 dir: the PostgreSQL OS user must traverse it to reach instance homes.
    home = Path(tempfile.mkdtemp(prefix="pgrealm-bench-"))
    home.chmod(0o711)
    stack = BenchStack(home, _free_port())
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        _reap_leftovers(home)
        _remove_hosts_block(home)
        if keep:
            print(f"benchmark home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _pids_using(home: Path) -> list[int]:
    """PIDs with an open file or their cwd under ``home`` (a DC's argv says only "samba: ...")."""
    prefix, found = str(home) + "/", []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            links = [os.readlink(f"/proc/{name}/cwd")]
            links += [os.readlink(f"/proc/{name}/fd/{fd}") for fd in os.listdir(f"/proc/{name}/fd")]
        except OSError:
            continue
        if any(link.startswith(prefix) for link in links):
            found.append(int(name))
    return found


def _reap_leftovers(home: Path) -> None:
    """Stop what the server left running from this home: it should have stopped them all."""
    pids = _pids_using(home)
    if not pids:
        return
    print(f"WARNING: the pgrealm server left processes running after SIGTERM: {pids}")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _pids_using(home):
            time.sleep(0.2)
        pids = _pids_using(home)
        if not pids:
            return


def _remove_hosts_block(home: Path) -> None:
    from pgrealm.engines import hosts

    for name in hosts.published(Path("/etc/hosts"), str(home)):
        hosts.unpublish(Path("/etc/hosts"), str(home), name)
