"""The payloads lgsp knows, by name, and how to tell which one a piece of JSON is.

A file or a message may hold one item (a DongBoHoSoMC dossier, a progress step…), a JSON array
of items, or a whole request body. :func:`detect_kind` says which from the keys it carries;
:func:`load_payload` reads it into models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lgsp.dossiers._wire import WireModel
from lgsp.dossiers.formats import Target, resolve_target
from lgsp.dossiers.models import (
    DossierLookupRequest,
    DossierLookupResponse,
    DossierProgressItem,
    DossierSyncItem,
    DossierSyncRequest,
    ProgressUpdateRequest,
)
from lgsp.dossiers.token_models import DossierCreation, ProgressUpdate, StatusUpdate
from lgsp.errors import DossierError

__all__ = [
    "PAYLOADS",
    "Payload",
    "PayloadKind",
    "detect_kind",
    "dump_payload",
    "load_payload",
    "payload_kind",
]


@dataclass(frozen=True, slots=True)
class PayloadKind:
    """A payload: its name, model, API and whether it is a request body or an item."""

    name: str
    model: type[WireModel]
    api: str  # "classic" or "token": the target whose contract defines it
    service: str  # the service or step it belongs to
    body: bool  # a whole request body (else an item, sent alone or in an array)
    description: str


PAYLOADS: dict[str, PayloadKind] = {
    kind.name: kind
    for kind in (
        PayloadKind(
            "sync-item",
            DossierSyncItem,
            "classic",
            "DongBoHoSoMC",
            body=False,
            description="a dossier, an item of DongBoHoSoMC's data",
        ),
        PayloadKind(
            "sync-request",
            DossierSyncRequest,
            "classic",
            "DongBoHoSoMC",
            body=True,
            description="the DongBoHoSoMC body: session, madonvi, isUpdating, data",
        ),
        PayloadKind(
            "progress-item",
            DossierProgressItem,
            "classic",
            "CapNhatTienDoHoSoMC",
            body=False,
            description="a processing step, an item of CapNhatTienDoHoSoMC's data",
        ),
        PayloadKind(
            "progress-request",
            ProgressUpdateRequest,
            "classic",
            "CapNhatTienDoHoSoMC",
            body=True,
            description="the CapNhatTienDoHoSoMC body: session, madonvi, data",
        ),
        PayloadKind(
            "lookup-request",
            DossierLookupRequest,
            "classic",
            "TraCuuHoSo",
            body=True,
            description="the TraCuuHoSo body: session, madonvi, mahoso",
        ),
        PayloadKind(
            "lookup-response",
            DossierLookupResponse,
            "classic",
            "TraCuuHoSo",
            body=True,
            description="what TraCuuHoSo answers: error_code, result",
        ),
        PayloadKind(
            "creation",
            DossierCreation,
            "token",
            "create dossier",
            body=True,
            description="the token API's dossier creation body",
        ),
        PayloadKind(
            "progress-update",
            ProgressUpdate,
            "token",
            "CapNhatTienTrinh",
            body=False,
            description="a processing step, an item of the CapNhatTienTrinh array",
        ),
        PayloadKind(
            "status-update",
            StatusUpdate,
            "token",
            "CapNhatTrangThai",
            body=False,
            description="a status change, an item of the CapNhatTrangThai array",
        ),
    )
}
"""Every payload, by name (the names of ``lgsp dossier validate --kind``)."""

_BY_SERVICE = {"DongBoHoSoMC": "sync-request", "CapNhatTienDoHoSoMC": "progress-request"}
_BY_SERVICE["TraCuuHoSo"] = "lookup-request"
_CREATION_KEYS = frozenset({"ThanhPhanHoSo", "ThongTinNguoiNop", "MaDonViTiepNhan", "NgayNop"})
_CREATION_KEYS |= {"MaDichVuCong"}
_PROGRESS_KEYS = frozenset(
    {"NguoiXuLy", "ThoiDiemXuLy", "NoiDungXuLy", "PhongBanXuLy", "ChucDanh", "NgayBatDau"}
) | {"NgayKetThucTheoQuyDinh"}
_SYNC_KEYS = frozenset(
    {"TrangThaiHoSo", "MaTTHC", "TenTTHC", "NgayTiepNhan", "NgayHenTra", "TaiLieuNop"}
) | {"DanhSachLePhi", "ChuHoSo", "DonViXuLy", "LoaiDoiTuong"}
_STATUS_KEYS = frozenset({"IdHoSo", "IDHoSo", "MaHoSo", "TrangThai"})


def _kind_of_object(  # noqa: PLR0911 - one return per payload, in the order they are told apart
    data: Mapping[str, Any], target: Target
) -> str | None:
    keys = data.keys()
    service = data.get("service")
    if isinstance(service, str):
        return _BY_SERVICE.get(service)
    if "data" in data and ("session" in keys or "madonvi" in keys or "isUpdating" in keys):
        items = data["data"]
        first = items[0] if isinstance(items, list) and items else None
        if isinstance(first, Mapping) and first.keys() & _PROGRESS_KEYS:
            return "progress-request"
        return "sync-request"
    if "mahoso" in keys and ("session" in keys or "madonvi" in keys):
        return "lookup-request"
    if "result" in keys and ("error_code" in keys or "message" in keys):
        return "lookup-response"
    if keys & _CREATION_KEYS:
        return "creation"
    if keys & _PROGRESS_KEYS:
        token_id = "IDHoSo" in keys or "IdHoSo" in keys
        if token_id or ("ChucDanh" not in keys and not target.text_scalars):
            return "progress-update"
        return "progress-item"
    if keys & _SYNC_KEYS:
        return "sync-item"
    if "TrangThai" in keys and keys <= _STATUS_KEYS:
        return "status-update"
    return None


def detect_kind(data: Any, *, target: Target | str = "classic") -> tuple[PayloadKind, bool]:
    """Which payload ``data`` (parsed JSON) is, and whether it is an array of them.

    Raises :class:`~lgsp.errors.DossierError` (rule ``dossier.kind``) when it is none lgsp
    knows. An array's kind is that of its first object; progress steps without the token API's
    ``IDHoSo`` are read as the ``target`` writes them.
    """
    resolved = resolve_target(target)
    many = isinstance(data, list)
    sample = next((x for x in data if isinstance(x, Mapping)), None) if many else data
    if not isinstance(sample, Mapping):
        shape = "an array of no objects" if many else f"a JSON {_json_type(data)}"
        raise DossierError(
            f"{shape} is not a dossier payload: expected an object or an array of objects",
            rule="dossier.kind",
        )
    name = _kind_of_object(sample, resolved)
    if name is None:
        keys = ", ".join(sorted(map(str, sample.keys()))[:8]) or "no keys"
        raise DossierError(
            f"no dossier payload has these keys ({keys}); name the kind (one of "
            f"{', '.join(PAYLOADS)})",
            rule="dossier.kind",
        )
    kind = PAYLOADS[name]
    if many and kind.body:
        raise DossierError(f"an array of {name} bodies is not a payload", rule="dossier.kind")
    return kind, many


def _json_type(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


Payload = WireModel | list[WireModel]
"""One payload model, or a list of them (an array payload)."""


def load_payload(
    data: Any, *, target: Target | str = "classic", kind: str | None = None
) -> Payload:
    """Read parsed JSON into models: the kind is detected unless named.

    Raises :class:`~lgsp.errors.ValidationError` when a value cannot be read at all and
    :class:`~lgsp.errors.DossierError` when the kind cannot be told.
    """
    if kind is None:
        found, many = detect_kind(data, target=target)
    else:
        found, many = payload_kind(kind), isinstance(data, list)
    if many:
        return [found.model.from_wire(item, target=target) for item in data]
    return found.model.from_wire(data, target=target)


def payload_kind(kind: str) -> PayloadKind:
    """The payload named ``kind`` (a key of :data:`PAYLOADS`); DossierError when none is."""
    try:
        return PAYLOADS[kind]
    except KeyError:
        message = f"unknown payload kind {kind!r}; the kinds are {', '.join(PAYLOADS)}"
        raise DossierError(message, rule="dossier.kind") from None


def dump_payload(payload: WireModel | Sequence[WireModel], *, target: Target | str) -> Any:
    """A payload (a model or a list of them) as ``target`` writes it, as JSON-ready data."""
    if isinstance(payload, WireModel):
        return payload.to_wire(target)
    return [item.to_wire(target) for item in payload]
