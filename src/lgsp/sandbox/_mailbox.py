"""What a receiver sees and does: the packages waiting for its organs, one package, its
acknowledgement; what a sender sees: its sent packages with each receiver's status.

Each package has one delivery per receiving organ, with its own status: ``new`` until the
receiver says ``processing``, ``done`` or ``fail`` (``updateStatus``). A package waits in the
received list while any of the caller's deliveries is ``new`` or ``processing``; ``done`` and
``fail`` are final for the list (a receiver that failed tells the sender so, it does not ask
for the package again). ``done`` cannot be undone; repeating a status is harmless.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from lgsp.sandbox._common import Refusal, vxp_time
from lgsp.sandbox.faults import Defect

if TYPE_CHECKING:
    from lgsp.sandbox.state import SandboxState

__all__ = [
    "STATUSES",
    "acknowledge",
    "count_waiting",
    "payload",
    "received",
    "sent",
    "traces",
    "update_status",
    "waiting_ids",
]

STATUSES = ("new", "processing", "done", "fail")
WAITING = ("new", "processing")
_STATUS_DESC = {
    "new": "Chưa nhận (waiting for the receiver)",
    "processing": "Đang xử lý (the receiver is processing it)",
    "done": "Đã nhận (received)",
    "fail": "Lỗi (the receiver could not process it)",
}


def _json(values: Collection[str]) -> str:
    """A set of organs as one parameter, read back in SQL with ``json_each`` (no SQL built)."""
    return json.dumps(sorted(values))


def received(
    db: sqlite3.Connection,
    organs: Collection[str],
    *,
    message_type: str | None = None,
    since: float | None = None,
    until: float | None = None,
) -> list[dict[str, Any]]:
    """``getReceivedEdocList`` items for the caller's ``organs``, oldest first."""
    if not organs:
        return []
    sql = (
        "SELECT d.doc_id, d.service_type, d.message_type, d.created, d.from_organ, d.to_organs,"
        " d.sha256, d.size, d.version_sdk, MAX(v.updated), MIN(v.status)"
        " FROM vxp_deliveries v JOIN vxp_documents d ON d.doc_id = v.doc_id"
        " WHERE v.organ IN (SELECT value FROM json_each(?))"
        " AND v.status IN ('new', 'processing')"
    )
    args: list[Any] = [_json(organs)]
    if message_type:
        sql += " AND d.message_type = ?"
        args.append(message_type)
    if since is not None:
        sql += " AND d.created >= ?"
        args.append(since)
    if until is not None:
        sql += " AND d.created <= ?"
        args.append(until)
    sql += " GROUP BY d.doc_id ORDER BY d.doc_id"
    return [
        {
            "docId": str(r[0]),
            "serviceType": r[1],
            "messageType": r[2],
            "created_time": vxp_time(r[3]),
            "updated_time": vxp_time(r[9]),
            "from": r[4],
            "to": json.loads(r[5]),
            "status": r[10],
            "status_desc": _STATUS_DESC.get(r[10], r[10]),
            "contentSha256": r[6],
            "contentLength": r[7],
            "versionSdk": r[8] or "",
        }
        for r in db.execute(sql, args)
    ]


def waiting_ids(db: sqlite3.Connection, organ: str, message_type: str | None) -> list[str]:
    """The SOAP hub's pending ids for one organ."""
    sql = (
        "SELECT v.doc_id FROM vxp_deliveries v JOIN vxp_documents d ON d.doc_id = v.doc_id"
        " WHERE v.organ = ? AND v.status IN ('new', 'processing')"
    )
    args: list[Any] = [organ]
    if message_type:
        sql += " AND d.message_type = ?"
        args.append(message_type)
    return [str(r[0]) for r in db.execute(sql + " ORDER BY v.doc_id", args)]


def count_waiting(db: sqlite3.Connection, organs: Collection[str], message_type: str) -> int:
    if not organs:
        return 0
    row = db.execute(
        "SELECT COUNT(DISTINCT v.doc_id) FROM vxp_deliveries v"
        " JOIN vxp_documents d ON d.doc_id = v.doc_id"
        " WHERE v.organ IN (SELECT value FROM json_each(?))"
        " AND v.status IN ('new', 'processing') AND d.message_type = ?",
        (_json(organs), message_type),
    ).fetchone()
    return int(row[0])


