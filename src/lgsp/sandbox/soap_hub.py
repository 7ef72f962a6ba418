"""The provincial document hub over SOAP 1.1 (vn-contracts §3), at ``/soap/DocumentHub``.

Requests and replies follow lgsp's description of the hub
(``lgsp/schemas/wsdl/document-hub.wsdl``), served at ``GET /soap/DocumentHub?wsdl`` with its
address rewritten to this sandbox and its XSD at ``?xsd=document-hub.xsd``. Requests are parsed
through lgsp's hardened XML gate (no DTD, no entities, size limits); errors are SOAP Faults
(``faultcode`` ``soap:Client`` or ``soap:Server``, the HTTP-like code in ``detail/code``).

The hub shares the VXP store: an agency is the organ id of ``organId`` (and of the ``organid``
header, which must agree), packages sent over the hub reach VXP receivers and the other way
round. Auth: the ``authorization`` header is optional unless ``config.hub_token_required``;
when given it must be a live token from ``POST /token`` (bare or ``Bearer …``), and if that
application is bound to a VXP system the organ must be one of that system's.

A package above ``config.max_package_bytes`` is refused with a Fault (``detail/code`` 413)
before it is parsed: the envelope is read only up to the Base64 size of the limit (plus room
for the envelope), and the decoded package is measured before it is read.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.resources
import logging
import re
from typing import Any

from lxml import etree
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lgsp._xml import parse_whole
from lgsp.errors import LgspError
from lgsp.sandbox import _directory, _mailbox
from lgsp.sandbox._accept import (
    Accepted,
    Pending,
    Submission,
    package_limit,
    read_body,
    submit,
    too_large,
)
from lgsp.sandbox._common import Refusal, iso_time
from lgsp.sandbox.gateway import GatewayRefusal, check_token
from lgsp.sandbox.state import SandboxState
from lgsp.transports.soap import SOAP_LIMITS

__all__ = ["HUB_NS", "HUB_PATH", "SOAP_NS", "soap_routes"]

HUB_PATH = "/soap/DocumentHub"
HUB_NS = "urn:lgsp:document-hub:1"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
_XSD = "document-hub.xsd"
_H = f"{{{HUB_NS}}}"
_log = logging.getLogger("lgsp.sandbox")
_KINDS = {"EDOC": "edoc", "STATUS": "status"}
#: Room for the SOAP envelope around a package's Base64 text (which may be folded in lines).
_ENVELOPE_ROOM = 64 * 1024


@functools.cache
def _shipped(name: str) -> str:
    """A shipped WSDL or XSD, read once."""
    return (importlib.resources.files("lgsp.schemas") / "wsdl" / name).read_text("utf-8")


def wsdl_text(base_url: str) -> str:
    """The shipped WSDL, its address set to this sandbox and its XSD import to ``?xsd=``."""
    text = re.sub(
        r'(<soap:address\s+location=")[^"]*(")',
        lambda m: m.group(1) + base_url + HUB_PATH + m.group(2),
        _shipped("document-hub.wsdl"),
    )
    return text.replace(f'schemaLocation="{_XSD}"', f'schemaLocation="DocumentHub?xsd={_XSD}"')


# -- replies ------------------------------------------------------------------------------


def _envelope(body_child: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soap": SOAP_NS, "hub": HUB_NS})
    etree.SubElement(envelope, f"{{{SOAP_NS}}}Body").append(body_child)
    return etree.tostring(envelope, encoding="utf-8", xml_declaration=True)


def _reply(operation: str, *fields: tuple[str, Any]) -> Response:
    element = etree.Element(f"{_H}{operation}Response", nsmap={"hub": HUB_NS})
    _fill(element, fields)
    return Response(_envelope(element), media_type="text/xml; charset=utf-8")


def _fill(parent: etree._Element, fields: Any) -> None:
    for name, value in fields:
        if value is None:
            continue
        child = etree.SubElement(parent, f"{_H}{name}")
        if isinstance(value, list | tuple):
            _fill(child, value)
        else:
            child.text = value if isinstance(value, str) else str(value)


def _fault(code: str, status: int, message: str, *, http_status: int = 500) -> Response:
    fault = etree.Element(f"{{{SOAP_NS}}}Fault", nsmap={"soap": SOAP_NS})
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(fault, "faultstring").text = message
    detail = etree.SubElement(fault, "detail")
    etree.SubElement(detail, f"{_H}code", nsmap={"hub": HUB_NS}).text = str(status)
    return Response(_envelope(fault), status_code=http_status, media_type="text/xml; charset=utf-8")


# -- requests -----------------------------------------------------------------------------


def _fields(element: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for child in element:
        if isinstance(child.tag, str):
            out.setdefault(etree.QName(child).localname, (child.text or "").strip())
    return out


def _operation(body: bytes) -> tuple[str, dict[str, str]]:
    try:
        root = parse_whole(body, source="DocumentHub request", limits=SOAP_LIMITS)
    except LgspError as exc:
        raise Refusal(400, "400", f"the request is not acceptable XML: {exc}") from None
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise Refusal(400, "400", "the request is not a SOAP 1.1 Envelope")
    soap_body = root.find(f"{{{SOAP_NS}}}Body")
    child = None
    if soap_body is not None:
        child = next((el for el in soap_body if isinstance(el.tag, str)), None)
    if child is None:
        raise Refusal(400, "400", "the SOAP Body is empty")
    qname = etree.QName(child)
    if qname.namespace != HUB_NS:
        raise Refusal(404, "404", f"no operation {child.tag} (namespace {HUB_NS} expected)")
    return qname.localname, _fields(child)


def _organ(fields: dict[str, str], header: str | None) -> str:
    organ = fields.get("organId") or None
    if header and organ and header.strip() != organ:
        raise Refusal(400, "400", f"the organid header {header!r} differs from organId {organ!r}")
    organ = organ or (header.strip() if header else None)
    if not organ:
        raise Refusal(400, "400", "organId is required")
    return organ


def _authorize(state: SandboxState, authorization: str | None, organ: str | None) -> None:
    if not authorization:
        if state.config.hub_token_required:
            check_token(state, None)  # raises: missing credentials
        return
    app = check_token(state, authorization)
    if app.system_id is None or organ is None:
        return
    with state.store.reading() as db:
        allowed = _directory.organs_of(state, db, app.system_id)
    if organ not in allowed:
        raise Refusal(
            403, "403", f"the application {app.client_id} does not act for the organ {organ}"
        )


def _send(state: SandboxState, organ: str, fields: dict[str, str]) -> Response | Pending:
    with state.store.reading() as db:
        if not _directory.is_known(state, db, organ):
            raise Refusal(404, "404", f"no agency {organ} in the directory")
    try:
        package = base64.b64decode(fields.get("package", ""), validate=False)
    except (binascii.Error, ValueError):
        raise Refusal(400, "400", "package is not Base64") from None
    limit = package_limit(state)
    if limit is not None and len(package) > limit:
        raise too_large(limit, len(package))
    sub = Submission(
        sender=f"hub:{organ}", system_id=None, from_organ=organ, hash_file=fields.get("hash")
    )
    return submit(state, sub, package, _sent, _refused)


def _sent(result: Accepted) -> Response:
    message = "already received: the docId of the first copy" if result.duplicate else "OK"
    return _reply("SendDocument", ("code", "0"), ("message", message), ("docId", result.doc_id))


def _refused(refusal: Refusal) -> Response:
    side = "Server" if refusal.status >= 500 else "Client"
    return _fault(side, refusal.status, refusal.message)


def _pending(state: SandboxState, organ: str, fields: dict[str, str]) -> Response:
    kind = fields.get("type") or None
    if kind is not None and kind not in _KINDS:
        raise Refusal(400, "400", f"type must be EDOC or STATUS (got {kind!r})")
    with state.store.reading() as db:
        ids = _mailbox.waiting_ids(db, organ, _KINDS[kind] if kind else None)
    return _reply("GetPendingDocumentIds", *(("docId", i) for i in ids))


def _document(state: SandboxState, organ: str, fields: dict[str, str]) -> Response:
    doc_id = fields.get("docId") or ""
    if not doc_id:
        raise Refusal(400, "400", "docId is required")
    with state.store.reading() as db:
        data = _mailbox.payload(db, doc_id, {organ}, f"hub:{organ}")
    return _reply("GetDocument", ("package", base64.b64encode(data).decode("ascii")))


def _update(state: SandboxState, organ: str, fields: dict[str, str]) -> Response:
    doc_id = fields.get("docId") or ""
    if not doc_id:
        raise Refusal(400, "400", "docId is required")
    _mailbox.acknowledge(
        state,
        doc_id=doc_id,
        organs={organ},
        status=fields.get("status"),
        description=fields.get("description"),
    )
    return _reply("UpdateTraces", ("code", "0"), ("message", "OK"))


def _organizations(state: SandboxState, organ: str | None) -> Response:
    with state.store.reading() as db:
        items = _directory.agencies(db)
    code_of = {a["id"]: a["code"] for a in items}
    chosen = [a for a in items if organ is None or a["code"] == organ]
    return _reply(
        "GetOrganizations",
        *(
            (
                "organization",
                [
                    ("code", a["code"]),
                    ("name", a["name"]),
                    ("parentCode", code_of.get(a["pid"]) if a["pid"] else None),
                    ("mail", a["mail"] or None),
                ],
            )
            for a in chosen
        ),
    )


def _traces(state: SandboxState, fields: dict[str, str]) -> Response:
    doc_id = fields.get("docId") or ""
    if not doc_id:
        raise Refusal(400, "400", "docId is required")
    with state.store.reading() as db:
        rows = _mailbox.traces(db, doc_id)
    return _reply(
        "GetTraces",
        *(
            (
                "trace",
                [
                    ("organId", organ),
                    ("status", status),
                    ("time", iso_time(when)),
                    ("description", description),
                ],
            )
            for organ, status, when, description in rows
        ),
    )


def _dispatch(
    state: SandboxState, body: bytes, authorization: str | None, organ_header: str | None
) -> Response | Pending:
    operation, fields = _operation(body)
    if operation in ("GetOrganizations", "GetTraces"):  # directory-wide: no organ needed
        _authorize(state, authorization, None)
        if operation == "GetTraces":
            return _traces(state, fields)
        return _organizations(state, fields.get("organId") or None)
    handler = _BY_ORGAN.get(operation)
    if handler is None:
        raise Refusal(404, "404", f"the hub has no operation {operation!r}")
    organ = _organ(fields, organ_header)
    _authorize(state, authorization, organ)
    return handler(state, organ, fields)


_BY_ORGAN = {
    "SendDocument": _send,
    "GetPendingDocumentIds": _pending,
    "GetDocument": _document,
    "UpdateTraces": _update,
}


def handle(
    state: SandboxState, body: bytes, authorization: str | None, organ_header: str | None
) -> Response | Pending:
    """One SOAP call, blocking (run in a worker thread); every error becomes a Fault."""
    try:
        return _dispatch(state, body, authorization, organ_header)
    except Refusal as refusal:
        return _refused(refusal)
    except GatewayRefusal as refusal:
        return _fault("Client", 401, refusal.description, http_status=401)
    except Exception as exc:  # noqa: BLE001 - logged; the caller still gets a Fault
        _log.exception("SOAP hub call failed")
        return _fault("Server", 500, f"the sandbox failed: {type(exc).__name__}: {exc}")


def soap_routes(state: SandboxState) -> list[Route]:
    """``POST /soap/DocumentHub`` (SOAP 1.1) and the WSDL and XSD under ``GET``."""

    async def hub(request: Request) -> Response:
        """The document hub: SOAP 1.1 POST; GET ?wsdl for the WSDL, ?xsd=… for its XSD."""
        if request.method == "GET":
            return _description(request)
        limit = package_limit(state)
        try:
            body = await read_body(request, None if limit is None else _envelope_limit(limit))
        except Refusal:  # an envelope that large carries a package above the limit
            return _refused(too_large(limit or 0))
        answer = await state.workers.run(
            handle,
            state,
            body,
            request.headers.get("authorization"),
            request.headers.get("organid"),
        )
        return await answer.resolve(state) if isinstance(answer, Pending) else answer

    async def xsd(_request: Request) -> Response:
        """The hub's XSD, where the unmodified WSDL's relative import looks for it."""
        return Response(_shipped(_XSD), media_type="text/xml; charset=utf-8")

    return [
        Route(HUB_PATH, hub, methods=["GET", "POST"], name="soap-hub"),
        Route("/soap/" + _XSD, xsd, methods=["GET"], name="soap-hub-xsd"),
    ]


def _envelope_limit(package_limit: int) -> int:
    """The largest envelope that may carry a package of ``package_limit`` bytes: Base64 is
    4/3 of the bytes (a little more when folded in lines), plus the envelope itself."""
    return package_limit * 3 // 2 + _ENVELOPE_ROOM


def _description(request: Request) -> Response:
    query = request.query_params
    if "wsdl" in query or "WSDL" in query:
        base = str(request.base_url).rstrip("/")
        return Response(wsdl_text(base), media_type="text/xml; charset=utf-8")
    if query.get("xsd") == _XSD:
        return Response(_shipped(_XSD), media_type="text/xml; charset=utf-8")
    return PlainTextResponse(
        f"The lgsp sandbox's SOAP 1.1 document hub: POST envelopes here; the WSDL is at "
        f"{HUB_PATH}?wsdl",
    )
