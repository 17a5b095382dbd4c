"""Settings of one pgrealm stack, from the environment, with defaults for a real install.

Tests run a second stack beside a user's by giving it another home, port and
host block (and their own hosts-file marker, which follows the home).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_HOST_BLOCK", "Settings"]

# RFC 2544's benchmarking range: no real network a machine joins uses it, and pgrealm
# blackholes it on the machine (engines/netns) so nothing sent to it leaves.
DEFAULT_HOST_BLOCK = "198.18.0.0/16"


@dataclass(frozen=True)
class Settings:
    home: Path  # PGREALM_HOME: state store, seal key, every directory's and instance's files
    api_host: str
    api_port: int
    host_block: ipaddress.IPv4Network  # the machine-side address of every host (model/addresses.py)
    hosts_file: Path  # where endpoint names are published
    endpoint_domain: str  # instance endpoints: <id>.<hash>.<region>.rds.<endpoint_domain>
    pg_os_user: str  # the unprivileged OS user that runs every PostgreSQL instance

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        return cls(
            home=Path(e.get("PGREALM_HOME", "/var/lib/pgrealm")),
            api_host=e.get("PGREALM_API_HOST", "127.0.0.1"),
            api_port=int(e.get("PGREALM_API_PORT", "4600")),
            host_block=ipaddress.IPv4Network(e.get("PGREALM_HOST_BLOCK", DEFAULT_HOST_BLOCK)),
            hosts_file=Path(e.get("PGREALM_HOSTS_FILE", "/etc/hosts")),
            endpoint_domain=e.get("PGREALM_ENDPOINT_DOMAIN", "pgrealm.internal"),
            pg_os_user=e.get("PGREALM_PG_USER", "pgrealm"),
        )

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def state_db(self) -> Path:
        return self.home / "state.db"
