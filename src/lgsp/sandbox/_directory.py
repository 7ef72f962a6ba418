"""The agency directory of the VXP axis: who exists, which system serves whom.

An organ is served by a system when the operator's config lists it under that system, or when
that system registered it (``registerAgency``). The directory is the seeded agencies, the
registered ones (less the deleted), and every organ a system is configured for.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from lgsp.sandbox._common import Refusal, vxp_time
from lgsp.sandbox.state import SandboxState

__all__ = [
    "agencies",
    "delete_agency",
    "is_known",
    "organs_of",
    "register_agency",
    "sync_units",
]

_COLUMNS = "code, id, pid, name, mail, mobile, fax, level, old_code, code102, center, deleted,"
_COLUMNS += " version, modified"


def organs_of(state: SandboxState, db: sqlite3.Connection, system_id: str) -> set[str]:
    """The organs ``system_id`` sends and receives for."""
    system = state.config.system(system_id)
    organs = set(system.organs) if system is not None else set()
    organs.update(
        row[0]
        for row in db.execute(
            "SELECT code FROM vxp_agencies WHERE center = ? AND deleted = 0", (system_id,)
        )
    )
    return organs


def is_known(state: SandboxState, db: sqlite3.Connection, organ: str) -> bool:
    """Whether ``organ`` is in the directory (so that packages can be addressed to it)."""
    if any(organ in s.organs for s in state.config.systems):
        return True
    row = db.execute(
        "SELECT 1 FROM vxp_agencies WHERE code = ? AND deleted = 0", (organ,)
    ).fetchone()
    return row is not None


def _center(state: SandboxState, code: str, registered_by: str | None) -> str | None:
    if registered_by:
        return registered_by
    return next((s.system_id for s in state.config.systems if code in s.organs), None)


def _rows(db: sqlite3.Connection, where: str = "", args: tuple[Any, ...] = ()) -> list[Any]:
    return db.execute(
        f"SELECT {_COLUMNS} FROM vxp_agencies {where} ORDER BY CAST(id AS INTEGER), id, code",  # noqa: S608 - fixed clauses
        args,
    ).fetchall()


def _agency(row: Any, *, with_level: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": row[1],
        "pid": row[2] or "",
        "code": row[0],
        "name": row[3],
        "mail": row[4] or "",
        "oldCode": row[8] or "",
        "code102": row[9] or row[0],
    }
    if with_level:
        item["level"] = row[7] or ""
    return item


def agencies(db: sqlite3.Connection, level: str | None = None) -> list[dict[str, Any]]:
    """``getAgenciesList`` (all live agencies) or ``getAgenciesListQD20`` (those of ``level``)."""
    if level is None:
        return [_agency(r) for r in _rows(db, "WHERE deleted = 0")]
    return [
        _agency(r, with_level=True)
        for r in _rows(db, "WHERE deleted = 0 AND level = ?", (level.strip(),))
    ]


def sync_units(state: SandboxState, db: sqlite3.Connection) -> list[dict[str, Any]]:
    """``getSynchronizeUnit``: every unit ever known, deleted ones flagged, with versions."""
    return [
        {
            "id": r[1],
            "pid": r[2] or "",
            "code": r[0],
            "name": r[3],
            "mail": r[4] or "",
            "centerCode": _center(state, r[0], r[10]) or "",
            "version": str(r[12]),
            "deleted": bool(r[11]),
            "modifyDate": vxp_time(r[13]),
            "isAgency": True,
        }
        for r in _rows(db)
    ]


def _text(body: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = body.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def register_agency(state: SandboxState, system_id: str, body: bytes) -> dict[str, Any]:
    """``registerAgency``: the JSON body names the agency (``code`` and ``name`` required;
    ``pid`` or ``pcode`` the parent); it becomes an organ of ``system_id``."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "400", "the body of registerAgency is not JSON") from None
    if not isinstance(data, dict):
        raise Refusal(400, "400", "the body of registerAgency must be a JSON object")
    code = _text(data, "code", "Code", "AgencyCode")
    name = _text(data, "name", "Name")
    if not code or not name:
        raise Refusal(400, "400", "registerAgency needs the agency's code and name")
    now = state.clock()
    with state.store.transaction() as db:
        row = db.execute("SELECT deleted, version FROM vxp_agencies WHERE code = ?", (code,))
        existing = row.fetchone()
        if existing is not None and not existing[0]:
            raise Refusal(409, "409", f"the agency {code} is already registered")
        pid = _text(data, "pid")
        parent_code = _text(data, "pcode", "parentCode")
        if pid is None and parent_code:
            parent = db.execute(
                "SELECT id FROM vxp_agencies WHERE code = ?", (parent_code,)
            ).fetchone()
            pid = parent[0] if parent else None
        given_id = _text(data, "id")
        if given_id is None:
            top = db.execute("SELECT MAX(CAST(id AS INTEGER)) FROM vxp_agencies").fetchone()
            given_id = str(int(top[0] or 0) + 1)
        values = (
            given_id,
            pid,
            name,
            _text(data, "mail", "email"),
            _text(data, "mobile"),
            _text(data, "fax"),
            _text(data, "level"),
            _text(data, "oldCode"),
            _text(data, "code102") or code,
            system_id,
            now,
        )
        if existing is None:
            db.execute(
                "INSERT INTO vxp_agencies (id, pid, name, mail, mobile, fax, level, old_code,"
                " code102, center, modified, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, code),
            )
        else:  # a deleted agency comes back, with a new version
            db.execute(
                "UPDATE vxp_agencies SET id = ?, pid = ?, name = ?, mail = ?, mobile = ?,"
                " fax = ?, level = ?, old_code = ?, code102 = ?, center = ?, modified = ?,"
                " deleted = 0, version = version + 1 WHERE code = ?",
                (*values, code),
            )
    return {"id": given_id, "code": code}


def delete_agency(state: SandboxState, system_id: str, code: str | None) -> None:
    """``deleteAgency``: a system removes an agency it registered or is configured for."""
    if not code:
        raise Refusal(400, "400", "deleteAgency needs AgencyCode")
    with state.store.transaction() as db:
        row = db.execute(
            "SELECT center FROM vxp_agencies WHERE code = ? AND deleted = 0", (code,)
        ).fetchone()
        if row is None:
            raise Refusal(404, "404", f"no agency {code} in the directory")
        if _center(state, code, row[0]) != system_id:
            raise Refusal(
                403, "403", f"the agency {code} is not registered by the system {system_id}"
            )
        db.execute(
            "UPDATE vxp_agencies SET deleted = 1, version = version + 1, modified = ?"
            " WHERE code = ?",
            (state.clock(), code),
        )
