"""The state store: one SQLite file under PGREALM_HOME holding every resource as JSON.

Resources are documents keyed by (kind, account, region, id). Services write the
desired state and AWS-visible fields; reconcilers write status. WAL with
``synchronous=FULL`` so that a committed write survives a crash of the daemon.
Each thread gets its own connection; writers serialise through SQLite's lock.

A doc's revision (:meth:`Store.list_revisions`) is a digest of its stored text: it
changes with every change of the doc and needs no bookkeeping by writers, so the API
can reuse what it derived from an unchanged doc (:mod:`pgrealm.api.fragments`).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pgrealm.errors import StoreError
from pgrealm.store.wal import lost_commits

__all__ = ["Doc", "Store"]

Doc = dict[str, Any]

_MIGRATIONS = [
    """
    CREATE TABLE resources (
        kind    TEXT NOT NULL,
        account TEXT NOT NULL,
        region  TEXT NOT NULL,
        id      TEXT NOT NULL,
        doc     TEXT NOT NULL,
        created REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
        PRIMARY KEY (kind, account, region, id)
    );
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """,
]


class Store:
    """Thread-safe access to the state file. Region ``""`` marks global resources (IAM)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        problem = lost_commits(path.with_name(path.name + "-wal"))
        if problem:  # opening it would replay the log only up to the damage, silently
            raise self._damaged(problem)
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:  # "file is not a database", a torn page
            raise self._damaged(str(exc)) from exc

    def check(self) -> None:
        """Refuse a damaged store (SQLite's quick_check): the server never runs on one,
        so it can never drop the resources a damaged page would hide."""
        try:
            rows = self._conn().execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(str(exc)) from exc
        problems = [str(row[0]) for row in rows if row[0] != "ok"]
        if problems:
            raise self._damaged("; ".join(problems[:3]))

    def _damaged(self, detail: str) -> StoreError:
        return StoreError(
            f"the state store {self.path} is damaged ({detail}); pgrealm will not run on it. "
            f"Stop pgrealm, keep a copy of the file, then rebuild it with "
            f"`sqlite3 {self.path} .recover | sqlite3 {self.path}.recovered` and move the "
            "recovered file into its place (docs/ARCHITECTURE.md, 'A damaged state store')."
        )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction: read-check-write without races."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot lock the state store: {exc}") from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def get(self, kind: str, account: str, region: str, id: str) -> Doc | None:
        row = (
            self._conn()
            .execute(
                "SELECT doc FROM resources WHERE kind=? AND account=? AND region=? AND id=?",
                (kind, account, region, id),
            )
            .fetchone()
        )
        return None if row is None else dict(json.loads(row[0]))

    def keys(self, kind: str) -> list[tuple[str, str, str]]:
        """(account, region, id) of every resource of ``kind``."""
        rows = (
            self._conn()
            .execute(
                "SELECT account, region, id FROM resources WHERE kind=? ORDER BY created, rowid",
                (kind,),
            )
            .fetchall()
        )
        return [(str(a), str(r), str(i)) for a, r, i in rows]

    def items(self, kind: str) -> builtins.list[tuple[tuple[str, str, str], Doc]]:
        """Every resource of ``kind`` with its (account, region, id), in one query."""
        rows = (
            self._conn()
            .execute(
                "SELECT account, region, id, doc FROM resources WHERE kind=? "
                "ORDER BY created, rowid",
                (kind,),
            )
            .fetchall()
        )
        return [((str(a), str(r), str(i)), dict(json.loads(d))) for a, r, i, d in rows]

    def list(self, kind: str, account: str | None = None, region: str | None = None) -> list[Doc]:
        return [dict(json.loads(text)) for text in self._texts(kind, account, region)]

    # builtins.list below: inside this class, ``list`` is the method above
    def list_revisions(
        self, kind: str, account: str | None = None, region: str | None = None
    ) -> builtins.list[tuple[Doc, str]]:
        """Like :meth:`list`, each doc with its revision as it was read."""
        return [
            (dict(json.loads(text)), _revision(text)) for text in self._texts(kind, account, region)
        ]

    def _texts(self, kind: str, account: str | None, region: str | None) -> builtins.list[str]:
        sql, args = "SELECT doc FROM resources WHERE kind=?", [kind]
        if account is not None:
            sql, args = sql + " AND account=?", [*args, account]
        if region is not None:
            sql, args = sql + " AND region=?", [*args, region]
        rows = self._conn().execute(sql + " ORDER BY created, rowid", args).fetchall()
        return [str(r[0]) for r in rows]

    def put(self, kind: str, account: str, region: str, id: str, doc: Doc) -> None:
        self._conn().execute(
            "INSERT INTO resources(kind, account, region, id, doc) VALUES (?,?,?,?,?) "
            "ON CONFLICT(kind, account, region, id) DO UPDATE SET doc=excluded.doc",
            (kind, account, region, id, json.dumps(doc, sort_keys=True)),
        )

    def insert(self, kind: str, account: str, region: str, id: str, doc: Doc) -> bool:
        """Insert unless present; False if the id is taken."""
        cur = self._conn().execute(
            "INSERT OR IGNORE INTO resources(kind, account, region, id, doc) VALUES (?,?,?,?,?)",
            (kind, account, region, id, json.dumps(doc, sort_keys=True)),
        )
        return cur.rowcount == 1

    def update(
        self, kind: str, account: str, region: str, id: str, change: Callable[[Doc], None]
    ) -> Doc | None:
        """Apply ``change`` to the stored doc atomically; None if it does not exist."""
        with self.transaction():
            doc = self.get(kind, account, region, id)
            if doc is None:
                return None
            change(doc)
            self.put(kind, account, region, id, doc)
            return doc

    def delete(self, kind: str, account: str, region: str, id: str) -> bool:
        cur = self._conn().execute(
            "DELETE FROM resources WHERE kind=? AND account=? AND region=? AND id=?",
            (kind, account, region, id),
        )
        return cur.rowcount == 1

    def next_value(self, name: str) -> int:
        """A durable counter (address allocation, ids)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO counters(name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            row = conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
            return int(row[0])


def _revision(text: str) -> str:
    # 128 bits: two different texts of one doc never share a revision in practice
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
