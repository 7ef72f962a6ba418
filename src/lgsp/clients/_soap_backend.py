"""The SOAP document hub behind ``client.documents`` and ``client.agencies`` (vn-contracts §3).

:class:`SoapHubDocuments` speaks the hub's operations (SendDocument, GetPendingDocumentIds,
GetDocument, UpdateTraces, GetOrganizations) through
:class:`~lgsp.transports.soap.DocumentHubCodec` and answers the way the VXP codec does, so
the document flows (outbox, receive loop) run unchanged over either. What the hub does not
offer (the sent list, QĐ 20 levels, registering agencies) is a ConfigurationError.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from lgsp.clients._core import VxpService
from lgsp.clients._vxp import Operation
from lgsp.clients.models import ReceivedItem
from lgsp.errors import ConfigurationError, RemoteServiceError
from lgsp.registry.models import Agency
from lgsp.transports.auth import Auth, HeaderToken
from lgsp.transports.base import DEFAULT_TIMEOUTS, Request, Response, Timeouts
from lgsp.transports.soap import DocumentHubCodec, PackageKind

__all__ = ["SoapHubDocuments", "soap_hub_service"]

#: Result codes read as success. The hub's codes are not documented (schemas/wsdl/README.md).
SUCCESS_CODES = frozenset({"", "0", "00", "200", "ok", "success"})


def _check(response: Response, code: str, message: str | None) -> None:
    if code.strip().lower() not in SUCCESS_CODES:
        request = response.request
        raise RemoteServiceError(
            message or "the hub refused the call",
            operation=request.operation if request else None,
            url=request.url if request else None,
            status_code=response.status_code,
            code=code,
        )


class SoapHubDocuments:
    """The hub's operations in the VXP codec's shape, for organ ``organ_id``."""

    def __init__(
        self, hub: DocumentHubCodec, organ_id: str, *, timeouts: Timeouts = DEFAULT_TIMEOUTS
    ) -> None:
        self.hub = hub
        self.organ_id = organ_id
        self.timeouts = timeouts

    @property
    def loaded(self) -> bool:
        """Whether the hub's WSDL is read; the flows read it first, in a worker thread when
        the client is async, so that no event loop waits on the disk."""
        return self.hub.soap.loaded

    def load(self) -> None:
        self.hub.load()

    @staticmethod
    def _tag(request: Request, correlation_id: str | None = None) -> Request:
        cid = correlation_id or uuid.uuid4().hex
        return request.with_headers([("X-Correlation-ID", cid)]).with_meta(correlation_id=cid)

    @staticmethod
    def _missing(what: str) -> NoReturn:
        raise ConfigurationError(f"the SOAP document hub offers no {what}", field="documents")

    def send(
        self,
        payload: bytes | Path,
        *,
        sender: str,
        receivers: Sequence[str],
        message_type: str = "edoc",
        payload_hash: str | None = None,
        message_id: str | None = None,
    ) -> Operation[dict[str, Any]]:
        content = payload if isinstance(payload, bytes) else payload.read_bytes()
        kind: PackageKind = "STATUS" if message_type == "status" else "EDOC"
        request = self._tag(
            self.hub.send_document(self.organ_id, content, kind=kind, timeouts=self.timeouts),
            message_id,
        )

        def parse(response: Response) -> dict[str, Any]:
            result = self.hub.parse_send(response)
            _check(response, result["code"], result["message"])
            return {
                "status": "OK",
                "ErrorCode": result["code"] or None,
                "ErrorDesc": result["message"],
                "DocId": result["doc_id"],
            }

        return Operation(request, parse, idempotent=False)

    def received_list(
        self,
        *,
        message_type: str | None = None,
        from_date: str | None = None,
        to_date: str | None = None,
    ) -> Operation[list[ReceivedItem]]:
        kinds: dict[str, PackageKind] = {"edoc": "EDOC", "status": "STATUS"}
        kind = kinds.get(message_type or "")
        request = self._tag(
            self.hub.get_pending_document_ids(self.organ_id, kind=kind, timeouts=self.timeouts)
        )

        def parse(response: Response) -> list[ReceivedItem]:
            return [
                ReceivedItem(doc_id=doc_id, message_type=message_type)
                for doc_id in self.hub.parse_pending(response)
            ]

        return Operation(request, parse)

    def sent_list(self, **_: Any) -> NoReturn:
        self._missing("list of sent documents")

    def get(self, doc_id: str) -> Request:
        return self._tag(self.hub.get_document(self.organ_id, doc_id, timeouts=self.timeouts))

    def read_package_into(self, response: Response, sink: IO[bytes]) -> int:
        data = self.hub.parse_document(response)
        sink.write(data)
        return len(data)

    def update_status(
        self, doc_id: str, status: str, *, description: str | None = None
    ) -> Operation[dict[str, Any]]:
        request = self._tag(
            self.hub.update_traces(
                self.organ_id,
                doc_id,
                status,  # type: ignore[arg-type]
                description=description,
                timeouts=self.timeouts,
            )
        )

        def parse(response: Response) -> dict[str, Any]:
            result = self.hub.parse_update_traces(response)
            _check(response, result["code"], result["message"])
            return dict(result)

        return Operation(request, parse)

    def count(self, message_type: str = "edoc") -> Operation[int]:
        listing = self.received_list(message_type=message_type)
        return Operation(listing.request, lambda r: len(listing.parse(r)))

    def agencies(self) -> Operation[list[Agency]]:
        request = self._tag(self.hub.get_organizations(timeouts=self.timeouts))

        def parse(response: Response) -> list[Agency]:
            return [
                Agency.model_validate(
                    {
                        "code": o["code"],
                        "name": o["name"],
                        "pid": o["parent_code"],
                        "mail": o["mail"],
                    }
                )
                for o in self.hub.parse_organizations(response)
                if o["code"]
            ]

        return Operation(request, parse)

    def agencies_qd20(self, level: str | int) -> NoReturn:
        self._missing("directory by QĐ 20 level")

    def register_agency(self, agency: Mapping[str, Any]) -> NoReturn:
        self._missing("agency registration")

    def delete_agency(self, code: str) -> NoReturn:
        self._missing("agency removal")

    def sync_units(self) -> NoReturn:
        self._missing("unit synchronisation")


def soap_hub_service(profile: Any, timeouts: Timeouts) -> VxpService:
    """The service of a ``soap-hub`` profile: the hub codec, its token header."""
    wsdl: str | Path = profile.wsdl
    if isinstance(wsdl, str) and ("/" in wsdl or (wsdl.endswith(".wsdl") and Path(wsdl).is_file())):
        wsdl = Path(wsdl)
    hub = DocumentHubCodec(profile.endpoint, wsdl=wsdl)  # type: ignore[arg-type]
    auth: list[Auth] = []
    if profile.token is not None:
        auth.append(HeaderToken(profile.token.get_secret_value()))
    codec = SoapHubDocuments(hub, profile.organ_id, timeouts=timeouts)
    return VxpService(codec, auth, name="soap-hub")  # type: ignore[arg-type]
