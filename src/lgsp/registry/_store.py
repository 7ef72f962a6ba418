"""The SQLite side of the registry cache: schema, statements and connections.

Statements are constants with ``?`` or named parameters; lists travel as JSON arrays read with
``json_each``, so no statement is ever built from values.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lgsp.errors import RegistryError

__all__ = ["KIND_IDS", "Store", "default_registry_path", "forget"]

KIND_IDS = {
    "agencies": 1,
    "units": 2,
    "procedures": 3,
    "fields": 4,
    "organs": 5,
    "admin-units": 6,
}
"""The small integer each kind is stored as in the token index (keeps its rows short)."""

SCHEMA_VERSION = 1
_TABLES = frozenset({"entries", "tokens", "words", "admin_links", "sources"})
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    scheme TEXT NOT NULL,
    code TEXT NOT NULL,
    ident TEXT NOT NULL,
    parent TEXT,
    name TEXT NOT NULL,
    folded TEXT NOT NULL,
    nlen INTEGER NOT NULL,
    data TEXT NOT NULL,
    source TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    UNIQUE (code, kind, scheme)
);
CREATE INDEX IF NOT EXISTS entries_folded ON entries (kind, folded);
CREATE INDEX IF NOT EXISTS entries_ident ON entries (kind, scheme, ident);
CREATE INDEX IF NOT EXISTS entries_parent ON entries (kind, scheme, parent);
CREATE TABLE IF NOT EXISTS tokens (
    kind INTEGER NOT NULL,
    token TEXT NOT NULL,
    nlen INTEGER NOT NULL,
    entry INTEGER NOT NULL,
    PRIMARY KEY (kind, token, nlen, entry)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS words (
    kind INTEGER NOT NULL,
    token TEXT NOT NULL,
    df INTEGER NOT NULL,
    PRIMARY KEY (kind, token)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS admin_links (
    old_code TEXT NOT NULL,
    new_code TEXT NOT NULL,
    data TEXT NOT NULL,
    source TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (old_code, new_code)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS admin_links_new ON admin_links (new_code);
CREATE TABLE IF NOT EXISTS sources (
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at REAL NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (kind, source)
);
"""

