"""The provincial document hub's SOAP operations as typed, sans-I/O functions.

Each call has a builder that returns a :class:`~lgsp.transports.base.Request` and a parser
that reads the :class:`~lgsp.transports.base.Response` into plain typed values; a client's
flow yields the one and hands the other what came back. The operation names are the hub's
legacy SOAP actions (vn-contracts §3); the messages are lgsp's own description of them
(``lgsp/schemas/wsdl/document-hub.wsdl``), since no official WSDL is public.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any, Literal, TypedDict

from lgsp.errors import ProtocolError, ValidationError
from lgsp.findings import Finding
from lgsp.transports._soap_service import SoapService
from lgsp.transports.base import Request, Response, Timeouts

__all__ = [
    "DOCUMENT_HUB_WSDL",
    "DocumentHubCodec",
    "HubOrganization",
    "HubResult",
    "HubTrace",
    "PackageKind",
    "SendResult",
    "TraceStatus",
]

DOCUMENT_HUB_WSDL = "document-hub.wsdl"

PackageKind = Literal["EDOC", "STATUS"]
TraceStatus = Literal["done", "fail", "processing"]
_KINDS = ("EDOC", "STATUS")
_TRACE_STATUSES = ("done", "fail", "processing")


class HubResult(TypedDict):
    """The hub's answer to a call that changes something: its result code and message."""

    code: str
    message: str | None


class SendResult(HubResult):
    """The answer to SendDocument: the hub's id of the document when it was accepted."""

    doc_id: str | None


class HubOrganization(TypedDict):
    """One organisation of the hub's directory."""

    code: str
    name: str
    parent_code: str | None
    mail: str | None
    phone: str | None
    fax: str | None
    address: str | None
    website: str | None


class HubTrace(TypedDict):
    """One step of a document's journey through the hub."""

    organ_id: str
    status: str
    time: dt.datetime | None
    description: str | None


def _refuse(operation: str, field: str, message: str) -> ValidationError:
    return ValidationError(
        [
            Finding(
                rule=f"hub.{field}",
                severity="error",
                location=f"{operation}/{field}",
                message=message,
            )
        ],
        source=f"SOAP {operation}",
    )


def _required(operation: str, field: str, value: str) -> str:
    if not value or not value.strip():
        raise _refuse(operation, field, "is empty")
    return value


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


