"""The receive inbox: which remote documents were handed to the user, and which acknowledged.

The receive loop asks :meth:`Inbox.begin` before downloading a document, records the hand-over
with :meth:`Inbox.record_handed` right after the user's handler returned (committed and on disk
before it returns), and :meth:`Inbox.record_acknowledged` once the remote was told. After
``record_handed`` returned, no crash leads to a second hand-over of that doc id; a crash
between hand-over and acknowledgement leaves the doc in :meth:`Inbox.pending_acks`.

The one window no store can close is between the handler returning and ``record_handed``
committing. :meth:`Inbox.record_handing` marks it: a doc found ``HANDING`` after a restart was
being handed over when the process died, and the loop decides (hand it again, flagged as a
possible repeat, or not).
"""

from __future__ import annotations

import enum
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lgsp.clients._outbox_store import Store
from lgsp.errors import OutboxError

__all__ = ["Inbox", "InboxRecord", "InboxState"]

_SELECT = (
    "SELECT doc_id, state, sha256, first_seen_at, handed_at, acknowledged_at, updated_at FROM inbox"
)


class InboxState(enum.StrEnum):
    """Where a received document stands; ``NEW`` is never stored (no row)."""

    NEW = "new"
    HANDING = "handing"
    """The hand-over started and did not finish as far as the file knows."""
    HANDED = "handed"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True, slots=True)
class InboxRecord:
    """What the inbox knows of one remote document. Times are POSIX seconds."""

    doc_id: str
    state: InboxState
    sha256: str | None
    first_seen_at: float
    handed_at: float | None
    acknowledged_at: float | None
    updated_at: float


