"""Payloads of the newer token-based ministry DVC API (vn-contracts §4.3, [DVCSYNC]).

Its six steps are: token; ``GetNextValue`` for a dossier code; file upload (``IdTepTin``,
``HashTepTin``); dossier creation (:class:`DossierCreation`); ``CapNhatTienTrinh``, an array of
:class:`ProgressUpdate`; ``CapNhatTrangThai``, an array of :class:`StatusUpdate`. Only the
payloads are modelled here; the ``token`` target writes them (ISO 8601 for processing times,
``yyyy-MM-dd HH:mm:ss`` for NgayNop and NgayTiepNhan, ``yyyyMMddHHmmss`` for the submitter's
dates, LoaiDoiTuong 0/1/2, numbers as JSON numbers).
"""

from __future__ import annotations

from pydantic import AliasChoices, Field

from lgsp.dossiers._fields import Applicant, CivilDate, Number, RecordTime
from lgsp.dossiers._wire import WireModel
from lgsp.dossiers.models import StatusCode, _Progress

__all__ = [
    "ComponentFile",
    "DossierComponent",
    "DossierCreation",
    "ProgressUpdate",
    "StatusUpdate",
    "Submitter",
    "SubmitterDetails",
]


class ComponentFile(WireModel):
    """A file of a dossier component (GiayToDinhKem item), uploaded beforehand."""

    paper_id: str | None = Field(
        None, alias="IdGiayTo", description="Id of the uploaded file (IdTepTin of the upload)"
    )
    result_code: str | None = Field(
        None, alias="MaKetQua", description="Code of the paper it is, e.g. KQ.G07.000122"
    )
    name: str | None = Field(None, alias="TenGiayTo", description="Name of the paper")
    file_hash: str | None = Field(
        None, alias="HashTepTin", description="Hash the upload returned (HashTepTin)"
    )

    REQUIRED = ("name",)
    RECOMMENDED = ("paper_id", "file_hash")


class DossierComponent(WireModel):
    """A component of the dossier (ThanhPhanHoSo item) and its files."""

    component_code: str | None = Field(
        None, alias="MaThanhPhanHoSo", description="Component code, e.g. 000.00.00.G09-KQ002269"
    )
    name: str | None = Field(None, alias="TenThanhPhanHoSo", description="Component name")
    quantity: Number | None = Field(None, alias="SoLuong", description="Number of copies")
    copy_kind: Number | None = Field(
        None,
        alias="LoaiBan",
        description="Kind of copy: 0, 1 or 2 (original, copy, certified copy; low confidence)",
    )
    files: list[ComponentFile] = Field(
        default_factory=list, alias="GiayToDinhKem", description="Files of the component"
    )

    REQUIRED = ("component_code",)
    RECOMMENDED = ("name", "quantity")


class SubmitterDetails(WireModel):
    """Who submits the dossier, and whose it is (ThongTinChiTiet)."""

    name: str | None = Field(None, alias="TenNguoiNop", description="Submitter's name")
    id_number: str | None = Field(
        None, alias="SoDinhDanh", description="Submitter's personal identification number"
    )
    id_issued_on: CivilDate | None = Field(
        None, alias="NgayCapDinhDanh", description="When the identification was issued"
    )
    birth_date: CivilDate | None = Field(None, alias="NgaySinh", description="Date of birth")
    phone: str | None = Field(None, alias="SoDienThoai", description="Phone number")
    email: str | None = Field(None, alias="Email", description="E-mail")
    fax: str | None = Field(None, alias="Fax", description="Fax")
    province_code: str | None = Field(None, alias="MaTinh", description="Province code, e.g. 79")
    district_code: str | None = Field(
        None, alias="MaHuyen", description="District code, e.g. 775 (before NQ 202/2025)"
    )
    commune_code: str | None = Field(None, alias="MaXa", description="Commune code, e.g. 27358")
    address: str | None = Field(None, alias="DiaChiChiTiet", description="Street address")
    owner_name: str | None = Field(None, alias="TenChuHs", description="Dossier owner's name")
    owner_id_number: str | None = Field(
        None, alias="SoDinhDanhChuHs", description="Owner's identification number"
    )
    owner_province_code: str | None = Field(
        None, alias="MaTinhChuHs", description="Owner's province code"
    )
    owner_commune_code: str | None = Field(
        None, alias="MaXaChuHs", description="Owner's commune code"
    )
    owner_address: str | None = Field(
        None, alias="DiaChiChiTietChuHs", description="Owner's street address"
    )

    REQUIRED = ("name",)
    RECOMMENDED = ("id_number", "phone", "province_code", "commune_code", "address")


