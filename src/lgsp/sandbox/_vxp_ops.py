"""The VXP operations of the sandbox (vn-contracts §2.2), over a caller already identified.

Each operation takes the state, the :class:`Caller` (its system and parameters) and the body,
and answers the axis's envelope ``{status, ErrorCode, ErrorDesc, …}`` (see :mod:`lgsp.sandbox.vxp`
for the codes).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from lgsp.sandbox import _directory, _mailbox
from lgsp.sandbox._accept import Accepted, Pending, Submission, submit
from lgsp.sandbox._common import Refusal, parse_date
from lgsp.sandbox.state import SandboxState

__all__ = ["BODY_OPERATIONS", "OPERATIONS", "Caller", "Handler", "fail"]


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    """The system a call is made as, and its parameters (names lowercased)."""

    system_id: str
    params: dict[str, str]
    version: str | None = None

    def get(self, name: str) -> str | None:
        value = self.params.get(name.lower())
        if value is None:
            return None
        text = value.strip()
        if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
            try:
                decoded = json.loads(text)
            except ValueError:
                return text
            return decoded if isinstance(decoded, str) else text
        return text or None

    def require(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise Refusal(400, "400", f"the parameter {name} is missing (XroadVnpt-{name})")
        return value


def _envelope(**fields: Any) -> dict[str, Any]:
    return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", **fields}


def fail(refusal: Refusal) -> JSONResponse:
    """The axis's refusal: ``status`` FAIL, the code and why, with the HTTP status."""
    return JSONResponse(
        {"status": "FAIL", "ErrorCode": refusal.code, "ErrorDesc": refusal.message},
        status_code=refusal.status,
    )


def _parse_to(text: str) -> list[str]:
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise Refusal(400, "400", "to must be an organ code or a JSON array of codes")
    return [item.strip() for item in items if item.strip()]


# -- operations ---------------------------------------------------------------------------

Handler = Callable[[SandboxState, Caller, bytes], Response | Pending]


def _send_edoc(state: SandboxState, caller: Caller, body: bytes) -> Response | Pending:
    to = caller.get("to")
    sub = Submission(
        sender=caller.system_id,
        system_id=caller.system_id,
        from_organ=caller.get("from"),
        to_organs=_parse_to(to) if to else None,
        service_type=caller.get("servicetype") or "eDoc",
        hash_file=caller.get("hash-file"),
        version_sdk=caller.version,
    )
    return submit(state, sub, body, _accepted, fail)


def _accepted(result: Accepted) -> Response:
    note = "already received: this is the DocId of the first copy" if result.duplicate else ""
    return JSONResponse(_envelope(ErrorDesc=note, DocId=result.doc_id))


def _dates(caller: Caller) -> tuple[float | None, float | None]:
    try:
        since = caller.get("fromDate")
        until = caller.get("toDate")
        return (
            parse_date(since) if since else None,
            parse_date(until, end=True) if until else None,
        )
    except ValueError as exc:
        raise Refusal(400, "400", str(exc)) from None


def _received(state: SandboxState, caller: Caller, _body: bytes) -> Response:
    since, until = _dates(caller)
    with state.store.reading() as db:
        organs = _directory.organs_of(state, db, caller.system_id)
        items = _mailbox.received(
            db, organs, message_type=caller.get("messagetype"), since=since, until=until
        )
    return JSONResponse(_envelope(data=items))


def _sent(state: SandboxState, caller: Caller, _body: bytes) -> Response:
    with state.store.reading() as db:
        items = _mailbox.sent(
            db,
            caller.system_id,
            message_type=caller.get("messagetype"),
            doc_id=caller.get("docId"),
        )
    return JSONResponse(_envelope(data=items))


def _package(state: SandboxState, caller: Caller) -> tuple[str, bytes]:
    doc_id = caller.require("docId")
    with state.store.reading() as db:
        organs = _directory.organs_of(state, db, caller.system_id)
        return doc_id, _mailbox.payload(db, doc_id, organs, caller.system_id)


def _get_edoc(state: SandboxState, caller: Caller, _body: bytes) -> Response:
    _doc_id, data = _package(state, caller)
    head = json.dumps(_envelope(filePath=caller.get("filePath") or ""), ensure_ascii=False)
    # The Base64 text needs no JSON escaping: the envelope is assembled around it.
    encoded = head[:-1].encode() + b',"data":"' + base64.b64encode(data) + b'"}'
    return Response(encoded, media_type="application/json")


def _download_edoc(state: SandboxState, caller: Caller, _body: bytes) -> Response:
    doc_id, data = _package(state, caller)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{doc_id}.edxml"'},
    )


def _update_status(state: SandboxState, caller: Caller, _body: bytes) -> Response:
    doc_id = caller.require("docId")
    with state.store.reading() as db:
        organs = _directory.organs_of(state, db, caller.system_id)
    _mailbox.acknowledge(
        state,
        doc_id=doc_id,
        organs=organs,
        status=caller.get("status"),
        description=caller.get("description"),
    )
    return JSONResponse(_envelope())


def _counter(message_type: str) -> Handler:
    def count(state: SandboxState, caller: Caller, _body: bytes) -> Response:
        with state.store.reading() as db:
            organs = _directory.organs_of(state, db, caller.system_id)
            n = _mailbox.count_waiting(db, organs, message_type)
        return JSONResponse(_envelope(count=n, data=n))

    return count


def _agencies(state: SandboxState, _caller: Caller, _body: bytes) -> Response:
    with state.store.reading() as db:
        return JSONResponse(_envelope(data=_directory.agencies(db)))


def _agencies_qd20(state: SandboxState, caller: Caller, _body: bytes) -> Response:
    level = caller.require("level")
    with state.store.reading() as db:
        return JSONResponse(_envelope(data=_directory.agencies(db, level)))


def _register(state: SandboxState, caller: Caller, body: bytes) -> Response:
    return JSONResponse(_envelope(data=_directory.register_agency(state, caller.system_id, body)))


def _delete(state: SandboxState, caller: Caller, _body: bytes) -> Response:
    _directory.delete_agency(state, caller.system_id, caller.get("AgencyCode"))
    return JSONResponse(_envelope())


def _units(state: SandboxState, _caller: Caller, _body: bytes) -> Response:
    with state.store.reading() as db:
        return JSONResponse(_envelope(data=_directory.sync_units(state, db)))


OPERATIONS: dict[str, Handler] = {
    "sendEdoc": _send_edoc,
    "getReceivedEdocList": _received,
    "getSentEdocList": _sent,
    "getEdoc": _get_edoc,
    "downloadEdoc": _download_edoc,
    "updateStatus": _update_status,
    "countReceiveEdoc": _counter("edoc"),
    "countReceiveStatus": _counter("status"),
    "getAgenciesList": _agencies,
    "getAgenciesListQD20": _agencies_qd20,
    "registerAgency": _register,
    "deleteAgency": _delete,
    "getSynchronizeUnit": _units,
}
"""Every VXP operation the sandbox answers, by its path name."""


BODY_OPERATIONS = frozenset({"sendEdoc", "registerAgency"})
"""The operations whose body is theirs (a package, an agency), not parameters."""