# Every entry query returns: id, kind, scheme, code, name, data, source, fetched_at, ident,
# parent (the row layout RegistryCache reads).
BY_IDS = (
    "SELECT id, kind, scheme, code, name, data, source, fetched_at, ident, parent FROM entries "
    "WHERE id IN (SELECT value FROM json_each(?))"
)
BY_KIND_CODE = (
    "SELECT id, kind, scheme, code, name, data, source, fetched_at, ident, parent FROM entries "
    "WHERE kind = ? AND code = ? AND scheme IN (SELECT value FROM json_each(?))"
)
BY_CODES = (
    "SELECT id, kind, scheme, code, name, data, source, fetched_at, ident, parent FROM entries "
    "WHERE code IN (SELECT value FROM json_each(:codes)) AND (:kind IS NULL OR kind = :kind) "
    "ORDER BY kind, scheme, code"
)
BY_IDENT = (
    "SELECT id, kind, scheme, code, name, data, source, fetched_at, ident, parent FROM entries "
    "WHERE kind = ? AND scheme = ? AND ident = ? ORDER BY id LIMIT 1"
)
BY_CODE_IN_SCHEME = (
    "SELECT id, kind, scheme, code, name, data, source, fetched_at, ident, parent FROM entries "
    "WHERE kind = ? AND scheme = ? AND code = ? LIMIT 1"
)
CHILDREN = (
    "SELECT id, kind, scheme, code, name, data, source, fetched_at, ident, parent FROM entries "
    "WHERE kind = :kind AND scheme = :scheme AND parent IN (SELECT value FROM json_each(:keys)) "
    "AND id != :id ORDER BY code LIMIT :limit"
)
STALE = (
    "SELECT id, kind, scheme, code, name, data, source, fetched_at, ident, parent FROM entries "
    "WHERE fetched_at < :cutoff AND (:kind IS NULL OR kind = :kind) "
    "ORDER BY fetched_at, id LIMIT :limit"
)
# Rows to forget (their tokens are found again from the folded key): id, kind, folded, nlen,
# scheme, code.
FORGET_CODES = (
    "SELECT id, kind, folded, nlen, scheme, code FROM entries "
    "WHERE kind = ? AND code IN (SELECT value FROM json_each(?))"
)
FORGET_ONE = (
    "SELECT id, kind, folded, nlen, scheme, code FROM entries "
    "WHERE kind = ? AND code = ? AND scheme IN (SELECT value FROM json_each(?))"
)
FORGET_SCHEME = (
    "SELECT id, kind, folded, nlen, scheme, code FROM entries WHERE kind = ? AND scheme = ?"
)
FORGET_STALE = (
    "SELECT id, kind, folded, nlen, scheme, code FROM entries "
    "WHERE fetched_at < :cutoff AND (:kind IS NULL OR kind = :kind)"
)
DELETE_WORD = "DELETE FROM tokens WHERE kind = ? AND token = ? AND nlen = ? AND entry = ?"
DELETE_ID = "DELETE FROM entries WHERE id = ?"
DELETE_KIND = "DELETE FROM entries WHERE kind = ?"
DELETE_KIND_WORDS = "DELETE FROM tokens WHERE kind = ?"
DELETE_KIND_COUNTS = "DELETE FROM words WHERE kind = ?"
# How many names hold each word: counted for new entries, decremented for forgotten ones.
COUNT_WORDS = (
    "INSERT INTO words (kind, token, df) SELECT kind, token, count(*) FROM tokens "
    "WHERE kind = :kind_id AND entry >= :first GROUP BY token "
    "ON CONFLICT (kind, token) DO UPDATE SET df = df + excluded.df"
)
UNCOUNT_WORD = "UPDATE words SET df = df - 1 WHERE kind = ? AND token = ?"
HAS_KIND = "SELECT 1 FROM entries WHERE kind = ? LIMIT 1"
NEXT_ID = "SELECT coalesce(max(id), 0) + 1 FROM entries"
INSERT_ENTRY = (
    "INSERT INTO entries (id, kind, scheme, code, ident, parent, name, folded, nlen, data, "
    "source, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The words of each new entry, split from its folded key inside SQLite (a folded key is words
# of letters and digits joined by single spaces, so quoting it as a JSON array is safe).
INSERT_WORDS = (
    "INSERT OR IGNORE INTO tokens (kind, token, nlen, entry) "
    "SELECT :kind_id, w.value, e.nlen, e.id FROM entries e, "
    "json_each('[\"' || replace(e.folded, ' ', '\",\"') || '\"]') w "
    "WHERE e.id >= :first AND e.folded != ''"
)
INSERT_LINK = (
    "INSERT OR REPLACE INTO admin_links (old_code, new_code, data, source, fetched_at) "
    "VALUES (?, ?, ?, ?, ?)"
)
COUNT_SOURCE = "SELECT count(*) FROM entries WHERE kind = ? AND source = ?"
NOTE_SOURCE = (
    "INSERT OR REPLACE INTO sources (kind, source, imported_at, count) VALUES (?, ?, ?, ?)"
)
SOURCES = "SELECT kind, source, imported_at, count FROM sources ORDER BY kind, imported_at"
KINDS = "SELECT DISTINCT kind FROM sources"
COUNT = "SELECT count(*) FROM entries WHERE (:kind IS NULL OR kind = :kind)"
LINKS_FROM = (
    "SELECT old_code, new_code, data, source FROM admin_links WHERE old_code = ? "
    "ORDER BY old_code, new_code"
)
LINKS_TO = (
    "SELECT old_code, new_code, data, source FROM admin_links WHERE new_code = ? "
    "ORDER BY old_code, new_code"
)


def default_registry_path() -> Path:
    """``$LGSP_REGISTRY_DB``, else ``registry.sqlite3`` in an ``lgsp`` folder of the user's data
    directory (``$XDG_DATA_HOME``, else ``~/.local/share``)."""
    explicit = os.environ.get("LGSP_REGISTRY_DB")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "lgsp" / "registry.sqlite3"


class Store:
    """Connections to one cache: one per thread for a file (WAL), one behind a lock in memory.

    SQLite errors leave as :class:`~lgsp.errors.RegistryError`. Nothing is opened before the
    first use.
    """

    def __init__(self, path: str | Path, *, timeout: float) -> None:
        self.path = path
        self._memory = path == ":memory:"
        self._timeout = timeout
        self._lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _open(self) -> sqlite3.Connection:
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA cache_size = -32768")  # 32 MiB: big imports touch many pages
            if not self._memory:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            self._ensure_schema(conn)
        except BaseException:
            conn.close()
            raise
        self._connections.append(conn)
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise RegistryError(
                f"the cache was written by a newer lgsp (schema {version}); upgrade lgsp",
                source=str(self.path),
            )
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if {t for t in tables if not t.startswith("sqlite_")} - _TABLES:
            raise RegistryError(
                "this SQLite file is not an lgsp registry cache (it has other tables)",
                source=str(self.path),
            )
        # One transaction: a second process creating the schema at the same time waits, then
        # finds every CREATE ... IF NOT EXISTS already done.
        script = f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;"
        try:
            conn.executescript(script)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._memory:
            return self._connections[0] if self._connections else self._open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                conn = self._open()
            self._local.conn = conn
        return conn

    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (the shared one, locked, for ``:memory:``)."""
        try:
            if self._memory:
                with self._lock:
                    self._check_open()
                    yield self._connection()
            else:
                self._check_open()
                yield self._connection()
        except sqlite3.Error as exc:
            raise RegistryError(
                f"the registry cache cannot be used: {exc}", source=str(self.path)
            ) from exc
        except OSError as exc:  # the folder cannot be created
            reason = exc.strerror or str(exc)
            raise RegistryError(
                f"the registry cache cannot be created: {reason}", source=str(self.path)
            ) from exc

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, all or nothing (``BEGIN IMMEDIATE``: writers queue up front)."""
        with self.db() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _check_open(self) -> None:
        if self._closed:
            raise RegistryError("the registry cache is closed", source=str(self.path))


def rows(conn: sqlite3.Connection, sql: str, args: Sequence[Any] | dict[str, Any]) -> list[Any]:
    """All rows of a statement."""
    return conn.execute(sql, args).fetchall()


def forget(conn: sqlite3.Connection, found: Sequence[Sequence[Any]]) -> int:
    """Delete entries and their index rows, given (id, kind, folded, nlen, ...) rows."""
    words = [
        (KIND_IDS[kind], token, nlen, entry)
        for entry, kind, folded, nlen, *_ in found
        for token in dict.fromkeys(folded.split())
    ]
    conn.executemany(DELETE_WORD, words)
    conn.executemany(UNCOUNT_WORD, [(kind_id, token) for kind_id, token, _, _ in words])
    conn.executemany(DELETE_ID, [(row[0],) for row in found])
    return len(found)
