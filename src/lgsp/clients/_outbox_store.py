"""The SQLite file behind the outbox and the inbox: connections, schema, error translation.

One connection per thread (WAL journal: readers never wait for the writer; writers queue behind
``busy_timeout``), so threads and processes can share one file. ``synchronous = FULL``: a
commit that returned is on disk, which is the whole point of the outbox. Every sqlite3 and OS
error leaves as :class:`~lgsp.errors.OutboxError` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lgsp.errors import OutboxError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "Store", "fsync_dir"]

APPLICATION_ID = 0x4C474F42
"""``PRAGMA application_id`` of an lgsp outbox file ("LGOB"): tells it from any other SQLite."""
SCHEMA_VERSION = 1

# Both tables live in every file: an outbox and an inbox may share one file or use two.
# Lease columns are set exactly when the state is 'in_flight'; payload_kept = 0 once vacuum()
# removed the payload file of a delivered entry (the row stays, so the hash is still known).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'in_flight', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    remote_id TEXT,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    size INTEGER NOT NULL,
    payload_kept INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, seq);
CREATE INDEX IF NOT EXISTS outbox_queued ON outbox (next_attempt_at, seq)
    WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS outbox_leased ON outbox (lease_until, seq)
    WHERE state = 'in_flight';
CREATE TABLE IF NOT EXISTS inbox (
    doc_id TEXT PRIMARY KEY,
    sha256 TEXT,
    state TEXT NOT NULL CHECK (state IN ('handing', 'handed', 'acknowledged')),
    first_seen_at REAL NOT NULL,
    handed_at REAL,
    acknowledged_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_state ON inbox (state, updated_at);
"""
_TABLES = frozenset({"outbox", "inbox"})

# What the common SQLite failures mean for someone running an outbox.
_HINTS = {
    "SQLITE_NOTADB": "the file is not an SQLite database, or it is damaged",
    "SQLITE_CORRUPT": "the database file is damaged",
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the database file or its folder is read-only",
    "SQLITE_CANTOPEN": "the database file cannot be opened (missing folder or no permission)",
    "SQLITE_BUSY": "another process held the database locked for longer than the timeout",
    "SQLITE_IOERR": "the operating system reported an I/O error",
}


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (POSIX; Windows has no directory handle)."""
    if os.name == "nt":  # pragma: no cover - not exercised on Linux CI
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe(exc: BaseException) -> str:
    """A short reason for a sqlite3 or OS error, with a hint when the code is a known one."""
    if isinstance(exc, sqlite3.Error):
        hint = _HINTS.get(getattr(exc, "sqlite_errorname", "") or "")
        return f"{hint} ({exc})" if hint else str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)  # pragma: no cover - only the two kinds above are translated


class Store:
    """Connections to one outbox / inbox file; nothing is opened before the first call."""

    def __init__(self, path: Path, *, timeout: float, what: str) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise OutboxError(f"the {what} needs a file path, not {str(path)!r}")
        self.path = path
        self.what = what
        self._timeout = timeout
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        # Connections inherited through fork() are never used nor closed in the child: closing
        # one would drop the POSIX locks the child's own connections hold on the same file.
        self._inherited: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._pid == os.getpid():
                for conn in self._connections:
                    conn.close()
            self._connections.clear()

    @contextmanager
    def guard(self, action: str, path: Path | None = None) -> Iterator[None]:
        """Translate sqlite3 and OS errors raised while doing ``action`` into OutboxError."""
        try:
            yield
        except sqlite3.Error as exc:
            raise OutboxError(
                f"cannot {action}: {describe(exc)}", path=str(path or self.path)
            ) from exc
        except OSError as exc:
            where = exc.filename if isinstance(exc.filename, str) else str(path or self.path)
            raise OutboxError(f"cannot {action}: {describe(exc)}", path=where) from exc

    @contextmanager
    def read(self, action: str) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in autocommit (each statement is its own read)."""
        with self.guard(action):
            yield self._connection()

    @contextmanager
    def write(self, action: str) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (``BEGIN IMMEDIATE``), all or nothing."""
        with self.guard(action):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                _rollback(conn)
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise OutboxError(f"the {self.what} is closed", path=str(self.path))
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._inherited.extend(self._connections)
                    self._connections = []
                    self._local = threading.local()
                    self._pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                conn = self._open()
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            self._wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
            self._ensure_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _wal(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise OutboxError(
                f"the {self.what} needs a WAL journal; this file system gave {mode!r}",
                path=str(self.path),
            )

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        app_id, version = self._identity(conn)
        if app_id == APPLICATION_ID and version == SCHEMA_VERSION:
            return
        # One transaction: a second process creating the schema at the same time waits for
        # the lock, then finds the file already marked and stops there.
        conn.execute("BEGIN IMMEDIATE")
        try:
            app_id, version = self._identity(conn)
            if app_id == APPLICATION_ID and version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            self._check_foreign(conn, app_id, version)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
            fsync_dir(self.path.parent)  # the new file's name survives a power cut too
        except BaseException:
            _rollback(conn)
            raise

    @staticmethod
    def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return int(app_id), int(version)

    def _check_foreign(self, conn: sqlite3.Connection, app_id: int, version: int) -> None:
        if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
            raise OutboxError(
                f"the {self.what} file was written by a newer lgsp (schema {version}); "
                "upgrade lgsp to use it",
                path=str(self.path),
            )
        tables = {
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(row[0]).startswith("sqlite_")
        }
        if app_id not in (0, APPLICATION_ID):
            raise OutboxError(
                f"this SQLite file belongs to another application (application_id "
                f"{app_id:#x}); give the {self.what} a file of its own",
                path=str(self.path),
            )
        if tables - _TABLES:
            raise OutboxError(
                f"this SQLite file is not an lgsp outbox / inbox (it holds other tables: "
                f"{', '.join(sorted(tables - _TABLES))}); give the {self.what} a file of its own",
                path=str(self.path),
            )


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        # If even this fails, the connection is unusable; the original error says why.
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