class Submitter(WireModel):
    """The submitter block of a dossier creation (ThongTinNguoiNop)."""

    applicant_kind: Applicant | None = Field(
        None, alias="LoaiDoiTuong", description="Kind of applicant (LoaiDoiTuong)"
    )
    subject_id: str | None = Field(
        None, alias="IdDoiTuong", description="Id of the applicant in the portal"
    )
    details: SubmitterDetails | None = Field(
        None, alias="ThongTinChiTiet", description="Who submits, whose dossier it is"
    )

    REQUIRED = ("applicant_kind", "details")


class DossierCreation(WireModel):
    """The body that creates a dossier (step 4), after its code was generated (step 2)."""

    code: str | None = Field(
        None, alias="MaHoSo", description="Dossier code, e.g. G09.20-20260609-0092637"
    )
    procedure_code: str | None = Field(
        None, alias="MaTTHC", description="Procedure code, e.g. 1.005129"
    )
    public_service_code: str | None = Field(
        None, alias="MaDichVuCong", description="Public service code"
    )
    owner_name: str | None = Field(None, alias="ChuHoSo", description="Dossier owner")
    applicant_kind: Applicant | None = Field(
        None, alias="LoaiDoiTuong", description="Kind of applicant (LoaiDoiTuong)"
    )
    receiving_unit: str | None = Field(
        None, alias="MaDonViTiepNhan", description="Receiving unit's code, e.g. G09.20"
    )
    submitted_at: RecordTime | None = Field(
        None, alias="NgayNop", description="When the dossier was submitted"
    )
    received_at: RecordTime | None = Field(
        None, alias="NgayTiepNhan", description="When the dossier was received"
    )
    components: list[DossierComponent] = Field(
        default_factory=list, alias="ThanhPhanHoSo", description="Dossier components"
    )
    submitter: Submitter | None = Field(
        None, alias="ThongTinNguoiNop", description="Who submits the dossier"
    )

    REQUIRED = ("code", "procedure_code", "receiving_unit", "submitter")
    RECOMMENDED = ("public_service_code", "owner_name", "applicant_kind", "components")


class ProgressUpdate(_Progress):
    """One processing step (an item of the CapNhatTienTrinh array).

    The wire spells the dossier id ``IDHoSo`` here and ``IdHoSo`` in CapNhatTrangThai; both are
    read, the documented one is written.
    """

    dossier_id: str | None = Field(
        None,
        validation_alias=AliasChoices("IDHoSo", "IdHoSo", "dossier_id"),
        serialization_alias="IDHoSo",
        description="The dossier's id in the portal",
    )

    RECOMMENDED = ("dossier_id", "handler", "handled_at", "content")


class StatusUpdate(WireModel):
    """A dossier's new status (an item of the CapNhatTrangThai array)."""

    dossier_id: str | None = Field(
        None,
        validation_alias=AliasChoices("IdHoSo", "IDHoSo", "dossier_id"),
        serialization_alias="IdHoSo",
        description="The dossier's id in the portal",
    )
    code: str | None = Field(None, alias="MaHoSo", description="Dossier code (mã hồ sơ)")
    status: StatusCode | None = Field(None, alias="TrangThai", description="New status, 1-10")

    REQUIRED = ("code", "status")
    RECOMMENDED = ("dossier_id",)
