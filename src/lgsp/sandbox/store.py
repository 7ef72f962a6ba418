"""The sandbox's SQLite store: one file (WAL) or one in-memory database, shared by threads.

Writers are serialised: :meth:`SandboxStore.transaction` holds a lock and ``BEGIN IMMEDIATE``,
so a check-then-insert (duplicate detection) inside it cannot race. Readers of a file store
get one connection per thread and, thanks to WAL, never wait for the writer; an in-memory
store has a single connection (SQLite's shared cache would answer "table is locked" instead
of waiting), so its readers take the same lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SandboxStore"]

_BUSY_MS = 10_000


def _connect(target: str) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun and ended explicitly below.
    conn = sqlite3.connect(
        target, isolation_level=None, check_same_thread=False, timeout=_BUSY_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


class SandboxStore:
    """SQLite at ``path`` (a file, created if missing) or ``":memory:"``, safe across threads.

    Opening is cheap and happens here, in the constructor of the store (never at import).
    ``durable=True`` makes every commit of a file store survive a crash of the machine too
    (an fsync per commit: much slower).
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *, durable: bool = False) -> None:
        self.path = ":memory:" if str(path) == ":memory:" else str(Path(path))
        self.memory = self.path == ":memory:"
        self._lock = threading.RLock()
        self._depth = 0  # nesting of transaction() on the thread holding the lock
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._writer = _connect(self.path)
        if not self.memory:
            # WAL: readers see the last commit while a writer works. No fsync (synchronous
            # OFF): a commit survives a crash of the sandbox's process, not of the machine —
            # enough for an emulator, and fsync on every checkpoint would cost more than
            # handling a package does.
            self._writer.execute("PRAGMA journal_mode = WAL")
            self._writer.execute(f"PRAGMA synchronous = {'FULL' if durable else 'OFF'}")

    def __repr__(self) -> str:
        return f"SandboxStore({self.path!r})"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The writer connection inside ``BEGIN IMMEDIATE``: committed at the end of the block,
        rolled back if it raises. One writer at a time; nesting on one thread joins the outer
        transaction."""
        with self._lock:
            self._check_open()
            conn = self._writer
            if self._depth:
                self._depth += 1
                try:
                    yield conn
                finally:
                    self._depth -= 1
                return
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._depth = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads, over one consistent snapshot for the block. A file store's
        readers do not see a transaction still open on another thread."""
        if self.memory:
            with self._lock:
                self._check_open()
                yield self._writer
            return
        conn = self._reader()
        if conn.in_transaction:  # a nested reading() on this thread: same snapshot
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _reader(self) -> sqlite3.Connection:
        self._check_open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def add_schema(self, sql: str) -> None:
        """Run ``sql`` (``CREATE TABLE IF NOT EXISTS …``): idempotent, under the writer lock."""
        with self._lock:
            self._check_open()
            self._writer.executescript(sql)

    def close(self) -> None:
        """Close every connection; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for conn in readers:
                conn.close()
            self._writer.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise sqlite3.ProgrammingError(f"the sandbox store {self.path} is closed")

    def __enter__(self) -> SandboxStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
