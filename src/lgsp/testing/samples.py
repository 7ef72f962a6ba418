"""Sample payloads for demos, examples, tests and conformance runs: valid by construction.

Every builder returns a complete, strictly valid payload between the two demo agencies —
the Government Office (``000.00.00.G22``) and the People's Committee of Nghệ An
(``000.00.00.H41``) — and takes keyword overrides for what a caller wants different:

* :func:`document` — a new document with a PDF and a DOCX attachment made here;
* :func:`status` — a status package answering a document (01 received … 06 finished);
* :func:`revoke`, :func:`update`, :func:`replace` — the packages that revoke, update or
  replace an earlier document (BussinessDocType 1, 2, 3);
* :func:`dossier` / :func:`dossier_step` — a DongBoHoSoMC item and a CapNhatTienDoHoSoMC step;
* :func:`pdf_bytes` / :func:`docx_bytes` — small real files to attach or sign.

Names and addresses are fictitious; codes follow the standards' forms.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import uuid
import zipfile
from collections.abc import Sequence
from typing import Any

from lgsp.documents import (
    VIETNAM_TZ,
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusHeader,
    StatusPackage,
    TraceHeader,
)
from lgsp.dossiers import ApplicantKind, DossierProgressItem, DossierStatus, DossierSyncItem

__all__ = [
    "GOVERNMENT_OFFICE",
    "NGHE_AN",
    "document",
    "document_id",
    "docx_bytes",
    "dossier",
    "dossier_step",
    "organization",
    "pdf_bytes",
    "replace",
    "revoke",
    "status",
    "update",
]

GOVERNMENT_OFFICE = Organization(
    organ_id="000.00.00.G22",
    organization_in_charge="Văn phòng Chính phủ",
    organ_name="Văn phòng Chính phủ",
    organ_address="Số 1 Hoàng Hoa Thám, Quận Ba Đình, Hà Nội",
    email="vanthu@vpcp.example.gov.vn",
    telephone="024 3804 3100",
    website="vpcp.gov.vn",
)
NGHE_AN = Organization(
    organ_id="000.00.00.H41",
    organization_in_charge="UBND tỉnh Nghệ An",
    organ_name="Ủy ban nhân dân tỉnh Nghệ An",
    organ_address="Số 03 đường Trường Thi, thành phố Vinh, tỉnh Nghệ An",
    email="vanthu@nghean.example.gov.vn",
)


def organization(organ_id: str, name: str = "") -> Organization:
    """The organisation of ``organ_id`` as packages name it: the demo agencies in full
    (:data:`GOVERNMENT_OFFICE`, :data:`NGHE_AN`), any other code with the samples' contact
    details (a strict package needs them), named ``name`` (the code when empty)."""
    for known in (GOVERNMENT_OFFICE, NGHE_AN):
        if known.organ_id == organ_id and name in ("", known.organ_name):
            return known
    shown = name or organ_id
    return GOVERNMENT_OFFICE.model_copy(
        update={"organ_id": organ_id, "organ_name": shown, "organization_in_charge": shown}
    )


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in folded if ord(c) < 128)


def pdf_bytes(lines: Sequence[str] = ("Cong van so 1234/VPCP-TTDT",)) -> bytes:
    """A small valid one-page PDF with ``lines`` of text (accents folded: base-14 font)."""
    text = (
        "BT /F1 12 Tf 72 770 Td 16 TL "
        + " ".join(
            "("
            + _ascii(line).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            + ") Tj T*"
            for line in lines
        )
        + " ET"
    )
    stream = text.encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def docx_bytes(paragraphs: Sequence[str] = ("Phụ lục kèm theo công văn",)) -> bytes:
    """A minimal DOCX (a ZIP of WordprocessingML parts) holding ``paragraphs``."""
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    buffer = io.BytesIO()
    stamp = (2024, 5, 2, 8, 0, 0)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (
            (
                "[Content_Types].xml",
                (
                    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                    'openxmlformats.org/package/2006/content-types"><Default Extension="xml" '
                    'ContentType="application/xml"/></Types>'
                ),
            ),
            ("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships/>'),
            (
                "word/document.xml",
                '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
                'openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                + body
                + "</w:body></w:document>",
            ),
        ):
            archive.writestr(zipfile.ZipInfo(name, stamp), data)
    return buffer.getvalue()


def document_id(pkg: DocumentPackage) -> str:
    """The id others use to answer or revoke ``pkg`` (its header's DocumentId)."""
    return pkg.header.document_id or ""


def document(
    *,
    number: str = "1234",
    notation: str = "VPCP-TTĐT",
    date: dt.date | None = None,
    sender: Organization = GOVERNMENT_OFFICE,
    receivers: Sequence[Organization] = (NGHE_AN,),
    subject: str = "V/v triển khai kết nối, liên thông phần mềm quản lý văn bản",
    attachments: Sequence[Attachment] | None = None,
    business: Business | None = None,
    response_for: Sequence[ResponseFor] = (),
    **header: Any,
) -> DocumentPackage:
    """A strictly valid document package (a new document unless ``business`` says not)."""
    day = date or dt.date(2024, 5, 2)
    doc_id = f"{sender.organ_id},{day:%Y/%m/%d},{number}/{notation}"
    if attachments is None:
        attachments = [
            Attachment.from_bytes(
                f"Công văn {number}.pdf",
                pdf_bytes([f"Cong van so {number}/{notation}", subject]),
                content_id=f"cv-{number}-pdf",
                description=f"Công văn số {number}/{notation}",
            ),
            Attachment.from_bytes(
                "Phụ lục kèm theo.docx",
                docx_bytes(),
                content_id=f"cv-{number}-docx",
                description="Phụ lục kèm theo công văn",
            ),
        ]
    fields: dict[str, Any] = {
        "from_": sender,
        "to": list(receivers),
        "document_id": doc_id,
        "code": Code(number=number, notation=notation),
        "promulgation": PromulgationInfo(place="Hà Nội", date=day),
        "document_type": DocumentType(type=1, type_detail=0, type_name="Công văn"),
        "subject": subject,
        "content": "Đề nghị các đơn vị phối hợp thực hiện đúng tiến độ.",
        "signer": SignerInfo(
            competence="TL. THỦ TƯỚNG", position="Chánh Văn phòng", full_name="Trần Văn Sơn"
        ),
        "due_date": day + dt.timedelta(days=28),
        "other_info": OtherInfo(
            priority=1,
            sphere_of_promulgation="Liên thông văn bản quốc gia",
            typer_notation="TVC",
            promulgation_amount=2,
            page_amount=3,
            direction=False,
        ),
        "steering_type": 1,
        "to_places": ["UBND các tỉnh, thành phố"],
        "response_for": list(response_for),
    }
    fields.update(header)
    return DocumentPackage(
        header=DocumentHeader(**fields),
        traces=[
            TraceHeader(
                organ_id=sender.organ_id,
                timestamp=dt.datetime.combine(day, dt.time(8, 30), VIETNAM_TZ),
            )
        ],
        business=business
        or Business(
            doc_type=BusinessDocType.NEW,
            reason="Văn bản điện tử mới",
            paper=0,
            staff=StaffInfo(
                department="Phòng Hành chính – Văn thư",
                staff="Nguyễn Thị Ngọc Trâm",
                email="ngoctram@vpcp.example.gov.vn",
                mobile="0912000001",
            ),
        ),
        attachments=list(attachments),
    )


def _reference(original: DocumentPackage) -> ResponseFor:
    """How a later package names ``original`` (ResponseFor: organ, code, date, DocumentId)."""
    code = original.header.code
    return ResponseFor(
        organ_id=original.header.from_.organ_id,
        code=f"{code.number}/{code.notation}" if code else None,
        promulgation_date=original.header.promulgation.date
        if original.header.promulgation
        else None,
        document_id=document_id(original),
    )


def _follow_up(
    original: DocumentPackage,
    *,
    number: str | None,
    suffix: str,
    subject: str,
    business: Business,
    response_for: Sequence[ResponseFor] = (),
) -> DocumentPackage:
    """A package from ``original``'s sender to its receivers about it (a new number)."""
    code = original.header.code
    return document(
        number=number or f"{code.number if code and code.number else '1'}-{suffix}",
        notation=(code.notation if code else None) or suffix,
        sender=original.header.from_,
        receivers=original.header.to,
        subject=f"{subject} {original.header.subject or 'văn bản'}"[:500],
        business=business,
        response_for=response_for,
    )


def revoke(
    original: DocumentPackage,
    *,
    number: str | None = None,
    reason: str = "Thu hồi văn bản ban hành sai thể thức",
) -> DocumentPackage:
    """The package that revokes ``original`` (BussinessDocType 1, ResponseFor naming it)."""
    return _follow_up(
        original,
        number=number,
        suffix="TH",
        subject="V/v thu hồi",
        business=Business(
            doc_type=BusinessDocType.REVOKE,
            reason=reason,
            paper=0,
            document_id=document_id(original),
        ),
        response_for=[_reference(original)],
    )


def update(
    original: DocumentPackage,
    *,
    number: str | None = None,
    reason: str = "Cập nhật văn bản điện tử",
) -> DocumentPackage:
    """The package that updates ``original``'s information (BussinessDocType 2): its
    Bussiness/DocumentId names the original, as the VXP kit's ``edoc_update`` sample does;
    ``DocumentInfo`` 1 and ``DocumentReceiver`` 0 say the information changed, not the
    receivers (vn-contracts §1.4: the flags' meaning is not documented)."""
    return _follow_up(
        original,
        number=number,
        suffix="CN",
        subject="V/v cập nhật",
        business=Business(
            doc_type=BusinessDocType.UPDATE,
            reason=reason,
            paper=0,
            document_id=document_id(original),
            document_info=BusinessDocumentInfo(document_info=1, document_receiver=0),
        ),
    )


def replace(
    original: DocumentPackage,
    *,
    number: str | None = None,
    reason: str = "Văn bản thay thế",
) -> DocumentPackage:
    """The package that replaces ``original`` (BussinessDocType 3): one ReplacementInfo names
    it and the organs it went to, as the VXP kit's ``edoc_replacement`` sample does."""
    return _follow_up(
        original,
        number=number,
        suffix="TT",
        subject="V/v thay thế",
        business=Business(
            doc_type=BusinessDocType.REPLACE,
            reason=reason,
            paper=0,
            replacements=[
                ReplacementInfo(
                    document_id=document_id(original),
                    organ_ids=[o.organ_id for o in original.header.to if o.organ_id],
                )
            ],
        ),
    )


def status(
    original: DocumentPackage,
    code: str = "03",
    *,
    sender: Organization | None = None,
    description: str | None = None,
    at: dt.datetime | None = None,
) -> StatusPackage:
    """A status package from a receiver of ``original`` back to its sender."""
    from lgsp.documents import StatusCode

    by = sender or (original.header.to[0] if original.header.to else NGHE_AN)
    try:
        label = StatusCode(code).label
    except ValueError:
        label = f"Trạng thái {code}"
    return StatusPackage(
        header=StatusHeader(
            from_=by,
            response_for=_reference(original),
            staff=StaffInfo(
                department="Văn thư văn phòng",
                staff="Lê Thị Hồng Nhung",
                email="hongnhung@nghean.example.gov.vn",
                mobile="0912000002",
            ),
            code=code,
            description=description or label,
            timestamp=at or dt.datetime.now(VIETNAM_TZ).replace(microsecond=0),
        )
    )


def dossier(
    *,
    unit: str = "000.00.01.H41",
    code: str | None = None,
    status: DossierStatus = DossierStatus.RECEIVED,
    received_at: dt.datetime | None = None,
    **fields: Any,
) -> DossierSyncItem:
    """A DongBoHoSoMC item received today at ``unit`` (status 2 unless told)."""
    now = received_at or dt.datetime.now(VIETNAM_TZ).replace(microsecond=0)
    values: dict[str, Any] = {
        "code": code or f"{unit}-{now:%Y%m%d}-{uuid.uuid4().int % 10_000_000:07d}",
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "field_code": "G09-HT",
        "field_name": "Hộ tịch",
        "owner_name": "Nguyễn Văn An",
        "applicant_kind": ApplicantKind.CITIZEN,
        "applicant_id": "040099012345",
        "summary": "Đăng ký khai sinh cho con",
        "received_at": now,
        "due_at": now + dt.timedelta(days=3),
        "status": status,
        "delivery": 0,
        "processing_unit": "Bộ phận một cửa",
    }
    values.update(fields)
    return DossierSyncItem(**values)


def dossier_step(
    code: str,
    step_status: DossierStatus,
    *,
    at: dt.datetime,
    content: str | None = None,
    handler: str = "Trần Thị Bình",
) -> DossierProgressItem:
    """One CapNhatTienDoHoSoMC step of dossier ``code`` to ``step_status`` at ``at``."""
    return DossierProgressItem(
        code=code,
        handler=handler,
        handler_title="Chuyên viên",
        handled_at=at,
        department="Bộ phận một cửa",
        content=content or f"Chuyển trạng thái {int(step_status)}",
        status=step_status,
        started_at=at,
        due_at=at + dt.timedelta(days=3),
    )
