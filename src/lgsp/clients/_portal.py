"""The portal adapters' calls as requests and readers, no I/O (vn-contracts §4.1, §4.3).

Classic DVCQG adapter: every call is ``POST`` of ``{"session", "madonvi", "service", …}``
to the integration endpoint (dossiers) or the share endpoint (catalogues), with the
``dstcode`` header; :class:`~lgsp.transports.auth.PortalSession` adds the session and the
header. Success is ``error_code`` 0 (``"0"`` and ``"00"`` are seen too).

Token-based ministry portal: bearer token, one path per step; the paths are lgsp's defaults
(the public playground names the steps, not all the paths), set them per deployment.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lgsp.clients._vxp import Operation
from lgsp.dossiers import (
    DossierCreation,
    DossierLookupResponse,
    DossierProgressItem,
    DossierSyncItem,
    ProgressUpdate,
    StatusUpdate,
    build_lookup_request,
    build_progress_request,
    build_sync_request,
)
from lgsp.dossiers.status import DEFAULT_TRANSITIONS, TransitionTable
from lgsp.errors import LgspError, ProtocolError, RemoteServiceError
from lgsp.findings import Profile
from lgsp.registry.models import FieldOfWork, Organ, Procedure
from lgsp.transports.base import DEFAULT_TIMEOUTS, Request, Response, Timeouts, encode_json

__all__ = ["PortalCodec", "TokenPaths", "TokenPortalCodec", "read_portal"]

_PLACEHOLDER = "lgsp-session-placeholder"  # lets the builders check a body before login


def _where(response: Response) -> dict[str, Any]:
    request = response.request
    return {
        "operation": request.operation if request else None,
        "url": request.url if request else None,
        "status_code": response.status_code,
    }


def read_portal(response: Response) -> dict[str, Any]:
    """The adapter's JSON answer when ``error_code`` says success; else RemoteServiceError."""
    try:
        data = response.json()
    except ProtocolError:
        if not response.is_success:
            raise RemoteServiceError(f"HTTP {response.status_code}", **_where(response)) from None
        raise
    if not isinstance(data, dict):
        raise ProtocolError("the portal answered JSON that is not an object", **_where(response))
    code = data.get("error_code")
    code_text = None if code is None else str(code).strip()
    if not response.is_success or code_text not in (None, "0", "00"):
        message = str(
            data.get("message")
            or data.get("error_message")
            or data.get("msg")
            or "the portal refused the call"
        )
        raise RemoteServiceError(message, code=code_text, **_where(response))
    return data


def _records(response: Response, model: Any, keys: Sequence[str] = ("result", "data")) -> list[Any]:
    data = read_portal(response)
    for key in keys:
        if key in data:
            value = data[key]
            break
    else:
        return []
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    try:
        return [model.model_validate(item) for item in value]
    except Exception as exc:
        raise ProtocolError(
            f"the portal's records are not {model.__name__}: {exc}", **_where(response)
        ) from exc


class PortalCodec:
    """Calls of the classic DVCQG adapter (§4.1) for unit ``unit_code`` (``madonvi``)."""

    def __init__(
        self,
        integration_url: str,
        share_url: str,
        *,
        unit_code: str,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        check: Profile | None = "strict",
        transitions: TransitionTable = DEFAULT_TRANSITIONS,
    ) -> None:
        self.integration_url = integration_url
        self.share_url = share_url
        self.unit_code = unit_code
        self.timeouts = timeouts
        self.check = check
        self.transitions = transitions

    def service(
        self, name: str, body: Mapping[str, Any] | None = None, *, share: bool = False
    ) -> Request:
        """A call of service ``name``: ``madonvi`` and ``service`` set, the session added later."""
        payload: dict[str, Any] = {"madonvi": self.unit_code, "service": name}
        payload.update({k: v for k, v in (body or {}).items() if k != "session"})
        cid = uuid.uuid4().hex
        url = self.share_url if share else self.integration_url
        headers = (("Content-Type", "application/json"), ("X-Correlation-ID", cid))
        return Request(
            "POST",
            url,
            headers,
            encode_json(payload),
            meta={"operation": name, "json": payload, "correlation_id": cid},
            timeouts=self.timeouts,
        )

    def sync(
        self, items: Iterable[DossierSyncItem], *, updating: bool
    ) -> Operation[dict[str, Any]]:
        """``DongBoHoSoMC`` for ``items`` (checked first); the portal keys dossiers by code, so a
        resend with ``isUpdating`` is harmless."""
        body = build_sync_request(
            items,
            session=_PLACEHOLDER,
            unit_code=self.unit_code,
            updating=updating,
            check=self.check,
        )
        return Operation(self.service("DongBoHoSoMC", body.to_wire("classic")), read_portal)

    def progress(self, items: Iterable[DossierProgressItem]) -> Operation[dict[str, Any]]:
        body = build_progress_request(
            items,
            session=_PLACEHOLDER,
            unit_code=self.unit_code,
            check=self.check,
            transitions=self.transitions,
        )
        return Operation(self.service("CapNhatTienDoHoSoMC", body.to_wire("classic")), read_portal)

    def lookup(self, code: str) -> Operation[DossierLookupResponse]:
        body = build_lookup_request(
            code, session=_PLACEHOLDER, unit_code=self.unit_code, check=self.check
        )

        def parse(response: Response) -> DossierLookupResponse:
            data = read_portal(response)
            try:
                return DossierLookupResponse.from_wire(data, target="classic")
            except LgspError as exc:
                raise ProtocolError(
                    f"the TraCuuHoSo answer cannot be read: {exc}", **_where(response)
                ) from exc

        return Operation(self.service("TraCuuHoSo", body.to_wire("classic")), parse)

    # -- catalogue (share endpoint) --------------------------------------------------------

    def procedure(self, code: str) -> Operation[list[Procedure]]:
        return Operation(
            self.service("LayThuTuc", {"maTTHC": code}, share=True),
            lambda r: _records(r, Procedure),
        )

    def procedures(self) -> Operation[list[Procedure]]:
        return Operation(
            self.service("LayDanhSachTTHC", share=True), lambda r: _records(r, Procedure)
        )

    def fields_of_work(self) -> Operation[list[FieldOfWork]]:
        return Operation(
            self.service("LayDanhMucLinhVuc", share=True), lambda r: _records(r, FieldOfWork)
        )

    def organs(self) -> Operation[list[Organ]]:
        return Operation(self.service("LayDanhMucCoQuan", share=True), lambda r: _records(r, Organ))


