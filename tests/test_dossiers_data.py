"""Sample dossier payloads shared by the dossier tests, and the check that they are valid.

Every builder returns a complete payload that passes ``validate_dossier`` under the strict
profile for its target; tests change one thing at a time through keyword overrides.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lgsp.dossiers import (
    VIETNAM_TZ,
    ApplicantKind,
    ComponentFile,
    DossierComponent,
    DossierCreation,
    DossierLookupRequest,
    DossierLookupResponse,
    DossierProgressItem,
    DossierStatus,
    DossierSyncItem,
    DossierSyncRequest,
    Fee,
    OtherPaper,
    ProgressUpdate,
    ProgressUpdateRequest,
    ResultPaper,
    StatusUpdate,
    SubmittedFile,
    Submitter,
    SubmitterDetails,
    Supplement,
    SupplementPaper,
    WireModel,
    validate_dossier,
)

UNIT = "000.00.12.H49"
CODE = "000.00.12.H49-20260609-0000123"
TOKEN_CODE = "G09.20-20260609-0092637"


def at(day: int, hour: int = 8, minute: int = 0, second: int = 0) -> dt.datetime:
    """A time in June 2026, Vietnam time."""
    return dt.datetime(2026, 6, day, hour, minute, second, tzinfo=VIETNAM_TZ)


def sync_item(**overrides: Any) -> DossierSyncItem:
    """A dossier handed over (10) with every list filled."""
    fields: dict[str, Any] = {
        "code": CODE,
        "procedure_code": "1.005129",
        "procedure_name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "field_code": "G11-XD03",
        "field_name": "Cấp phép xây dựng",
        "receipt_number": "BN-2026-000123",
        "owner_name": "Nguyễn Văn An",
        "applicant_kind": ApplicantKind.CITIZEN,
        "applicant_id": "001099012345",
        "email": "an.nguyen@example.vn",
        "phone": "0912 345 678",
        "summary": "Đề nghị cấp giấy phép xây dựng nhà ở riêng lẻ",
        "received_at": at(9, 8, 30, 15),
        "due_at": at(23, 17),
        "status": DossierStatus.RETURNED,
        "returned_at": at(22, 10, 5),
        "return_info": "Trả trực tiếp",
        "delivery": 0,
        "processing_ended_at": at(19, 16, 45, 30),
        "processing_unit": "Phòng Quản lý đô thị",
        "note": "Hồ sơ đầy đủ",
        "submitted_files": [
            SubmittedFile(
                file_id=f"f-{i}",
                file_name=f"Tệp {i}.pdf",
                deleted=False,
                component_code=f"TP{i:03d}",
                url=f"https://dvc.example.gov.vn/f-{i}",
            )
            for i in range(1, 3)
        ],
        "fees": [Fee(name="Lệ phí cấp phép", code="LP01", collection_stage=1, amount=75_000)],
        "other_papers": [OtherPaper(name="Bản vẽ thiết kế", quantity=2, kind="bản sao")],
        "supplements": [
            Supplement(
                supplement_id="bs-1",
                requested_by="Trần Thị Bình",
                content="Bổ sung bản vẽ mặt cắt",
                requested_at=at(11),
                received_by="Lê Văn Cường",
                receipt_info="Đã nhận đủ",
                received_at=at(12),
                status="2",
                papers=[SupplementPaper(name="Bản vẽ mặt cắt", paper_id="gt-9")],
                fees=[Fee(name="Phí thẩm định", code="PT01", collection_stage=2, amount=0)],
                previous_due_at=at(23, 17),
                new_due_at=at(25, 17),
            )
        ],
        "result_papers": [
            ResultPaper(
                name="Giấy phép xây dựng",
                component_code="KQ001",
                paper_id="kq-1",
                url="https://dvc.example.gov.vn/kq-1",
            )
        ],
    }
    fields.update(overrides)
    return DossierSyncItem(**fields)


def progress_item(**overrides: Any) -> DossierProgressItem:
    fields: dict[str, Any] = {
        "code": CODE,
        "handler": "Trần Thị Bình",
        "handler_title": "Chuyên viên",
        "handled_at": at(10, 9, 15),
        "department": "Phòng Quản lý đô thị",
        "content": "Thẩm định hồ sơ",
        "status": DossierStatus.PROCESSING,
        "started_at": at(10, 9),
        "due_at": at(17, 17),
    }
    fields.update(overrides)
    return DossierProgressItem(**fields)


def sync_request(**overrides: Any) -> DossierSyncRequest:
    fields: dict[str, Any] = {
        "session": "a1b2c3",
        "unit_code": "000.00.01.H22",
        "is_updating": False,
        "data": [sync_item()],
    }
    fields.update(overrides)
    return DossierSyncRequest(**fields)


def progress_request(**overrides: Any) -> ProgressUpdateRequest:
    fields: dict[str, Any] = {
        "session": "a1b2c3",
        "unit_code": "000.00.01.H22",
        "data": [
            progress_item(status=DossierStatus.RECEIVED, handled_at=at(9, 8, 31)),
            progress_item(),
        ],
    }
    fields.update(overrides)
    return ProgressUpdateRequest(**fields)


def lookup_request(**overrides: Any) -> DossierLookupRequest:
    fields: dict[str, Any] = {"session": "a1b2c3", "unit_code": "000.00.01.H22", "code": CODE}
    fields.update(overrides)
    return DossierLookupRequest(**fields)


def lookup_response(**overrides: Any) -> DossierLookupResponse:
    fields: dict[str, Any] = {"error_code": "0", "message": "Thành công", "result": [sync_item()]}
    fields.update(overrides)
    return DossierLookupResponse(**fields)


def creation(**overrides: Any) -> DossierCreation:
    """A token-API dossier, as in vn-contracts §4.3."""
    fields: dict[str, Any] = {
        "code": TOKEN_CODE,
        "procedure_code": "1.005129",
        "public_service_code": "DVC-1.005129",
        "owner_name": "Phạm Thị Dung",
        "applicant_kind": ApplicantKind.HOUSEHOLD_BUSINESS,
        "receiving_unit": "G09.20",
        "submitted_at": at(9, 8),
        "received_at": at(9, 8, 30),
        "components": [
            DossierComponent(
                component_code="000.00.00.G09-KQ002269",
                name="Tờ khai",
                quantity=1,
                copy_kind=0,
                files=[
                    ComponentFile(
                        paper_id="66601a2b3c4d5e6f70812345",
                        result_code="KQ.G07.000122",
                        name="Tờ khai.pdf",
                        file_hash="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    )
                ],
            )
        ],
        "submitter": Submitter(
            applicant_kind=ApplicantKind.HOUSEHOLD_BUSINESS,
            subject_id="ho-kd-77",
            details=SubmitterDetails(
                name="Phạm Thị Dung",
                id_number="079190012345",
                id_issued_on=dt.date(2021, 3, 4),
                birth_date=dt.date(1990, 1, 15),
                phone="0909123456",
                email="dung.pham@example.vn",
                province_code="79",
                district_code="775",
                commune_code="27358",
                address="12 Lê Lợi",
                owner_name="Phạm Thị Dung",
                owner_id_number="079190012345",
                owner_province_code="79",
                owner_commune_code="27358",
                owner_address="12 Lê Lợi",
            ),
        ),
    }
    fields.update(overrides)
    return DossierCreation(**fields)


def progress_update(**overrides: Any) -> ProgressUpdate:
    fields: dict[str, Any] = {
        "dossier_id": "66601a2b3c4d5e6f70899999",
        "code": TOKEN_CODE,
        "handler": "Ngô Văn Em",
        "handled_at": at(10, 14),
        "department": "Bộ phận một cửa",
        "content": "Chuyển xử lý",
        "status": DossierStatus.PROCESSING,
        "started_at": at(10, 14),
        "due_at": at(12, 17),
    }
    fields.update(overrides)
    return ProgressUpdate(**fields)


def status_update(**overrides: Any) -> StatusUpdate:
    fields: dict[str, Any] = {
        "dossier_id": "66601a2b3c4d5e6f70899999",
        "code": TOKEN_CODE,
        "status": DossierStatus.RECEIVED,
    }
    fields.update(overrides)
    return StatusUpdate(**fields)


# (name, builder, native target) of every payload; the array payloads are lists of items.
PAYLOAD_BUILDERS: list[tuple[str, Any, str]] = [
    ("sync-item", sync_item, "classic"),
    ("sync-request", sync_request, "classic"),
    ("progress-item", progress_item, "classic"),
    ("progress-request", progress_request, "classic"),
    ("lookup-request", lookup_request, "classic"),
    ("lookup-response", lookup_response, "classic"),
    ("creation", creation, "token"),
    ("progress-update", progress_update, "token"),
    ("status-update", status_update, "token"),
]


@pytest.mark.parametrize(("name", "build", "target"), PAYLOAD_BUILDERS)
def test_samples_are_strictly_valid_for_their_target(name: str, build: Any, target: str) -> None:
    payload: WireModel = build()
    assert validate_dossier(payload, target=target, profile="strict") == [], name
    # ... and as the JSON that target writes.
    assert validate_dossier(payload.to_wire(target), target=target, kind=name) == [], name
