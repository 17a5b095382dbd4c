"""A throwaway pgrealm stack in a subprocess, for the acceptance tests and the benchmark.

It has its own home (under /tmp, 0711 so the PostgreSQL OS user can reach instance
homes), a free API port and a host block of its own, so it runs beside a user's
stack and beside other runs. ``python -m pgrealm server`` runs in a new session and is
stopped with SIGTERM, which stops every DC and postmaster it started; :func:`cleanup`
then checks nothing was left behind, removes the stack's hosts-file block and its home.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from pgrealm.client.target import machine_dcs
from pgrealm.engines import hosts, netns
from pgrealm.gateways.network import stack_for_block

__all__ = ["DevStack", "cleanup", "free_port", "make_home"]

_ROOT = Path(__file__).resolve().parents[1]
_HOSTS = Path("/etc/hosts")


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_home(prefix: str) -> Path:
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o711)
    return home


class DevStack:
    """``account`` is the access key its clients and aws CLI runs use unless told otherwise
    ("test" is account 000000000000; a 12-digit key is that account)."""

    def __init__(
        self,
        home: Path,
        port: int,
        block: str,
        timeout_mult: float = 1.0,
        account: str = "test",
    ) -> None:
        self.home = home
        self.account = account
        self.port = port
        self.block = block
        self.timeout_mult = timeout_mult
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "LANG": "C.UTF-8",
            "PGREALM_HOME": str(home),
            "PGREALM_API_PORT": str(port),
            "PGREALM_HOST_BLOCK": block,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    # -- the server process ----------------------------------------------------------------
    def start(self, verbose: bool = False) -> None:
        with open(self.home / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pgrealm", *(["-v"] if verbose else []), "server"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=_ROOT,
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

    def kill(self) -> None:
        """A crash: SIGKILL, nothing stopped politely; managed processes keep running."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        text = (self.home / "server.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def network(self) -> netns.StackNet:
        """This stack's namespace names (``host_namespace``, ``prefix``)."""
        return stack_for_block(self.block)

    # -- clients ---------------------------------------------------------------------------
    def kdcs(self, directory: dict[str, Any], account: str | None = None) -> list[str]:
        """Where this machine reaches a directory's DCs, in DnsIpAddrs order (``account``:
        the directory's owner, if not this stack's)."""
        return machine_dcs(self.client("ec2", account), directory)

    def client(self, service: str, account: str | None = None, config: Any = None) -> Any:
        """A boto3 client of this stack (``config``: a botocore Config, e.g. timeouts)."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=account or self.account,
            aws_secret_access_key="test",
            config=config,
        )

    def aws(self, *args: str, inputs: dict[str, Any] | None = None, check: bool = True) -> Any:
        """Run the real aws CLI; parsed JSON output (the CompletedProcess with check=False).

        ``inputs`` go through ``--cli-input-json`` from a 0600 file, so a password in them
        never appears on a command line (readable by every user in /proc).
        """
        env = {
            **self.env,
            "AWS_ACCESS_KEY_ID": self.account,
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        argv = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", self.url]
        argv += ["--output", "json", *args]
        with tempfile.TemporaryDirectory(dir=self.home) as tmp:
            if inputs is not None:
                path = Path(tmp) / "input.json"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    json.dump(inputs, f)
                argv += ["--cli-input-json", f"file://{path}"]
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        if not check:
            return done
        if done.returncode != 0:
            raise RuntimeError(f"aws {' '.join(args)}: {done.stderr.strip()}")
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def wait(
        self, what: str, probe: Callable[[], Any], timeout: float = 120.0, every: float = 0.25
    ) -> Any:
        """Poll ``probe()`` until it is truthy and return it; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout * self.timeout_mult
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"timed out waiting for {what}\n{self.log_tail()}")


def cleanup(home: Path, keep: bool, block: str | None = None) -> None:
    """After ``stop()``: stop leftovers (a bug: warned), drop the hosts block, the home,
    and with ``block``, whatever of the stack's network is left (namespaces of a killed
    server, the blackhole a stopped one keeps)."""
    _reap_leftovers(home)
    if block is not None:
        _purge_network(block)
    for name in hosts.published(_HOSTS, str(home)):
        hosts.unpublish(_HOSTS, str(home), name)
    if keep:
        print(f"pgrealm stack home kept for post-mortem: {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)


def _purge_network(block: str) -> None:
    stack = stack_for_block(block)
    with netns.locked(stack):
        for namespace in sorted(netns.namespaces(stack.prefix)):
            netns.forget(stack, namespace)
    netns.remove_blackhole(block)


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
