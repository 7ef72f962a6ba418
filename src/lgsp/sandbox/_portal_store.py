"""The portal side's tables in the sandbox's SQLite store: dossiers, their status history,
sessions and tokens, dossier-code counters.

Functions take the connection of a :meth:`SandboxStore.transaction` (or ``reading``), so that
a handler checks and writes in one transaction. Sessions and tokens are kept as SHA-256
digests: the store never holds a credential a reader could reuse.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import sqlite3
from typing import Any

__all__ = [
    "SCHEMA",
    "Credential",
    "HistoryEntry",
    "StoredDossier",
    "add_history",
    "find_credential",
    "get_dossier",
    "history",
    "insert_dossier",
    "issue_credential",
    "last_sequence",
    "next_sequence",
    "observe_sequence",
    "update_dossier",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_dossiers (
    code TEXT PRIMARY KEY,          -- MaHoSo
    api TEXT NOT NULL,              -- 'classic' (DongBoHoSoMC) or 'token' (DongBoHoSo)
    unit TEXT NOT NULL,             -- madonvi of the sender, or the token client's id
    dossier_id TEXT UNIQUE,         -- IdHoSo the token portal handed out
    status INTEGER NOT NULL,        -- TrangThaiHoSo now
    body TEXT NOT NULL,             -- the dossier as last received, in its API's wire form
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS portal_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL REFERENCES portal_dossiers(code),
    status INTEGER NOT NULL,
    service TEXT NOT NULL,          -- the call that set it
    step TEXT,                      -- the progress item as received (JSON), when there is one
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_history_by_code ON portal_history(code, id);
CREATE TABLE IF NOT EXISTS portal_credentials (
    digest TEXT PRIMARY KEY,        -- SHA-256 of the session or token
    kind TEXT NOT NULL,             -- 'session' or 'token'
    owner TEXT NOT NULL,            -- username or client id
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS portal_counters (
    unit TEXT NOT NULL,
    day TEXT NOT NULL,              -- yyyyMMdd, Vietnam time
    last INTEGER NOT NULL,
    PRIMARY KEY (unit, day)
);
"""


@dataclasses.dataclass(frozen=True, slots=True)
class StoredDossier:
    """A dossier as the portal holds it."""

    code: str
    api: str
    unit: str
    dossier_id: str | None
    status: int
    body: dict[str, Any]
    created_at: float
    updated_at: float


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One status the dossier took, and the call that set it."""

    status: int
    service: str
    step: dict[str, Any] | None
    at: float


@dataclasses.dataclass(frozen=True, slots=True)
class Credential:
    """A session or token found in the store."""

    owner: str
    expires_at: float


def canonical(body: Any) -> str:
    """JSON text that compares equal for equal content (keys sorted)."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# --- dossiers --------------------------------------------------------------------------------


def get_dossier(conn: sqlite3.Connection, code: str) -> StoredDossier | None:
    row = conn.execute(
        "SELECT code, api, unit, dossier_id, status, body, created_at, updated_at "
        "FROM portal_dossiers WHERE code = ?",
        (code,),
    ).fetchone()
    if row is None:
        return None
    return StoredDossier(
        row[0], row[1], row[2], row[3], int(row[4]), json.loads(row[5]), row[6], row[7]
    )


def insert_dossier(
    conn: sqlite3.Connection,
    dossier: StoredDossier,
) -> None:
    conn.execute(
        "INSERT INTO portal_dossiers "
        "(code, api, unit, dossier_id, status, body, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            dossier.code,
            dossier.api,
            dossier.unit,
            dossier.dossier_id,
            dossier.status,
            canonical(dossier.body),
            dossier.created_at,
            dossier.updated_at,
        ),
    )


def update_dossier(
    conn: sqlite3.Connection,
    code: str,
    *,
    status: int,
    now: float,
    body: dict[str, Any] | None = None,
) -> None:
    """Set the status (and the body, when given) of a stored dossier."""
    if body is None:
        conn.execute(
            "UPDATE portal_dossiers SET status = ?, updated_at = ? WHERE code = ?",
            (status, now, code),
        )
    else:
        conn.execute(
            "UPDATE portal_dossiers SET status = ?, body = ?, updated_at = ? WHERE code = ?",
            (status, canonical(body), now, code),
        )


def add_history(
    conn: sqlite3.Connection,
    code: str,
    status: int,
    service: str,
    *,
    now: float,
    step: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO portal_history (code, status, service, step, at) VALUES (?, ?, ?, ?, ?)",
        (code, status, service, None if step is None else canonical(step), now),
    )


def history(conn: sqlite3.Connection, code: str) -> list[HistoryEntry]:
    rows = conn.execute(
        "SELECT status, service, step, at FROM portal_history WHERE code = ? ORDER BY id",
        (code,),
    ).fetchall()
    return [
        HistoryEntry(int(r[0]), r[1], None if r[2] is None else json.loads(r[2]), r[3])
        for r in rows
    ]


# --- sessions and tokens -----------------------------------------------------------------------


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def issue_credential(
    conn: sqlite3.Connection, kind: str, owner: str, now: float, lifetime: float
) -> str:
    """A new random session or token for ``owner``, valid ``lifetime`` seconds from ``now``;
    the lapsed ones of that kind are dropped on the way."""
    conn.execute("DELETE FROM portal_credentials WHERE kind = ? AND expires_at <= ?", (kind, now))
    value = secrets.token_urlsafe(24)
    conn.execute(
        "INSERT INTO portal_credentials (digest, kind, owner, expires_at) VALUES (?, ?, ?, ?)",
        (_digest(value), kind, owner, now + lifetime),
    )
    return value


def find_credential(conn: sqlite3.Connection, kind: str, value: str) -> Credential | None:
    """The session or token ``value`` (expired or not), or None when it was never issued."""
    row = conn.execute(
        "SELECT owner, expires_at FROM portal_credentials WHERE digest = ? AND kind = ?",
        (_digest(value), kind),
    ).fetchone()
    return None if row is None else Credential(row[0], row[1])


# --- dossier-code counters ---------------------------------------------------------------------


def next_sequence(conn: sqlite3.Connection, unit: str, day: str) -> int:
    """The next sequence of ``unit`` on ``day`` (from 1), counted in the store."""
    row = conn.execute(
        "INSERT INTO portal_counters (unit, day, last) VALUES (?, ?, 1) "
        "ON CONFLICT (unit, day) DO UPDATE SET last = last + 1 RETURNING last",
        (unit, day),
    ).fetchone()
    return int(row[0])


def last_sequence(conn: sqlite3.Connection, unit: str, day: str) -> int:
    row = conn.execute(
        "SELECT last FROM portal_counters WHERE unit = ? AND day = ?", (unit, day)
    ).fetchone()
    return 0 if row is None else int(row[0])


def observe_sequence(conn: sqlite3.Connection, unit: str, day: str, sequence: int) -> None:
    """Record a code made elsewhere so that the counter never issues it (never goes back)."""
    conn.execute(
        "INSERT INTO portal_counters (unit, day, last) VALUES (?, ?, ?) "
        "ON CONFLICT (unit, day) DO UPDATE SET last = max(last, excluded.last)",
        (unit, day, sequence),
    )
