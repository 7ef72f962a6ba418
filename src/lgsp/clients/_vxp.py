"""The VXP operations as requests and readers (vn-contracts §2.1a, §2.2), no I/O.

Each method returns an :class:`Operation`: the request exactly as the official SDK would send
it (every parameter as an ``XroadVnpt-*`` header — signed by
:class:`~lgsp.transports.auth.VxpSigning` when the deployment signs — the raw package as the
body of ``sendEdoc``), the function that reads the answer, and whether resending is harmless.
The same operations serve the axis directly and an LGSP gateway in front of it (§2.3).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from pydantic import ValidationError as PydanticValidationError

from lgsp.clients._jsondata import JsonShapeError, extract_base64_field
from lgsp.clients.models import ReceivedItem, SentItem
from lgsp.errors import ProtocolError, RemoteServiceError
from lgsp.registry.models import Agency, SyncUnit
from lgsp.transports.base import DEFAULT_TIMEOUTS, Request, Response, Timeouts, encode_json
from lgsp.transports.vxp_signing import (
    HEADER_PREFIX,
    SDK_USER_AGENT,
    SDK_VERSION,
    param_value,
    sdk_file_hash,
)

__all__ = ["Operation", "VxpCodec", "read_envelope"]

T = TypeVar("T")
M = TypeVar("M")


@dataclasses.dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """One call: the request, how to read its response, whether a resend is harmless."""

    request: Request
    parse: Callable[[Response], T]
    idempotent: bool = True


def _fail(response: Response, message: str, *, code: str | None = None) -> RemoteServiceError:
    request = response.request
    retry_safe = bool(response.retry_safe)
    return RemoteServiceError(
        message,
        operation=request.operation if request else None,
        url=request.url if request else None,
        status_code=response.status_code,
        code=code,
        retry_after=None,
        retry_safe=retry_safe,
    )


def _check_fields(response: Response, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        request = response.request
        raise ProtocolError(
            "the answer is JSON but not an object",
            operation=request.operation if request else None,
            url=request.url if request else None,
            status_code=response.status_code,
        )
    status = str(data.get("status") or "").upper()
    code = data.get("ErrorCode")
    code_text = None if code is None else str(code).strip()
    failed = status == "FAIL" or (code_text not in (None, "", "0"))
    if failed or not response.is_success:
        message = str(data.get("ErrorDesc") or data.get("message") or "the axis refused the call")
        raise _fail(response, message, code=code_text)
    return data


def read_envelope(response: Response) -> dict[str, Any]:
    """The VXP JSON envelope ``{status, ErrorCode, ErrorDesc, data…}`` of a successful call.

    ``status`` ``FAIL``, a non-zero ``ErrorCode`` or an HTTP error status raise
    :class:`~lgsp.errors.RemoteServiceError` with the axis's code and text; a body that is not
    a JSON object raises :class:`~lgsp.errors.ProtocolError`.
    """
    if not response.is_success:
        try:
            data = response.json()
        except ProtocolError:
            raise _fail(response, f"HTTP {response.status_code}") from None
        _check_fields(response, data)
        raise _fail(response, f"HTTP {response.status_code}")
    return _check_fields(response, response.json())


def _items(response: Response, model: type[M], key: str = "data") -> list[M]:
    data = read_envelope(response).get(key)
    if data is None:
        return []
    if not isinstance(data, list):
        data = [data]
    out: list[M] = []
    for index, raw in enumerate(data):
        try:
            out.append(model.model_validate(raw))  # type: ignore[attr-defined]
        except PydanticValidationError as exc:
            request = response.request
            raise ProtocolError(
                f"item {index} of {key!r} is not a {model.__name__}: {exc.errors()[0]['msg']}",
                operation=request.operation if request else None,
                url=request.url if request else None,
                status_code=response.status_code,
            ) from exc
    return out


class VxpCodec:
    """Requests and readers for the VXP operations under ``base_url`` (no I/O).

    ``base_url`` is the axis's ``service.endpoint`` or a gateway's service URL (base + API
    context such as ``/vdxp-product/1.0``). ``store_path`` is what the SDK sends as
    ``filePath`` (its local store directory; the axis does not use it).
    ``correlation_header`` (e.g. ``X-Correlation-ID``) adds the message id as a header.
    """

    def __init__(
        self,
        base_url: str,
        *,
        service_type: str = "eDoc",
        store_path: str = ".",
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        user_agent: str = SDK_USER_AGENT,
        correlation_header: str | None = None,
    ) -> None:
        # No header of lgsp's own by default: the axis sees what the official SDK sends. The
        # message id is in the logs either way; a gateway may want it as a header.
        self.correlation_header = correlation_header
        self.base_url = base_url.rstrip("/")
        self.service_type = service_type
        self.store_path = store_path
        self.timeouts = timeouts
        self.user_agent = user_agent

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | Sequence[str]],
        *,
        operation: str,
        content: bytes | Path = b"",
        content_type: str = "application/json",
        spool: bool = False,
        correlation_id: str | None = None,
        extra_meta: Mapping[str, Any] | None = None,
    ) -> Request:
        """A VXP request: parameters as ``XroadVnpt-*`` headers, the SDK's agent and version."""
        headers = [(HEADER_PREFIX + k, param_value(k, v)) for k, v in params.items()]
        headers += [
            ("Content-Type", content_type),
            ("User-Agent", self.user_agent),
            (HEADER_PREFIX + "version", SDK_VERSION),
        ]
        cid = correlation_id or uuid.uuid4().hex
        if self.correlation_header:
            headers.append((self.correlation_header, cid))
        meta: dict[str, Any] = {
            "operation": operation,
            "vxp_params": dict(params),
            "correlation_id": cid,
        }
        if extra_meta:
            meta.update(extra_meta)
        return Request(
            method,
            f"{self.base_url}/{path}",
            tuple(headers),
            content,
            meta=meta,
            timeouts=self.timeouts,
            spool=spool,
        )

    # -- documents -------------------------------------------------------------------------

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
        """``sendEdoc``: the raw package, ``hash-file`` in the SDK's unpadded form."""
        if payload_hash is None:
            payload_hash = sdk_file_hash(
                payload if isinstance(payload, bytes) else _iter_file(payload)
            )
        params: dict[str, str | Sequence[str]] = {
            "from": sender,
            "to": list(receivers) if len(receivers) != 1 else receivers[0],
            "servicetype": self.service_type,
            "messagetype": message_type,
            "hash-file": payload_hash,
        }
        request = self.request(
            "POST",
            "sendEdoc",
            params,
            operation="sendEdoc",
            content=payload,
            content_type="application/octet-stream",
            correlation_id=message_id,
        )
        return Operation(request, read_envelope, idempotent=False)

    def received_list(
        self,
        *,
        message_type: str | None = None,
        from_date: str | None = None,
        to_date: str | None = None,
    ) -> Operation[list[ReceivedItem]]:
        params: dict[str, str | Sequence[str]] = {"servicetype": self.service_type}
        if message_type:
            params["messagetype"] = message_type
        if from_date:
            params["fromDate"] = from_date
        if to_date:
            params["toDate"] = to_date
        request = self.request(
            "POST", "getReceivedEdocList", params, operation="getReceivedEdocList"
        )
        return Operation(request, lambda r: _items(r, ReceivedItem))

    def sent_list(
        self, *, message_type: str | None = None, doc_id: str | None = None
    ) -> Operation[list[SentItem]]:
        params: dict[str, str | Sequence[str]] = {"servicetype": self.service_type}
        if message_type:
            params["messagetype"] = message_type
        if doc_id:
            params["docId"] = doc_id
        request = self.request("POST", "getSentEdocList", params, operation="getSentEdocList")
        return Operation(request, lambda r: _items(r, SentItem))

    def get(self, doc_id: str) -> Request:
        """``getEdoc``: the answer is spooled; read it with :meth:`read_package_into`."""
        params = {"docId": doc_id, "filePath": self.store_path}
        return self.request(
            "POST", "getEdoc", params, operation="getEdoc", content=b"{}", spool=True
        )

    @staticmethod
    def read_package_into(response: Response, sink: IO[bytes]) -> int:
        """Decode the package of a ``getEdoc`` answer into ``sink``; return its size."""
        request = response.request

        def error(message: str) -> ProtocolError:
            return ProtocolError(
                message,
                operation=request.operation if request else None,
                url=request.url if request else None,
                status_code=response.status_code,
            )

        if not response.is_success or response.body_file is None:
            read_envelope(response)
            raise error("the package was not spooled")
        try:
            fields, size = extract_base64_field(response.body_file, "data", sink.write)
        except JsonShapeError as exc:
            raise error(f"the getEdoc answer cannot be read: {exc}") from exc
        _check_fields(response, fields)
        if size is None:
            raise error("the getEdoc answer has no data")
        return size

    def update_status(
        self, doc_id: str, status: str, *, description: str | None = None
    ) -> Operation[dict[str, Any]]:
        params = {"docId": doc_id, "status": status}
        if description:
            params["description"] = description
        request = self.request(
            "POST", "updateStatus", params, operation="updateStatus", content=b"{}"
        )
        return Operation(request, read_envelope)

    def count(self, message_type: str = "edoc") -> Operation[int]:
        path = "countReceiveStatus" if message_type == "status" else "countReceiveEdoc"
        request = self.request("GET", path, {}, operation=path)

        def parse(response: Response) -> int:
            data = read_envelope(response)
            value = data.get("count", data.get("data"))
            try:
                return int(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ProtocolError(
                    f"{path} answered no count ({value!r})",
                    operation=path,
                    url=request.url,
                    status_code=response.status_code,
                ) from None

        return Operation(request, parse)

    # -- agencies --------------------------------------------------------------------------

    def agencies(self) -> Operation[list[Agency]]:
        request = self.request("POST", "getAgenciesList", {}, operation="getAgenciesList")
        return Operation(request, lambda r: _items(r, Agency))

    def agencies_qd20(self, level: str | int) -> Operation[list[Agency]]:
        request = self.request(
            "POST", "getAgenciesListQD20", {"level": str(level)}, operation="getAgenciesListQD20"
        )
        return Operation(request, lambda r: _items(r, Agency))

    def register_agency(self, agency: Mapping[str, Any]) -> Operation[dict[str, Any]]:
        request = self.request(
            "POST",
            "registerAgency",
            {},
            operation="registerAgency",
            content=encode_json(dict(agency)),
        )
        return Operation(request, read_envelope, idempotent=False)

    def delete_agency(self, code: str) -> Operation[dict[str, Any]]:
        request = self.request(
            "POST", "deleteAgency", {"AgencyCode": code}, operation="deleteAgency"
        )
        return Operation(request, read_envelope)

    def sync_units(self) -> Operation[list[SyncUnit]]:
        request = self.request("POST", "getSynchronizeUnit", {}, operation="getSynchronizeUnit")
        return Operation(request, lambda r: _items(r, SyncUnit))


def _iter_file(path: Path) -> Any:
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            yield chunk