class Inbox:
    """Received documents by remote doc id, in a SQLite file (may be the outbox's file).

    Usable from several threads and processes on the same file; nothing touches the disk
    before the first call.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._store = Store(self.path, timeout=timeout, what="inbox")

    def __repr__(self) -> str:
        return f"Inbox({str(self.path)!r})"

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def begin(self, doc_id: str, *, sha256: str | None = None) -> InboxState:
        """Where ``doc_id`` stands: ``NEW`` (hand it over), ``HANDED`` (acknowledge only), …

        With ``sha256``, a doc id already recorded with other bytes raises
        :class:`~lgsp.errors.OutboxError`: the remote reused an id, and nobody should guess.
        """
        record = self.get(doc_id)
        if record is None:
            return InboxState.NEW
        self._check_sha(record, _digest(sha256))
        return record.state

    def get(self, doc_id: str) -> InboxRecord | None:
        doc_id = _doc_id(doc_id)
        with self._store.read("read the inbox") as conn:
            row = self._find(conn, doc_id)
        return None if row is None else _record(row)

    def seen(self, doc_id: str) -> bool:
        """Whether ``doc_id`` was ever recorded (handing, handed or acknowledged)."""
        return self.get(doc_id) is not None

    def record_handing(self, doc_id: str, sha256: str | None = None) -> bool:
        """Mark the start of a hand-over; ``False`` when the doc was recorded already.

        Only the caller that got ``True`` hands the document over: two receivers sharing the
        file cannot both do it.
        """
        doc_id, sha256 = _doc_id(doc_id), _digest(sha256)
        now = time.time()
        with self._store.write("record a hand-over") as conn:
            inserted = conn.execute(
                "INSERT INTO inbox (doc_id, sha256, state, first_seen_at, updated_at) "
                "VALUES (?, ?, 'handing', ?, ?) ON CONFLICT (doc_id) DO NOTHING",
                (doc_id, sha256, now, now),
            ).rowcount
            if not inserted:
                self._check_sha(_record(self._row(conn, doc_id)), sha256)
        return inserted == 1

    def record_handed(self, doc_id: str, sha256: str | None = None) -> InboxRecord:
        """Record that the user's handler has the document; on disk when this returns.

        Idempotent; an acknowledged document stays acknowledged.
        """
        doc_id, sha256 = _doc_id(doc_id), _digest(sha256)
        now = time.time()
        with self._store.write("record a hand-over") as conn:
            row = self._find(conn, doc_id)
            if row is None:
                conn.execute(
                    "INSERT INTO inbox (doc_id, sha256, state, first_seen_at, handed_at, "
                    "updated_at) VALUES (?, ?, 'handed', ?, ?, ?)",
                    (doc_id, sha256, now, now, now),
                )
            else:
                self._check_sha(_record(row), sha256)
                # Only a hand-over in progress moves; handed or acknowledged stay as they are.
                conn.execute(
                    "UPDATE inbox SET state = 'handed', handed_at = ?, updated_at = ? "
                    "WHERE doc_id = ? AND state = 'handing'",
                    (now, now, doc_id),
                )
                if sha256 is not None:
                    conn.execute(
                        "UPDATE inbox SET sha256 = ? WHERE doc_id = ? AND sha256 IS NULL",
                        (sha256, doc_id),
                    )
            return _record(self._row(conn, doc_id))

    def abandon(self, doc_id: str) -> bool:
        """Undo :meth:`record_handing` when the handler refused the document (it raised): the
        document is then new again and the next pass hands it over. ``False`` when there was
        no hand-over in progress to undo (handed and acknowledged documents stay)."""
        doc_id = _doc_id(doc_id)
        with self._store.write("abandon a hand-over") as conn:
            removed = conn.execute(
                "DELETE FROM inbox WHERE doc_id = ? AND state = 'handing'", (doc_id,)
            ).rowcount
        return removed == 1

    def record_acknowledged(self, doc_id: str) -> InboxRecord:
        """Record that the remote was told (also for a document refused without hand-over)."""
        doc_id = _doc_id(doc_id)
        now = time.time()
        with self._store.write("record an acknowledgement") as conn:
            conn.execute(
                "INSERT INTO inbox (doc_id, state, first_seen_at, acknowledged_at, updated_at) "
                "VALUES (?, 'acknowledged', ?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET "
                "state = 'acknowledged', "
                "acknowledged_at = excluded.acknowledged_at, "
                "updated_at = excluded.updated_at WHERE state != 'acknowledged'",
                (doc_id, now, now, now),
            )
            return _record(self._row(conn, doc_id))

    def pending_acks(self) -> list[str]:
        """Doc ids handed over but not acknowledged (the process died in between), oldest first."""
        return self._ids(InboxState.HANDED)

    def interrupted(self) -> list[str]:
        """Doc ids whose hand-over started and never finished (``HANDING``), oldest first."""
        return self._ids(InboxState.HANDING)

    def counts(self) -> dict[str, int]:
        """How many documents are in each stored state (zeros included)."""
        counts = {s.value: 0 for s in InboxState if s is not InboxState.NEW}
        with self._store.read("count the inbox") as conn:
            rows = conn.execute("SELECT state, COUNT(*) FROM inbox GROUP BY state").fetchall()
        return counts | dict(rows)

    def _ids(self, state: InboxState) -> list[str]:
        with self._store.read("list the inbox") as conn:
            rows = conn.execute(
                "SELECT doc_id FROM inbox WHERE state = ? ORDER BY updated_at, doc_id",
                (state.value,),
            ).fetchall()
        return [r[0] for r in rows]

    def _row(self, conn: sqlite3.Connection, doc_id: str) -> tuple[Any, ...]:
        row = self._find(conn, doc_id)
        if row is None:
            raise OutboxError(f"no inbox record for doc id {doc_id!r}", path=str(self.path))
        return row

    @staticmethod
    def _find(conn: sqlite3.Connection, doc_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = conn.execute(
            f"{_SELECT} WHERE doc_id = ?",
            (doc_id,),
        ).fetchone()
        return row

    def _check_sha(self, record: InboxRecord, sha256: str | None) -> None:
        if sha256 is not None and record.sha256 is not None and sha256 != record.sha256:
            raise OutboxError(
                f"doc id {record.doc_id!r} was recorded ({record.state}) with payload SHA-256 "
                f"{record.sha256}, and is now received with {sha256}: the remote reused a doc "
                "id; check with the sender before handing it over",
                path=str(self.path),
            )


def _doc_id(doc_id: str) -> str:
    if not isinstance(doc_id, str) or not doc_id:
        raise OutboxError(f"a doc id must be a non-empty string, not {doc_id!r}")
    return doc_id


def _digest(sha256: str | None) -> str | None:
    return None if sha256 is None else sha256.lower()


def _record(row: tuple[Any, ...]) -> InboxRecord:
    doc_id, state, sha256, first_seen, handed, acked, updated = row
    return InboxRecord(
        doc_id=doc_id,
        state=InboxState(state),
        sha256=sha256,
        first_seen_at=first_seen,
        handed_at=handed,
        acknowledged_at=acked,
        updated_at=updated,
    )