@dataclasses.dataclass(frozen=True, slots=True)
class TokenPaths:
    """Paths of the token-based portal's steps under its base URL (§4.3; set per deployment)."""

    next_code: str = "/GetNextValue"
    create: str = "/DongBoHoSo"
    progress: str = "/CapNhatTienTrinh"
    status: str = "/CapNhatTrangThai"


DEFAULT_PATHS = TokenPaths()


def read_token_answer(response: Response) -> Any:
    """The token-based portal's answer: JSON; an HTTP error or ``success: false`` refused."""
    try:
        data = response.json()
    except ProtocolError:
        if not response.is_success:
            raise RemoteServiceError(f"HTTP {response.status_code}", **_where(response)) from None
        raise
    refused = not response.is_success
    code = None
    message = None
    if isinstance(data, dict):
        code = data.get("error_code", data.get("code"))
        message = data.get("message") or data.get("error_message")
        if data.get("success") is False or (
            code is not None and str(code) not in ("0", "00", "200")
        ):
            refused = True
    if refused:
        raise RemoteServiceError(
            str(message or f"HTTP {response.status_code}"),
            code=None if code is None else str(code),
            **_where(response),
        )
    return data


class TokenPortalCodec:
    """Calls of the token-based ministry portal (§4.3): JSON bodies in the token target's
    formats (``yyyy-MM-dd HH:mm:ss`` and ISO-8601 where that API uses them)."""

    def __init__(
        self,
        base_url: str,
        *,
        paths: TokenPaths = DEFAULT_PATHS,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.paths = paths
        self.timeouts = timeouts

    def _request(self, method: str, path: str, body: Any, operation: str) -> Request:
        cid = uuid.uuid4().hex
        headers = (("Content-Type", "application/json"), ("X-Correlation-ID", cid))
        content = b"" if body is None else encode_json(body)
        return Request(
            method,
            self.base_url + path,
            headers,
            content,
            meta={"operation": operation, "correlation_id": cid},
            timeouts=self.timeouts,
        )

    def next_code(self, organ_code: str) -> Operation[str]:
        """Sinh mã hồ sơ: the portal allocates the next dossier code for ``organ_code``."""
        from urllib.parse import quote

        request = self._request(
            "GET", f"{self.paths.next_code}?code={quote(organ_code)}", None, "GetNextValue"
        )

        def parse(response: Response) -> str:
            data = read_token_answer(response)
            if isinstance(data, str):
                return data
            if isinstance(data, dict):
                for key in ("data", "value", "result", "MaHoSo"):
                    if isinstance(data.get(key), str):
                        return str(data[key])
            raise ProtocolError("GetNextValue answered no code", **_where(response))

        return Operation(request, parse, idempotent=False)

    def create(self, dossier: DossierCreation) -> Operation[Any]:
        body = dossier.to_wire("token")
        return Operation(
            self._request("POST", self.paths.create, body, "TaoHoSo"), read_token_answer
        )

    def progress(self, updates: Iterable[ProgressUpdate]) -> Operation[Any]:
        body = [u.to_wire("token") for u in updates]
        return Operation(
            self._request("POST", self.paths.progress, body, "CapNhatTienTrinh"), read_token_answer
        )

    def status(self, updates: Iterable[StatusUpdate]) -> Operation[Any]:
        body = [u.to_wire("token") for u in updates]
        return Operation(
            self._request("POST", self.paths.status, body, "CapNhatTrangThai"), read_token_answer
        )
