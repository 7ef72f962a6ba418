"""The durable outbox: packages to send, kept in a SQLite file until the remote has them.

A package accepted by :meth:`Outbox.put` is on disk when ``put`` returns (payload file and
row, both fsync'd), survives any crash of the process, ``kill -9`` included, and is keyed by
the SHA-256 of its bytes: putting the same bytes again returns the entry already there, in
whatever state. A sender takes entries with :meth:`Outbox.claim` (an exclusive, expiring
lease: two workers, threads or processes, never hold the same entry) and records the outcome
with :meth:`Outbox.mark_delivered`, :meth:`Outbox.release` (retry later) or
:meth:`Outbox.mark_failed`. An entry whose worker died comes back from ``claim`` once its lease
expires, flagged ``recovered``: the remote may already have it, so ask before sending again.

States::

    put ─► queued ──claim──► in_flight ──mark_delivered──► delivered
             ▲  ▲              │  │ ▲
             │  └──release─────┘  │ └─ claim after the lease expired (recovered=True)
             └──requeue── failed ◄┘ mark_failed

The inbox of the receiving side (:class:`Inbox`) lives in the same kind of file.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from lgsp.clients._outbox_entries import (
    NO_LEASE,
    SELECT_ENTRY,
    OutboxEntry,
    OutboxState,
    VacuumResult,
    check_held,
    check_seconds,
    check_sha,
    check_state,
    due,
    entry_from_row,
    short,
)
from lgsp.clients._outbox_files import PayloadFiles
from lgsp.clients._outbox_inbox import Inbox, InboxRecord, InboxState
from lgsp.clients._outbox_store import Store
from lgsp.errors import OutboxError

__all__ = [
    "Inbox",
    "InboxRecord",
    "InboxState",
    "Outbox",
    "OutboxEntry",
    "OutboxState",
    "VacuumResult",
]


class Outbox:
    """A durable queue of packages to send, in a SQLite file with a folder of payload files.

    Usable from several threads and processes on the same file. ``owner`` names this worker in
    leases (default: host, process id and a random token); give each worker its own when several
    threads must be fenced from each other. Nothing touches the disk before the first call.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        payload_dir: str | os.PathLike[str] | None = None,
        owner: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self._store = Store(self.path, timeout=timeout, what="outbox")
        folder = Path(payload_dir) if payload_dir is not None else None
        self.payload_dir = folder or self.path.with_name(self.path.name + ".payloads")
        self._files = PayloadFiles(self.payload_dir)
        self._owner = owner
        self._default_owner = ("", 0)

    @property
    def owner(self) -> str:
        """The lease owner used when a call gives none (renewed in a forked child)."""
        if self._owner is not None:
            return self._owner
        token, pid = self._default_owner
        if pid != os.getpid():
            pid = os.getpid()
            token = f"{socket.gethostname()}/{pid}/{uuid.uuid4().hex[:8]}"
            self._default_owner = (token, pid)
        return token

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    def close(self) -> None:
        """Close this object's connections (entries stay in the file, of course)."""
        self._store.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # adding ------------------------------------------------------------------------------

    def put(
        self,
        payload: bytes | os.PathLike[str],
        *,
        operation: str = "sendEdoc",
        params: Mapping[str, Any] | None = None,
        message_id: str | None = None,
    ) -> OutboxEntry:
        """Accept a package durably; the same bytes again return the existing entry.

        ``payload`` is the package's bytes or a file to copy (streamed, never read whole).
        When the entry exists already, ``created`` is ``False`` and the entry keeps its own
        operation, params and message id.
        """
        if not operation:
            raise OutboxError("an outbox entry needs an operation name")
        try:
            params_json = json.dumps(
                dict(params or {}), ensure_ascii=False, sort_keys=True, allow_nan=False
            )
        except (TypeError, ValueError) as exc:
            raise OutboxError(f"params must be JSON-serialisable: {exc}") from exc
        tmp: Path | None = None
        with self._store.guard("store the payload", self.payload_dir):
            if isinstance(payload, bytes | bytearray | memoryview):
                data = bytes(payload)
                sha, size = hashlib.sha256(data).hexdigest(), len(data)
            elif isinstance(payload, os.PathLike):
                data = None
                sha, size, tmp = self._files.spool(Path(payload))
            else:
                raise TypeError(f"payload must be bytes or a path, not {type(payload).__name__}")
        try:
            existing = self.get(sha)
            if existing is None or (
                existing.payload_path is not None and not existing.payload_path.exists()
            ):
                # New, or an entry whose file someone deleted by hand: (re)write the file.
                with self._store.guard("store the payload", self.payload_dir):
                    if tmp is not None:
                        self._files.publish(tmp, sha)
                        tmp = None
                    elif data is not None:
                        self._files.store_bytes(sha, data)
            if existing is not None:
                return existing
            times = (time.time(),) * 3  # created, updated, due
            with self._store.write("add an entry") as conn:
                inserted = conn.execute(
                    "INSERT INTO outbox (sha256, message_id, operation, params, state, "
                    "attempts, created_at, updated_at, next_attempt_at, size) "
                    "VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?) "
                    "ON CONFLICT (sha256) DO NOTHING",
                    (sha, message_id or str(uuid.uuid4()), operation, params_json, *times, size),
                ).rowcount
                row = self._row(conn, sha)
            return self._entry(row, created=inserted == 1)
        finally:
            if tmp is not None:
                self._files.discard(tmp)

    # sending -----------------------------------------------------------------------------

    def claim(
        self,
        *,
        sha256: str | None = None,
        owner: str | None = None,
        lease_seconds: float = 300.0,
        now: float | None = None,
    ) -> OutboxEntry | None:
        """Take the entry due the longest, in flight under a lease; ``None`` when none is due.

        Due: queued with ``next_attempt_at`` reached, or in flight with an expired lease (its
        worker died); the latter comes back with ``recovered=True``. Exclusive across threads
        and processes. ``sha256`` claims that entry only, if it is due (send right after
        ``put``). ``now`` overrides the clock (tests, simulations).
        """
        wanted = None if sha256 is None else check_sha(sha256)
        check_seconds("lease_seconds", lease_seconds)
        now = time.time() if now is None else now
        with self._store.read("look for a due entry") as conn:
            if due(conn, now, wanted) is None:  # idle workers poll without the write lock
                return None
        with self._store.write("claim an entry") as conn:
            found = due(conn, now, wanted)
            if found is None:
                return None
            sha, recovered = found
            conn.execute(
                "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, "
                "lease_owner = ?, lease_until = ?, updated_at = ? WHERE sha256 = ?",
                (owner or self.owner, now + lease_seconds, now, sha),
            )
            row = self._row(conn, sha)
        return self._entry(row, recovered=recovered)

    def renew(
        self,
        sha: str,
        *,
        lease_seconds: float = 300.0,
        owner: str | None = None,
        now: float | None = None,
    ) -> OutboxEntry:
        """Extend the lease of an entry this worker holds (a long upload)."""
        check_seconds("lease_seconds", lease_seconds)
        now = time.time() if now is None else now
        return self._settle(
            sha, owner, "renew its lease", "lease_until = ?, updated_at = ?", (now + lease_seconds,)
        )

    def mark_delivered(
        self, sha: str, *, remote_id: str | None, owner: str | None = None
    ) -> OutboxEntry:
        """Record that the remote has the package; idempotent for the same ``remote_id``."""
        sha = check_sha(sha)
        who = owner or self.owner
        with self._store.write("record a delivery") as conn:
            row = self._row(conn, sha)
            if row["state"] == OutboxState.DELIVERED:
                known = row["remote_id"]
                if remote_id is not None and known not in (None, remote_id):
                    raise OutboxError(
                        f"outbox entry {short(sha)} was delivered with remote id {known!r}; "
                        f"it cannot be delivered again as {remote_id!r}",
                        path=str(self.path),
                    )
                if known is None and remote_id is not None:  # reconciliation found the id
                    conn.execute(
                        "UPDATE outbox SET remote_id = ? WHERE sha256 = ?", (remote_id, sha)
                    )
            else:
                check_held(row, who, "mark it delivered", str(self.path))
                conn.execute(
                    f"UPDATE outbox SET state = 'delivered', remote_id = ?, {NO_LEASE}, "  # noqa: S608
                    "updated_at = ? WHERE sha256 = ?",
                    (remote_id, time.time(), sha),
                )
            row = self._row(conn, sha)
        return self._entry(row)

    def release(
        self, sha: str, *, error: str, retry_at: float, owner: str | None = None
    ) -> OutboxEntry:
        """Give an entry back after a failed attempt that may succeed later, due at ``retry_at``."""
        return self._settle(
            sha,
            owner,
            "release it",
            f"state = 'queued', last_error = ?, next_attempt_at = ?, {NO_LEASE}, updated_at = ?",
            (error, retry_at),
        )

    def mark_failed(self, sha: str, *, error: str, owner: str | None = None) -> OutboxEntry:
        """Stop trying: the remote refused the package for good (see :meth:`requeue`)."""
        return self._settle(
            sha,
            owner,
            "mark it failed",
            f"state = 'failed', last_error = ?, {NO_LEASE}, updated_at = ?",
            (error,),
        )

    def requeue(self, sha: str, *, retry_at: float | None = None) -> OutboxEntry:
        """Operator action: send a failed entry again (``attempts`` keeps counting)."""
        sha = check_sha(sha)
        now = time.time()
        with self._store.write("requeue an entry") as conn:
            row = self._row(conn, sha)
            if row["state"] != OutboxState.FAILED:
                raise OutboxError(
                    f"outbox entry {short(sha)} is {row['state']}, not failed: only a failed "
                    "entry can be requeued",
                    path=str(self.path),
                )
            conn.execute(
                "UPDATE outbox SET state = 'queued', next_attempt_at = ?, updated_at = ? "
                "WHERE sha256 = ?",
                (now if retry_at is None else retry_at, now, sha),
            )
            row = self._row(conn, sha)
        return self._entry(row)

    # reading -----------------------------------------------------------------------------

    def get(self, sha: str) -> OutboxEntry | None:
        """The entry of a payload hash, or ``None``."""
        sha = check_sha(sha)
        with self._store.read("read an entry") as conn:
            row = conn.execute(f"{SELECT_ENTRY} WHERE sha256 = ?", (sha,)).fetchone()
        return None if row is None else self._entry(row)

    def entries(self, state: OutboxState | str | None = None) -> list[OutboxEntry]:
        """Entries in the order they were put, all or those in one state."""
        with self._store.read("list entries") as conn:
            if state is None:
                rows = conn.execute(f"{SELECT_ENTRY} ORDER BY seq").fetchall()
            else:
                wanted = check_state(state)
                rows = conn.execute(
                    f"{SELECT_ENTRY} WHERE state = ? ORDER BY seq", (wanted.value,)
                ).fetchall()
        return [self._entry(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """How many entries are in each state (every state present, zeros included)."""
        counts = {state.value: 0 for state in OutboxState}
        with self._store.read("count entries") as conn:
            rows = conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        return counts | dict(rows)

    def open_payload(self, sha: str) -> BinaryIO:
        """The payload file of an entry, open for reading (the caller closes it)."""
        path = self._payload_path(sha)
        with self._store.guard("open the payload", path):
            return path.open("rb")

    def read_payload(self, sha: str, *, verify: bool = True) -> bytes:
        """The payload bytes of an entry, checked against the hash unless ``verify=False``."""
        path = self._payload_path(sha)
        with self._store.guard("read the payload", path):
            data = path.read_bytes()
        if verify and hashlib.sha256(data).hexdigest() != sha.lower():
            raise OutboxError(
                f"the payload file is damaged: its SHA-256 is not {sha.lower()}", path=str(path)
            )
        return data

    # upkeep ------------------------------------------------------------------------------

    def vacuum(
        self,
        *,
        delivered_older_than: float | None = None,
        orphans_older_than: float = 3600.0,
        now: float | None = None,
    ) -> VacuumResult:
        """Remove payload files nobody needs; rows are never removed.

        Orphans (a crash between file and row) go once older than ``orphans_older_than``
        seconds, which protects a put in progress. With ``delivered_older_than``, the payload
        files of entries delivered that many seconds ago go too; their rows stay, so a later
        put of the same bytes is still recognised as delivered.
        """
        now = time.time() if now is None else now
        dropped: list[str] = []
        freed = 0
        if delivered_older_than is not None:
            with self._store.write("vacuum delivered payloads") as conn:
                dropped = [
                    r[0]
                    for r in conn.execute(
                        "SELECT sha256 FROM outbox WHERE state = 'delivered' "
                        "AND payload_kept = 1 AND updated_at < ?",
                        (now - delivered_older_than,),
                    )
                ]
                conn.executemany(
                    "UPDATE outbox SET payload_kept = 0 WHERE sha256 = ?", [(s,) for s in dropped]
                )
            # Rows first, then files: a crash in between leaves orphans, swept next time.
            with self._store.guard("remove delivered payloads", self.payload_dir):
                freed = self._files.remove(dropped)
        with self._store.read("list payloads in use") as conn:
            kept = {r[0] for r in conn.execute("SELECT sha256 FROM outbox WHERE payload_kept = 1")}
        with self._store.guard("remove orphan payloads", self.payload_dir):
            removed, orphan_bytes = self._files.sweep(
                kept.__contains__, older_than=now - orphans_older_than
            )
        return VacuumResult(
            orphan_files=removed, delivered_payloads=len(dropped), bytes_freed=freed + orphan_bytes
        )

    # internals ---------------------------------------------------------------------------

    def _settle(
        self, sha: str, owner: str | None, doing: str, assignments: str, args: tuple[Any, ...]
    ) -> OutboxEntry:
        """Apply an outcome to an entry this worker holds in flight, or refuse."""
        sha = check_sha(sha)
        who = owner or self.owner
        with self._store.write(doing) as conn:
            row = self._row(conn, sha)
            check_held(row, who, doing, str(self.path))
            conn.execute(
                f"UPDATE outbox SET {assignments} WHERE sha256 = ?",  # noqa: S608 - constants
                (*args, time.time(), sha),
            )
            row = self._row(conn, sha)
        return self._entry(row)

    def _entry(
        self, row: sqlite3.Row, *, created: bool = False, recovered: bool = False
    ) -> OutboxEntry:
        return entry_from_row(row, self._files.path(row[0]), created=created, recovered=recovered)

    def _row(self, conn: sqlite3.Connection, sha: str) -> sqlite3.Row:
        cursor = conn.execute(f"{SELECT_ENTRY} WHERE sha256 = ?", (sha,))
        cursor.row_factory = sqlite3.Row
        row: sqlite3.Row | None = cursor.fetchone()
        if row is None:
            raise OutboxError(f"no outbox entry has payload SHA-256 {sha}", path=str(self.path))
        return row

    def _payload_path(self, sha: str) -> Path:
        entry = self.get(sha)
        if entry is None:
            raise OutboxError(f"no outbox entry has payload SHA-256 {sha}", path=str(self.path))
        if entry.payload_path is None:
            raise OutboxError(
                f"the payload of outbox entry {short(sha)} was removed by vacuum() after its "
                "delivery",
                path=str(self.path),
            )
        return entry.payload_path
