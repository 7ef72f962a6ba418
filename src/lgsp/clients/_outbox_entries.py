"""The outbox's entry model and the rules of its state machine (no I/O beyond one query)."""

from __future__ import annotations

import enum
import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgsp.clients._outbox_files import SHA256_RE
from lgsp.errors import ConfigurationError, OutboxError

__all__ = [
    "NO_LEASE",
    "SELECT_ENTRY",
    "OutboxEntry",
    "OutboxState",
    "VacuumResult",
    "check_held",
    "check_seconds",
    "check_sha",
    "check_state",
    "due",
    "entry_from_row",
    "short",
]

COLUMNS = (
    "sha256, message_id, operation, params, state, attempts, remote_id, last_error, "
    "created_at, updated_at, next_attempt_at, lease_owner, lease_until, size, payload_kept"
)
SELECT_ENTRY = f"SELECT {COLUMNS} FROM outbox"  # noqa: S608 - a constant, no input in it
NO_LEASE = "lease_owner = NULL, lease_until = NULL"


class OutboxState(enum.StrEnum):
    """Where an outbox entry stands (the values are what the file stores)."""

    QUEUED = "queued"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One package of the outbox, as it stood when read. Times are POSIX seconds."""

    payload_sha256: str
    message_id: str
    """Kept for every retry, so that the remote can recognise a resend."""
    operation: str
    params: Mapping[str, Any] = field(hash=False)
    """As given to ``put`` (a copy: changing it changes nothing in the file)."""
    state: OutboxState
    attempts: int
    """How many times the entry was claimed (each claim may have sent it)."""
    remote_id: str | None
    last_error: str | None
    created_at: float
    updated_at: float
    next_attempt_at: float
    """When a queued entry becomes due."""
    lease_owner: str | None
    lease_until: float | None
    """Set while in flight: who holds the entry, and until when."""
    payload_path: Path | None
    """The payload file; ``None`` once :meth:`Outbox.vacuum` removed it (delivered entries)."""
    size: int
    created: bool = False
    """From :meth:`Outbox.put`: whether this call added the entry."""
    recovered: bool = False
    """From :meth:`Outbox.claim`: the entry's previous lease expired in flight (its worker
    died or stalled); the remote may have it already."""


@dataclass(frozen=True, slots=True)
class VacuumResult:
    """What :meth:`Outbox.vacuum` removed."""

    orphan_files: int
    """Payload files no entry points to (a crash between file and row) and stale temporaries."""
    delivered_payloads: int
    """Payload files of delivered entries old enough to go (their rows stay)."""
    bytes_freed: int


def check_held(row: sqlite3.Row, who: str, doing: str, where: str) -> None:
    """Refuse an outcome for an entry this worker does not hold in flight, saying why."""
    state, sha = row["state"], row["sha256"]
    if state == OutboxState.QUEUED:
        raise OutboxError(
            f"outbox entry {short(sha)} is queued, not in flight: claim it before you {doing}",
            path=where,
        )
    if state == OutboxState.FAILED:
        raise OutboxError(
            f"outbox entry {short(sha)} has failed for good ({row['last_error']}); "
            f"requeue it before you {doing}",
            path=where,
        )
    if state == OutboxState.DELIVERED:
        raise OutboxError(
            f"outbox entry {short(sha)} was delivered already (remote id "
            f"{row['remote_id']!r}); you cannot {doing}",
            path=where,
        )
    if row["lease_owner"] != who:
        raise OutboxError(
            f"outbox entry {short(sha)} is held by {row['lease_owner']!r}, not {who!r}: "
            f"this worker's lease expired and was taken over, so it cannot {doing}",
            path=where,
        )


def due(conn: sqlite3.Connection, now: float, sha: str | None = None) -> tuple[str, bool] | None:
    """(sha, recovered) of the entry due the longest, or of ``sha`` if that one is due."""
    if sha is not None:
        return _due_one(conn, now, sha)
    # INDEXED BY: without statistics the planner prefers outbox_state and sorts every
    # queued row; the partial indexes give the answer in one probe.
    queued = conn.execute(
        "SELECT next_attempt_at, seq, sha256 FROM outbox INDEXED BY outbox_queued "
        "WHERE state = 'queued' "
        "AND next_attempt_at <= ? ORDER BY next_attempt_at, seq LIMIT 1",
        (now,),
    ).fetchone()
    lapsed = conn.execute(
        "SELECT lease_until, seq, sha256 FROM outbox INDEXED BY outbox_leased "
        "WHERE state = 'in_flight' "
        "AND lease_until <= ? ORDER BY lease_until, seq LIMIT 1",
        (now,),
    ).fetchone()
    if queued is None and lapsed is None:
        return None
    if lapsed is None or (queued is not None and tuple(queued) < tuple(lapsed)):
        return str(queued[2]), False
    return str(lapsed[2]), True


def _due_one(conn: sqlite3.Connection, now: float, sha: str) -> tuple[str, bool] | None:
    row = conn.execute(
        "SELECT state, next_attempt_at, lease_until FROM outbox WHERE sha256 = ?", (sha,)
    ).fetchone()
    if row is None:
        return None
    state, next_at, lease_until = row
    if state == OutboxState.QUEUED and next_at <= now:
        return sha, False
    if state == OutboxState.IN_FLIGHT and lease_until <= now:
        return sha, True
    return None


def entry_from_row(
    row: sqlite3.Row | tuple[Any, ...],
    payload_path: Path | None,
    *,
    created: bool = False,
    recovered: bool = False,
) -> OutboxEntry:
    """An entry from a row of ``SELECT_ENTRY``."""
    (sha, message_id, operation, params, state, attempts, remote_id, last_error) = row[:8]
    (created_at, updated_at, next_at, lease_owner, lease_until, size, kept) = row[8:]
    return OutboxEntry(
        payload_sha256=sha,
        message_id=message_id,
        operation=operation,
        params=json.loads(params),
        state=OutboxState(state),
        attempts=attempts,
        remote_id=remote_id,
        last_error=last_error,
        created_at=created_at,
        updated_at=updated_at,
        next_attempt_at=next_at,
        lease_owner=lease_owner,
        lease_until=lease_until,
        payload_path=payload_path if kept else None,
        size=size,
        created=created,
        recovered=recovered,
    )


def check_state(state: OutboxState | str) -> OutboxState:
    try:
        return OutboxState(state)
    except ValueError:
        known = ", ".join(s.value for s in OutboxState)
        raise ConfigurationError(
            f"unknown outbox state {state!r}; one of {known}", field="state"
        ) from None


def check_sha(sha: str) -> str:
    value = sha.lower() if isinstance(sha, str) else ""
    if not SHA256_RE.fullmatch(value):
        raise OutboxError(f"{sha!r} is not a SHA-256 hex digest (64 hexadecimal characters)")
    return value


def short(sha: str) -> str:
    return f"{sha[:12]}…"


def check_seconds(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"must be a positive number of seconds, not {value!r}", field=name)
