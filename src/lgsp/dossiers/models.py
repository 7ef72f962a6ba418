"""Payloads of the classic DVCQG adapter: DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo.

Field names and nesting are those OpenCPS sends (vn-contracts §4.1, [OCPS]
``DVCQGIntegrationActionImpl``), the Hà Giang client agreeing. Python names are English; the
wire names are the aliases. Every model keeps the fields it does not know and writes them back.
Dates are ``datetime`` values in Vietnam time and the applicant kind an :class:`ApplicantKind`;
:meth:`~lgsp.dossiers.WireModel.to_wire` writes them as the target says (``classic``:
``yyyyMMddHHmmss`` and every number or flag as text, as OpenCPS and the Hà Giang client do).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from lgsp.dossiers._fields import Applicant, EventTime, Flag, Number, RecordTime, Scalar
from lgsp.dossiers._wire import WireModel
from lgsp.dossiers.status import DossierStatus

__all__ = [
    "DossierLookupRequest",
    "DossierLookupResponse",
    "DossierProgressItem",
    "DossierSyncItem",
    "DossierSyncRequest",
    "Fee",
    "OtherPaper",
    "ProgressUpdateRequest",
    "ResultPaper",
    "StatusCode",
    "SubmittedFile",
    "Supplement",
    "SupplementPaper",
]

StatusCode = Annotated[DossierStatus | int, Scalar("integer", codes=DossierStatus)]
"""TrangThaiHoSo / TrangThai: a :class:`DossierStatus`, or the raw number when unknown."""


# --- DongBoHoSoMC and its lists --------------------------------------------------------------


class SubmittedFile(WireModel):
    """A file the applicant handed in (TaiLieuNop item)."""

    file_id: str | None = Field(None, alias="TepDinhKemId", description="Id of the file")
    file_name: str | None = Field(None, alias="TenTepDinhKem", description="File name")
    deleted: Flag | None = Field(
        None, alias="IsDeleted", description="The file was withdrawn (OpenCPS sends False)"
    )
    component_code: str | None = Field(
        None, alias="MaThanhPhanHoSo", description="Dossier component (thành phần hồ sơ) code"
    )
    url: str | None = Field(None, alias="DuongDanTaiTepTin", description="Where to download it")

    REQUIRED = ("file_name",)
    RECOMMENDED = ("file_id", "url")


class Fee(WireModel):
    """A fee or charge of the dossier (DanhSachLePhi item)."""

    name: str | None = Field(None, alias="TenPhiLePhi", description="Name of the fee")
    code: str | None = Field(None, alias="MaPhiLePhi", description="Code of the fee")
    collection_stage: Number | None = Field(
        None,
        alias="HinhThucThu",
        description="When it is collected: 1 on receipt, 2 on supplement, 4 on return "
        "(iGate catalogue, low confidence)",
    )
    amount: Number | None = Field(None, alias="Gia", description="Amount in đồng")
    kind: Number | None = Field(
        None, alias="LoaiPhiLePhi", description="Kind of fee (phí or lệ phí; codes undocumented)"
    )

    REQUIRED = ("name", "amount")
    RECOMMENDED = ("code",)


class OtherPaper(WireModel):
    """Another paper handed in on paper (DanhSachTepDinhKemKhac item)."""

    name: str | None = Field(None, alias="TenGiayTo", description="Name of the paper")
    quantity: Number | None = Field(None, alias="SoLuong", description="Number of copies")
    kind: str | None = Field(None, alias="LoaiGiayTo", description="Kind of paper (undocumented)")

    REQUIRED = ("name",)
    RECOMMENDED = ("quantity",)


class SupplementPaper(WireModel):
    """A paper asked for or handed in by a supplement (DanhSachGiayToBoSung item).

    No source shows these items; the fields are inferred from DanhSachGiayToKetQua, whose names
    the list shares. Whatever else they carry is kept.
    """

    name: str | None = Field(None, alias="TenGiayTo", description="Name of the paper")
    component_code: str | None = Field(
        None, alias="MaThanhPhanHoSo", description="Dossier component code"
    )
    paper_id: str | None = Field(None, alias="GiayToId", description="Id of the paper")

    REQUIRED = ("name",)


class Supplement(WireModel):
    """A request to complete the dossier and its answer (DanhSachHoSoBoSung item)."""

    supplement_id: str | None = Field(None, alias="HoSoBoSungId", description="Id of the request")
    requested_by: str | None = Field(
        None, alias="NguoiYeuCauBoSung", description="Officer who asked"
    )
    content: str | None = Field(None, alias="NoiDungBoSung", description="What is asked for")
    requested_at: RecordTime | None = Field(None, alias="NgayBoSung", description="When asked")
    received_by: str | None = Field(
        None, alias="NguoiTiepNhanBoSung", description="Officer who received the supplement"
    )
    receipt_info: str | None = Field(
        None, alias="ThongTinTiepNhan", description="Notes on the receipt"
    )
    received_at: RecordTime | None = Field(
        None, alias="NgayTiepNhanBoSung", description="When the supplement was received"
    )
    status: str | None = Field(
        None, alias="TrangThaiBoSung", description="State of the request (codes undocumented)"
    )
    papers: list[SupplementPaper] = Field(
        default_factory=list, alias="DanhSachGiayToBoSung", description="Papers asked for"
    )
    fees: list[Fee] = Field(
        default_factory=list, alias="DanhSachLePhiBoSung", description="Fees of the supplement"
    )
    previous_due_at: RecordTime | None = Field(
        None, alias="NgayHenTraTruoc", description="Due date before the request"
    )
    new_due_at: RecordTime | None = Field(
        None, alias="NgayHenTraMoi", description="Due date after the request"
    )

    REQUIRED = ("content",)
    RECOMMENDED = ("supplement_id", "requested_at")


class ResultPaper(WireModel):
    """A paper the dossier results in (DanhSachGiayToKetQua item)."""

    name: str | None = Field(None, alias="TenGiayTo", description="Name of the paper")
    component_code: str | None = Field(
        None, alias="MaThanhPhanHoSo", description="Dossier component code"
    )
    paper_id: str | None = Field(None, alias="GiayToId", description="Id of the paper")
    url: str | None = Field(
        None, alias="DuongDanTepTinKetQua", description="Where to download the result"
    )

    REQUIRED = ("name",)
    RECOMMENDED = ("paper_id", "url")


class DossierSyncItem(WireModel):
    """One dossier as DongBoHoSoMC sends it to the national portal (an item of ``data``).

    Without a receipt date, a dossier can only be registered (1) or refused (3); the rules
    check that the dates agree with the status (``dossier.status_dates``).
    """

    code: str | None = Field(None, alias="MaHoSo", description="Dossier code (mã hồ sơ)")
    procedure_code: str | None = Field(
        None, alias="MaTTHC", description="Procedure code in the national database, e.g. 1.005129"
    )
    procedure_name: str | None = Field(None, alias="TenTTHC", description="Procedure name")
    field_code: str | None = Field(
        None, alias="MaLinhVuc", description="Field (lĩnh vực) code, e.g. G03-GD10"
    )
    field_name: str | None = Field(None, alias="TenLinhVuc", description="Field name")
    receipt_number: str | None = Field(
        None, alias="SoBienNhan", description="Number of the receipt given to the applicant"
    )
    owner_name: str | None = Field(None, alias="ChuHoSo", description="Dossier owner")
    applicant_kind: Applicant | None = Field(
        None, alias="LoaiDoiTuong", description="Kind of applicant (LoaiDoiTuong)"
    )
    applicant_id: str | None = Field(
        None, alias="MaDoiTuong", description="Applicant's identifier (personal or tax number)"
    )
    other_info: str | None = Field(None, alias="ThongTinKhac", description="Other information")
    email: str | None = Field(None, alias="Email", description="Applicant's e-mail")
    fax: str | None = Field(None, alias="Fax", description="Applicant's fax")
    phone: str | None = Field(None, alias="SoDienThoai", description="Applicant's phone number")
    summary: str | None = Field(None, alias="TrichYeuHoSo", description="Summary (trích yếu)")
    received_at: RecordTime | None = Field(
        None, alias="NgayTiepNhan", description="When the dossier was received"
    )
    due_at: RecordTime | None = Field(
        None, alias="NgayHenTra", description="When the result is promised"
    )
    status: StatusCode | None = Field(
        None, alias="TrangThaiHoSo", description="Dossier status, 1-10"
    )
    returned_at: RecordTime | None = Field(
        None, alias="NgayTra", description="When the result was handed over"
    )
    return_info: str | None = Field(None, alias="ThongTinTra", description="Notes on the hand-over")
    delivery: Number | None = Field(
        None,
        alias="HinhThuc",
        description="How the result is handed over: 0 at the office, 1 by post (OpenCPS)",
    )
    processing_ended_at: RecordTime | None = Field(
        None, alias="NgayKetThucXuLy", description="When processing ended"
    )
    processing_unit: str | None = Field(
        None, alias="DonViXuLy", description="Unit processing the dossier"
    )
    note: str | None = Field(None, alias="GhiChu", description="Note")
    submitted_files: list[SubmittedFile] = Field(
        default_factory=list, alias="TaiLieuNop", description="Files handed in"
    )
    fees: list[Fee] = Field(default_factory=list, alias="DanhSachLePhi", description="Fees")
    other_papers: list[OtherPaper] = Field(
        default_factory=list, alias="DanhSachTepDinhKemKhac", description="Other papers"
    )
    supplements: list[Supplement] = Field(
        default_factory=list, alias="DanhSachHoSoBoSung", description="Supplement requests"
    )
    result_papers: list[ResultPaper] = Field(
        default_factory=list, alias="DanhSachGiayToKetQua", description="Result papers"
    )

    REQUIRED = ("code", "procedure_code", "status")
    # OpenCPS marks every other field "ko bb" (not required) but these; the contact details it
    # also sends are left out: a citizen without e-mail is normal.
    RECOMMENDED = (
        "procedure_name",
        "field_code",
        "field_name",
        "applicant_kind",
        "summary",
        "delivery",
        "processing_unit",
    )


class _Progress(WireModel):
    """Fields a progress report has in both APIs."""

    code: str | None = Field(None, alias="MaHoSo", description="Dossier code (mã hồ sơ)")
    handler: str | None = Field(None, alias="NguoiXuLy", description="Who handled the step")
    handled_at: EventTime | None = Field(
        None, alias="ThoiDiemXuLy", description="When the step was handled"
    )
    department: str | None = Field(
        None, alias="PhongBanXuLy", description="Department that handled it"
    )
    content: str | None = Field(None, alias="NoiDungXuLy", description="What was done")
    status: StatusCode | None = Field(
        None, alias="TrangThai", description="Dossier status after the step, 1-10"
    )
    started_at: EventTime | None = Field(
        None, alias="NgayBatDau", description="When the step started"
    )
    due_at: EventTime | None = Field(
        None, alias="NgayKetThucTheoQuyDinh", description="When the step is due by regulation"
    )

    REQUIRED: ClassVar[tuple[str, ...]] = ("code", "status")
    RECOMMENDED: ClassVar[tuple[str, ...]] = ("handler", "handled_at", "content")


class DossierProgressItem(_Progress):
    """One processing step as CapNhatTienDoHoSoMC reports it (an item of ``data``)."""

    handler_title: str | None = Field(None, alias="ChucDanh", description="Handler's title")


# --- request bodies ----------------------------------------------------------------------------


class DossierSyncRequest(WireModel):
    """The body of DongBoHoSoMC: the session, the unit and the dossiers."""

    session: str | None = Field(None, alias="session", description="Session from the login")
    unit_code: str | None = Field(
        None, alias="madonvi", description="The sending unit's code at the portal"
    )
    service: Literal["DongBoHoSoMC"] = Field("DongBoHoSoMC", alias="service")
    is_updating: Flag | None = Field(
        None, alias="isUpdating", description="True when the dossiers were sent before"
    )
    data: list[DossierSyncItem] = Field(default_factory=list, alias="data")

    REQUIRED = ("session", "unit_code", "service", "data")
    RECOMMENDED = ("is_updating",)


class ProgressUpdateRequest(WireModel):
    """The body of CapNhatTienDoHoSoMC: the session, the unit and the steps."""

    session: str | None = Field(None, alias="session", description="Session from the login")
    unit_code: str | None = Field(
        None, alias="madonvi", description="The sending unit's code at the portal"
    )
    service: Literal["CapNhatTienDoHoSoMC"] = Field("CapNhatTienDoHoSoMC", alias="service")
    is_updating: Flag | None = Field(
        None, alias="isUpdating", description="Optional; OpenCPS does not send it here"
    )
    data: list[DossierProgressItem] = Field(default_factory=list, alias="data")

    REQUIRED = ("session", "unit_code", "service", "data")


class DossierLookupRequest(WireModel):
    """The body of TraCuuHoSo: look a dossier up by its code."""

    session: str | None = Field(None, alias="session", description="Session from the login")
    unit_code: str | None = Field(
        None, alias="madonvi", description="The sending unit's code at the portal"
    )
    service: Literal["TraCuuHoSo"] = Field("TraCuuHoSo", alias="service")
    code: str | None = Field(None, alias="mahoso", description="Dossier code to look up")

    REQUIRED = ("session", "unit_code", "service", "code")


class DossierLookupResponse(WireModel):
    """What TraCuuHoSo answers: ``error_code`` 0 (or "00") and the dossiers found.

    The items' shape is not documented; they are read as DongBoHoSoMC items, every field
    optional, anything else kept.
    """

    error_code: str | int | None = Field(
        None, alias="error_code", description="0 or 00 on success (kept as sent: number or text)"
    )
    message: str | None = Field(None, alias="message", description="The portal's message")
    result: list[DossierSyncItem] = Field(
        default_factory=list, alias="result", description="Dossiers found"
    )

    RECOMMENDED = ("error_code",)

    @property
    def succeeded(self) -> bool:
        """True when the portal reports success (error_code 0 or "00")."""
        return self.error_code is not None and str(self.error_code).strip() in {"0", "00"}
