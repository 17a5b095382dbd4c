"""SCRAM-SHA-256 password verifiers (RFC 5802, RFC 7677) in PostgreSQL's stored format.

The control plane computes the verifier itself, so the clear password never reaches
postgres at all: not its statement log, not pg_stat_activity, not a command line.

Stored format, as in pg_authid.rolpassword::

    SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>

The password is normalised with SASLprep (RFC 4013) first; like PostgreSQL's
pg_saslprep(), a password SASLprep rejects is used as its raw UTF-8 bytes instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import stringprep
import unicodedata

__all__ = ["ITERATIONS", "SALT_LEN", "saslprep", "scram_verifier", "verify_password"]

log = logging.getLogger(__name__)

ITERATIONS = 4096  # PostgreSQL's default scram_iterations
SALT_LEN = 16

_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,  # unassigned: prohibited for stored strings
)


def saslprep(password: str) -> bytes:
    """Bytes SCRAM hashes for ``password``: SASLprep'd, or raw UTF-8 where SASLprep refuses."""
    raw = password.encode("utf-8")
    if password.isascii() and all(0x20 <= b < 0x7F for b in raw):
        return raw  # printable ASCII is its own SASLprep
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in password
        if not stringprep.in_table_b1(ch)
    )
    norm = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    if not norm or any(test(ch) for ch in norm for test in _PROHIBITED):
        return raw
    if not _bidi_ok(norm):
        return raw
    return norm.encode("utf-8")


def _bidi_ok(text: str) -> bool:
    # RFC 3454 section 6: RTL text must not mix with LTR and must start and end RTL.
    if not any(stringprep.in_table_d1(ch) for ch in text):
        return True
    if any(stringprep.in_table_d2(ch) for ch in text):
        return False
    return stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1])


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    return hashlib.sha256(client_key).digest(), server_key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def scram_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS
) -> str:
    """The rolpassword value PostgreSQL would store for ``password`` (random salt by default)."""
    salt = os.urandom(SALT_LEN) if salt is None else salt
    stored_key, server_key = _keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def verify_password(verifier: str, password: str) -> bool:
    """True if ``verifier`` (stored format) was made from ``password``."""
    try:
        method, rest = verifier.split("$", 1)
        iter_salt, key_pair = rest.split("$", 1)
        iters, salt_b64 = iter_salt.split(":", 1)
        stored_b64, server_b64 = key_pair.split(":", 1)
        salt = base64.b64decode(salt_b64, validate=True)
        iterations = int(iters)
    except ValueError:
        return False
    if method != "SCRAM-SHA-256" or iterations <= 0:
        return False
    stored_key, server_key = _keys(password, salt, iterations)
    return hmac.compare_digest(_b64(stored_key), stored_b64) and hmac.compare_digest(
        _b64(server_key), server_b64
    )