class DocumentHubCodec:
    """Builds the hub's requests and reads its replies; no I/O, shared by sync and async.

    ``endpoint`` is the hub's SOAP address. Every request also carries the caller's organ id
    in an ``organid`` HTTP header, as the hub's REST API asks (vn-contracts §3); the token
    header is the auth scheme's business.
    """

    def __init__(self, endpoint: str, *, wsdl: str = DOCUMENT_HUB_WSDL) -> None:
        self.soap = SoapService(wsdl, endpoint=endpoint)

    def load(self) -> None:
        """Read the WSDL now (blocking)."""
        self.soap.load()

    async def aload(self) -> None:
        """Read the WSDL in a worker thread."""
        await self.soap.aload()

    def _request(
        self,
        operation: str,
        organ_id: str | None,
        headers: Sequence[tuple[str, str]],
        timeouts: Timeouts,
        **params: Any,
    ) -> Request:
        extra = ((("organid", organ_id),) if organ_id else ()) + tuple(headers)
        return self.soap.request(operation, headers=extra, timeouts=timeouts, **params)

    def _reply(self, operation: str, response: Response) -> dict[str, Any]:
        value = self.soap.parse(operation, response)
        if not isinstance(value, dict):
            raise ProtocolError(
                f"the reply holds no {operation}Response element",
                operation=operation,
                url=response.request.url if response.request else self.soap.endpoint,
                status_code=response.status_code,
            )
        return value

    # SendDocument --------------------------------------------------------------------------

    def send_document(
        self,
        organ_id: str,
        package: bytes,
        *,
        kind: PackageKind = "EDOC",
        headers: Sequence[tuple[str, str]] = (),
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen, shared safely
    ) -> Request:
        """Send an edXML package (a document, or a status package with ``kind="STATUS"``);
        its SHA-256 goes along so that the hub can check what it received."""
        _required("SendDocument", "organId", organ_id)
        if kind not in _KINDS:
            raise _refuse("SendDocument", "type", f"{kind!r} is not one of {', '.join(_KINDS)}")
        if not package:
            raise _refuse("SendDocument", "package", "is empty")
        digest = hashlib.sha256(package).hexdigest()
        return self._request(
            "SendDocument",
            organ_id,
            headers,
            timeouts,
            organId=organ_id,
            type=kind,
            package=package,
            hash=digest,
        )

    def parse_send(self, response: Response) -> SendResult:
        value = self._reply("SendDocument", response)
        return SendResult(
            code=str(value.get("code") or ""),
            message=_str(value.get("message")),
            doc_id=_str(value.get("docId")),
        )

    # GetPendingDocumentIds -----------------------------------------------------------------

    def get_pending_document_ids(
        self,
        organ_id: str,
        *,
        kind: PackageKind | None = None,
        headers: Sequence[tuple[str, str]] = (),
        timeouts: Timeouts = Timeouts(),  # noqa: B008
    ) -> Request:
        """The ids of documents (or status packages) waiting for ``organ_id``."""
        _required("GetPendingDocumentIds", "organId", organ_id)
        if kind is not None and kind not in _KINDS:
            raise _refuse(
                "GetPendingDocumentIds", "type", f"{kind!r} is not one of {', '.join(_KINDS)}"
            )
        return self._request(
            "GetPendingDocumentIds", organ_id, headers, timeouts, organId=organ_id, type=kind
        )

    def parse_pending(self, response: Response) -> list[str]:
        value = self._reply("GetPendingDocumentIds", response)
        return [str(doc_id) for doc_id in value.get("docId") or () if doc_id]

    # GetDocument ----------------------------------------------------------------------------

    def get_document(
        self,
        organ_id: str,
        doc_id: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        timeouts: Timeouts = Timeouts(),  # noqa: B008
    ) -> Request:
        """Fetch one waiting package by its id."""
        _required("GetDocument", "organId", organ_id)
        _required("GetDocument", "docId", doc_id)
        return self._request(
            "GetDocument", organ_id, headers, timeouts, organId=organ_id, docId=doc_id
        )

    def parse_document(self, response: Response) -> bytes:
        """The package's bytes (the edXML as the sender wrote it)."""
        value = self._reply("GetDocument", response)
        package = value.get("package")
        if not isinstance(package, bytes) or not package:
            raise ProtocolError(
                "the reply carries no package",
                operation="GetDocument",
                status_code=response.status_code,
            )
        return package

    # UpdateTraces ---------------------------------------------------------------------------

    def update_traces(
        self,
        organ_id: str,
        doc_id: str,
        status: TraceStatus,
        *,
        description: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        timeouts: Timeouts = Timeouts(),  # noqa: B008
    ) -> Request:
        """Tell the hub how far ``organ_id`` got with document ``doc_id``."""
        _required("UpdateTraces", "organId", organ_id)
        _required("UpdateTraces", "docId", doc_id)
        if status not in _TRACE_STATUSES:
            raise _refuse(
                "UpdateTraces", "status", f"{status!r} is not one of {', '.join(_TRACE_STATUSES)}"
            )
        return self._request(
            "UpdateTraces",
            organ_id,
            headers,
            timeouts,
            organId=organ_id,
            docId=doc_id,
            status=status,
            description=description,
        )

    def parse_update_traces(self, response: Response) -> HubResult:
        value = self._reply("UpdateTraces", response)
        return HubResult(code=str(value.get("code") or ""), message=_str(value.get("message")))

    # GetOrganizations -----------------------------------------------------------------------

    def get_organizations(
        self,
        organ_id: str | None = None,
        *,
        headers: Sequence[tuple[str, str]] = (),
        timeouts: Timeouts = Timeouts(),  # noqa: B008
    ) -> Request:
        """The hub's directory (all of it, or the one organisation ``organ_id``)."""
        return self._request(
            "GetOrganizations", organ_id, headers, timeouts, organId=organ_id or None
        )

    def parse_organizations(self, response: Response) -> list[HubOrganization]:
        value = self._reply("GetOrganizations", response)
        return [
            HubOrganization(
                code=str(item.get("code") or ""),
                name=str(item.get("name") or ""),
                parent_code=_str(item.get("parentCode")),
                mail=_str(item.get("mail")),
                phone=_str(item.get("phone")),
                fax=_str(item.get("fax")),
                address=_str(item.get("address")),
                website=_str(item.get("website")),
            )
            for item in value.get("organization") or ()
            if isinstance(item, dict)
        ]

    # GetTraces ------------------------------------------------------------------------------

    def get_traces(
        self,
        doc_id: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        timeouts: Timeouts = Timeouts(),  # noqa: B008
    ) -> Request:
        """The journey of document ``doc_id`` through the hub."""
        _required("GetTraces", "docId", doc_id)
        return self._request("GetTraces", None, headers, timeouts, docId=doc_id)

    def parse_traces(self, response: Response) -> list[HubTrace]:
        value = self._reply("GetTraces", response)
        traces: list[HubTrace] = []
        for item in value.get("trace") or ():
            if not isinstance(item, dict):
                continue
            time = item.get("time")
            traces.append(
                HubTrace(
                    organ_id=str(item.get("organId") or ""),
                    status=str(item.get("status") or ""),
                    time=time if isinstance(time, dt.datetime) else None,
                    description=_str(item.get("description")),
                )
            )
        return traces