def sent(
    db: sqlite3.Connection,
    sender: str,
    *,
    message_type: str | None = None,
    doc_id: str | None = None,
) -> list[dict[str, Any]]:
    """``getSentEdocList``: one item per (package, receiver) sent by ``sender``."""
    sql = (
        "SELECT d.doc_id, d.service_type, d.message_type, d.created, d.from_organ, d.subject,"
        " d.notation, v.organ, v.status, v.updated"
        " FROM vxp_documents d JOIN vxp_deliveries v ON v.doc_id = d.doc_id"
        " WHERE d.sender = ?"
    )
    args: list[Any] = [sender]
    if message_type:
        sql += " AND d.message_type = ?"
        args.append(message_type)
    if doc_id:
        sql += " AND d.doc_id = ?"
        args.append(_doc_number(doc_id))
    sql += " ORDER BY d.doc_id, v.organ"
    return [
        {
            "serviceType": r[1],
            "senderDocId": str(r[0]),
            "receiverDocId": str(r[0]),
            "fromCode": r[4],
            "toCode": r[7],
            "title": r[5] or "",
            "notation": r[6] or "",
            "messageType": r[2],
            "sentTime": vxp_time(r[3]),
            "sendStatus": "done",
            "sendStatusDesc": "Đã gửi lên trục (accepted by the axis)",
            "receiveStatus": r[8],
            "receiveStatusDesc": _STATUS_DESC.get(r[8], r[8]),
            "receivedTime": vxp_time(r[9]) if r[8] != "new" else "",
        }
        for r in db.execute(sql, args)
    ]


def _doc_number(doc_id: str) -> int:
    try:
        return int(doc_id.strip().strip('"'))
    except ValueError:
        raise Refusal(404, "404", f"no document {doc_id}") from None


def payload(
    db: sqlite3.Connection, doc_id: str, organs: Collection[str], sender: str | None
) -> bytes:
    """The package ``doc_id``, for one of its receivers (``organs``) or its ``sender``."""
    number = _doc_number(doc_id)
    row = db.execute("SELECT sender FROM vxp_documents WHERE doc_id = ?", (number,)).fetchone()
    if row is None:
        raise Refusal(404, "404", f"no document {doc_id}")
    if sender is None or row[0] != sender:
        mine = (
            db.execute(
                "SELECT 1 FROM vxp_deliveries WHERE doc_id = ?"
                " AND organ IN (SELECT value FROM json_each(?))",
                (number, _json(organs)),
            ).fetchone()
            if organs
            else None
        )
        if mine is None:
            raise Refusal(403, "403", f"the document {doc_id} is not addressed to the caller")
    data = db.execute("SELECT data FROM vxp_payloads WHERE doc_id = ?", (number,)).fetchone()
    return bytes(data[0])


def acknowledge(
    state: SandboxState,
    *,
    doc_id: str,
    organs: Collection[str],
    status: str | None,
    description: str | None,
) -> int:
    """A receiver's ``updateStatus`` / ``UpdateTraces``: :func:`update_status` in its own
    transaction; with the ``ack-without-effect`` defect, checked and answered but not kept."""
    with state.store.transaction() as db:
        return update_status(
            db,
            doc_id=doc_id,
            organs=organs,
            status=status,
            description=description,
            now=state.clock(),
            record=not state.faults.plays(Defect.ACK_WITHOUT_EFFECT),
        )


def update_status(
    db: sqlite3.Connection,
    *,
    doc_id: str,
    organs: Collection[str],
    status: str | None,
    description: str | None,
    now: float,
    record: bool = True,
) -> int:
    """Set the caller's deliveries of ``doc_id`` to ``status``; how many changed (or would,
    with ``record`` False: everything is checked, nothing written). Run inside a write
    transaction."""
    wanted = (status or "").strip().strip('"').lower()
    if wanted not in ("processing", "done", "fail"):
        raise Refusal(400, "400", f"status must be done, fail or processing (got {status!r})")
    number = _doc_number(doc_id)
    if db.execute("SELECT 1 FROM vxp_documents WHERE doc_id = ?", (number,)).fetchone() is None:
        raise Refusal(404, "404", f"no document {doc_id}")
    rows = (
        db.execute(
            "SELECT organ, status FROM vxp_deliveries WHERE doc_id = ?"
            " AND organ IN (SELECT value FROM json_each(?))",
            (number, _json(organs)),
        ).fetchall()
        if organs
        else []
    )
    if not rows:
        raise Refusal(403, "403", f"the document {doc_id} is not addressed to the caller")
    if any(current == "done" and wanted != "done" for _, current in rows):
        raise Refusal(409, "409", f"the document {doc_id} is already done: its status is final")
    if not record:
        return len(rows)
    db.executemany(
        "UPDATE vxp_deliveries SET status = ?, description = ?, updated = ?"
        " WHERE doc_id = ? AND organ = ?",
        [(wanted, description, now, number, organ) for organ, _ in rows],
    )
    return len(rows)


def traces(db: sqlite3.Connection, doc_id: str) -> list[tuple[str, str, float, str | None]]:
    """The deliveries of ``doc_id`` as (organ, status, time, description)."""
    number = _doc_number(doc_id)
    if db.execute("SELECT 1 FROM vxp_documents WHERE doc_id = ?", (number,)).fetchone() is None:
        raise Refusal(404, "404", f"no document {doc_id}")
    return [
        (r[0], r[1], r[2], r[3])
        for r in db.execute(
            "SELECT organ, status, updated, description FROM vxp_deliveries WHERE doc_id = ?"
            " ORDER BY organ",
            (number,),
        )
    ]
