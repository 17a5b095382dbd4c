"""Seal a secret for the short time between an API call and the step that uses it.

The directory's Admin password and an instance's master password must survive a
daemon crash between the API call and the step that hands them to Samba or
PostgreSQL, yet must never rest in plain text. They are sealed (Fernet: AES-128-CBC +
HMAC-SHA256) with a key that lives only in ``$PGREALM_HOME/seal.key`` (0600, root),
and the reconciler erases the sealed copy as soon as the step is done.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet

__all__ = ["Sealer"]


class Sealer:
    def __init__(self, home: Path) -> None:
        self._key_path = home / "seal.key"
        self._fernet = Fernet(self._load_key())

    def _load_key(self) -> bytes:
        try:
            return self._key_path.read_bytes()
        except FileNotFoundError:
            pass
        key = Fernet.generate_key()
        fd = os.open(self._key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return key

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def unseal(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()
