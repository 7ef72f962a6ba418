"""Dossier payloads of the corpus: broken codes, illegal status moves, malformed JSON.

Each illegal-transitions file holds the steps of one dossier (two, in one case) whose status
history makes one kind of move the default table of :mod:`lgsp.dossiers.status` forbids; the
kinds are listed in :data:`TRANSITIONS`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lgsp.conformance.negative._base import dump_json, edit, to_cp1258
from lgsp.documents import VIETNAM_TZ
from lgsp.dossiers import DossierStatus, ProgressUpdateRequest, StatusUpdate
from lgsp.testing import samples

__all__ = ["TRANSITIONS", "build_codes", "build_malformed", "build_transitions"]

_S = DossierStatus
UNIT = "000.00.01.H41"
CODE = f"{UNIT}-20240502-0000001"
OTHER = f"{UNIT}-20240502-0000002"
T0 = dt.datetime(2024, 5, 2, 8, 0, tzinfo=VIETNAM_TZ)
SESSION = "phien-thu-nghiem-0001"

#: file name → (what is illegal, the statuses of the one dossier in time order)
TRANSITIONS: dict[str, tuple[str, tuple[int, ...]]] = {
    "registered-to-processing.json": ("processing before receipt: 1 → 4", (1, 4)),
    "processing-to-registered.json": ("back to registered after receipt: 2 → 4 → 1", (2, 4, 1)),
    "received-to-not-received.json": ("refused after it was received: 2 → 3", (2, 3)),
    "processing-to-received.json": ("received a second time: 2 → 4 → 2", (2, 4, 2)),
    "not-received-to-received.json": ("out of final 3 (not received): 1 → 3 → 2", (1, 3, 2)),
    "stopped-to-processing.json": ("out of final 8 (stopped): 2 → 8 → 4", (2, 8, 4)),
    "returned-to-processing.json": ("out of final 10 (returned): 2 → 9 → 10 → 4", (2, 9, 10, 4)),
    "withdrawal-to-processed.json": (
        "a withdrawal request neither stopped nor turned down: 2 → 7 → 9",
        (2, 7, 9),
    ),
    "processed-to-processing.json": ("a processed dossier reopened: 2 → 9 → 4", (2, 9, 4)),
}


def _step(code: str, status: int, hours: int) -> Any:
    return samples.dossier_step(code, _S(status), at=T0 + dt.timedelta(hours=hours))


def _progress_body(steps: list[Any]) -> Any:
    body = ProgressUpdateRequest(session=SESSION, unit_code=UNIT, data=steps)
    return body.to_wire("classic")


def build_transitions() -> dict[str, bytes]:
    """One file per kind of illegal move, plus the ways a history can hide one."""
    files = {
        name: dump_json(_progress_body([_step(CODE, s, i) for i, s in enumerate(statuses)]))
        for name, (_what, statuses) in TRANSITIONS.items()
    }
    # Listed in a legal order (2, 4, 10), but ThoiDiemXuLy says 10 came first: 10 → 2 → 4.
    hidden = [_step(CODE, 2, 1), _step(CODE, 4, 2), _step(CODE, 10, 0)]
    files["order-given-by-time.json"] = dump_json(_progress_body(hidden))
    # Two dossiers interleaved: the first is legal, the second goes 10 → 4.
    mixed = [
        _step(CODE, 2, 0),
        _step(OTHER, 10, 1),
        _step(CODE, 4, 2),
        _step(OTHER, 4, 3),
        _step(CODE, 9, 4),
    ]
    files["two-dossiers-interleaved.json"] = dump_json(_progress_body(mixed))
    # A bare array of steps (no request envelope): 8 → 9.
    bare = [_step(CODE, 2, 0), _step(CODE, 8, 1), _step(CODE, 9, 2)]
    files["bare-steps-after-stop.json"] = dump_json([s.to_wire("classic") for s in bare])
    # The token API's CapNhatTrangThai: 10 → 4.
    updates = [
        StatusUpdate(dossier_id="88001", code=CODE, status=_S.PROCESSED),
        StatusUpdate(dossier_id="88001", code=CODE, status=_S.RETURNED),
        StatusUpdate(dossier_id="88001", code=CODE, status=_S.PROCESSING),
    ]
    files["token-status-updates.json"] = dump_json([u.to_wire("token") for u in updates])
    return files


def _sync_item(**changes: Any) -> dict[str, Any]:
    """A DongBoHoSoMC item received on the corpus's day, as the classic adapter writes it."""
    item: dict[str, Any] = samples.dossier(code=CODE, unit=UNIT, received_at=T0).to_wire("classic")
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def build_codes() -> dict[str, bytes]:
    """Procedure, dossier, unit and status codes that break their rules."""
    body = {
        "session": SESSION,
        "madonvi": "000.00.01.h41",
        "service": "DongBoHoSoMC",
        "isUpdating": "False",
        "data": [_sync_item()],
    }
    token = StatusUpdate(dossier_id="88001", code="HS-2024-0001", status=_S.PROCESSING)
    return {
        "dossier-procedure-code.json": dump_json(_sync_item(MaTTHC="1.0011")),
        "dossier-code-format.json": dump_json(_sync_item(MaHoSo="HS-2024-0001")),
        "dossier-unit-code-lowercase.json": dump_json(body),
        "dossier-status-11.json": dump_json(_sync_item(TrangThaiHoSo="11")),
        "token-dossier-code.json": dump_json([token.to_wire("token")]),
    }


def build_malformed() -> dict[str, bytes]:
    """JSON that cannot be read, or is no dossier payload, or holds unreadable values."""
    good = dump_json(_sync_item())
    return {
        "json-truncated.json": good[: len(good) // 2],
        "json-wrong-kind.json": dump_json(
            {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "DocId": "8a7f-0001"}
        ),
        "json-array-of-bodies.json": dump_json(
            [{"session": SESSION, "madonvi": UNIT, "service": "DongBoHoSoMC", "data": []}] * 2
        ),
        "json-utf16.json": good.decode("utf-8").encode("utf-16"),
        "json-double-bom.json": b"\xef\xbb\xbf\xef\xbb\xbf" + good,
        "json-cp1258.json": to_cp1258(good),
        "json-nan.json": edit(good, '"TrangThaiHoSo": "2"', '"TrangThaiHoSo": NaN'),
        "json-huge-integer.json": edit(
            good, '"TrangThaiHoSo": "2"', '"TrangThaiHoSo": ' + "9" * 5000
        ),
        "json-deep-nesting.json": b"[" * 20_000 + b"]" * 20_000 + b"\n",
        "json-bad-date.json": dump_json(_sync_item(NgayTiepNhan="32/13/2024")),
        "json-status-not-a-number.json": dump_json(_sync_item(TrangThaiHoSo="Đang xử lý")),
        "json-missing-code.json": dump_json(_sync_item(MaHoSo=None)),
    }
