"""Inputs of the edXML benchmarks, built afresh in a temporary directory on every run.

* a header-only document package built in code: Vietnamese text, a sender and two receiving
  organisations, a trace, a business block (a new document), no attachment;
* the official VXP kit's ``edoc_update.edxml`` with its attachment removed, when the shared
  corpus is present (a real-world header: update block, legacy signature);
* a 10,000,000-byte PDF-like file (seeded, so every run has the same bytes): mostly
  incompressible image and font streams, as in a real scan, with compressible page-content
  streams and PDF structure around them — it deflates to about 86% of its size;
* that file as the one attachment of the same header, written with :func:`lgsp.write_package`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

import lgsp
from lgsp.documents import (
    VIETNAM_TZ,
    Business,
    BusinessDocType,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    SignerInfo,
    StaffInfo,
    TraceHeader,
)

ATTACHMENT_BYTES = 10_000_000
SEED = 20160102  # QCVN 102:2016
ATTACHMENT_NAME = "Công văn 3512-VPCP-KSTT.pdf"
ATTACHMENT_DESCRIPTION = "Công văn số 3512/VPCP-KSTT (bản scan có chữ ký số)"
# The shared corpus stands beside the clone (…/main and …/shared), as in CI.
CORPUS_FILE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "edxml"
    / "vxp-sample-kit"
    / "edoc_update.edxml"
)
EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def header_package() -> DocumentPackage:
    """A realistic header-only official letter (công văn) from the Government Office."""
    return DocumentPackage(
        header=DocumentHeader(
            from_=Organization(
                organ_id="000.00.00.G22",
                organization_in_charge="Văn phòng Chính phủ",
                organ_name="Văn phòng Chính phủ",
                organ_address="Số 1 Hoàng Hoa Thám, Quận Ba Đình, Hà Nội",
                email="vanthu@chinhphu.vn",
                telephone="02438043100",
                fax="02438044130",
                website="chinhphu.vn",
            ),
            to=[
                Organization(
                    organ_id="000.00.00.H41",
                    organization_in_charge="Ủy ban nhân dân tỉnh Nghệ An",
                    organ_name="UBND Tỉnh Nghệ An",
                    organ_address="Số 03 đường Trường Thi, Thành phố Vinh, Tỉnh Nghệ An",
                    email="vanthu@nghean.gov.vn",
                    telephone="02383840418",
                    website="nghean.gov.vn",
                ),
                Organization(
                    organ_id="000.00.00.H14",
                    organization_in_charge="Ủy ban nhân dân tỉnh Cao Bằng",
                    organ_name="UBND Tỉnh Cao Bằng",
                    organ_address="Số 011 Đường Hoàng Đình Giong, Thành phố Cao Bằng",
                    email="vanthu@caobang.gov.vn",
                    telephone="02063852139",
                    website="caobang.gov.vn",
                ),
            ],
            document_id="000.00.00.G22,2024/05/14,3512/VPCP-KSTT",
            code=Code(number="3512", notation="VPCP-KSTT"),
            promulgation=PromulgationInfo(place="Hà Nội", date=dt.date(2024, 5, 14)),
            document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
            subject=(
                "V/v đẩy mạnh kết nối, liên thông văn bản điện tử giữa các cơ quan hành chính "
                "nhà nước qua Trục liên thông văn bản quốc gia"
            ),
            content=(
                "Thực hiện chỉ đạo của Thủ tướng Chính phủ, Văn phòng Chính phủ đề nghị Ủy ban "
                "nhân dân các tỉnh rà soát, hoàn thành việc kết nối hệ thống quản lý văn bản và "
                "điều hành với Trục liên thông văn bản quốc gia trước ngày 30 tháng 6 năm 2024."
            ),
            signer=SignerInfo(
                competence="KT. BỘ TRƯỞNG, CHỦ NHIỆM",
                position="Phó Chủ nhiệm",
                full_name="Nguyễn Sỹ Hiệp",
            ),
            due_date=dt.date(2024, 6, 30),
            other_info=OtherInfo(
                priority=1,
                sphere_of_promulgation="Bộ, ngành, địa phương",
                typer_notation="KSTT",
                promulgation_amount=2,
                page_amount=3,
                direction=False,
                appendixes=["Phụ lục I: Danh mục hệ thống cần kết nối"],
            ),
            steering_type=1,
            to_places=["Như trên", "Thủ tướng Chính phủ (để b/c)", "Lưu: VT, KSTT (2)"],
        ),
        traces=[
            TraceHeader(
                organ_id="000.00.00.G22",
                timestamp=dt.datetime(2024, 5, 14, 9, 30, 12, tzinfo=VIETNAM_TZ),
            )
        ],
        business=Business(
            doc_type=BusinessDocType.NEW,
            paper=0,
            staff=StaffInfo(
                department="Phòng Hành chính - Văn thư",
                staff="Trần Thị Thu Hà",
                email="ttha@chinhphu.vn",
                mobile="0912345678",
            ),
        ),
    )


def corpus_header_bytes(path: Path = CORPUS_FILE) -> bytes | None:
    """The kit's ``edoc_update.edxml`` with its attachment (and manifest entry) removed."""
    if not path.is_file():
        return None
    root = etree.fromstring(path.read_bytes())
    for tag in ("AttachmentEncoded", "Reference"):
        for el in root.iter(f"{{{EDXML_NS}}}{tag}"):
            if tag == "AttachmentEncoded":
                for child in list(el):
                    el.remove(child)
            elif el.getparent() is not None and el.getparent().tag.endswith("edXMLManifest"):
                el.getparent().remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


_SENTENCE = (
    "Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015; Nghị định số 30/2020/NĐ-CP về "
    "công tác văn thư; xét đề nghị của Bộ trưởng, Chủ nhiệm Văn phòng Chính phủ, Ủy ban nhân "
    "dân tỉnh có trách nhiệm tổ chức triển khai thực hiện, báo cáo kết quả trước ngày quy định"
)
_WORDS = _SENTENCE.split()


def _page_stream(rng: random.Random, number: int) -> bytes:
    """An uncompressed page-content stream: text operators around Vietnamese sentences."""
    lines = [b"BT", b"/F1 13 Tf", b"1 0 0 1 72 770 Tm", b"15 TL"]
    for _ in range(rng.randint(30, 60)):
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16)))
        lines.append(b"(" + sentence.encode("utf-8") + b") Tj T*")
    lines.append(b"ET")
    body = b"\n".join(lines)
    head = b"%d 0 obj\n<< /Length %d >>\nstream\n" % (number, len(body))
    return head + body + b"\nendstream\nendobj\n"


def _binary_stream(rng: random.Random, number: int) -> bytes:
    """An already-compressed stream (a scanned page image or an embedded font)."""
    size = rng.randint(40_000, 160_000)
    if rng.random() < 0.8:
        head = (
            b"%d 0 obj\n<< /Type /XObject /Subtype /Image /Width 2480 /Height 3508 "
            b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\n"
            b"stream\n" % (number, size)
        )
    else:
        head = b"%d 0 obj\n<< /Filter /FlateDecode /Length1 %d /Length %d >>\nstream\n" % (
            number,
            size * 2,
            size,
        )
    return head + rng.randbytes(size) + b"\nendstream\nendobj\n"


def pdf_like_bytes(size: int = ATTACHMENT_BYTES, seed: int = SEED) -> bytes:
    """Exactly ``size`` bytes shaped like a PDF, partly compressible, the same on every run."""
    rng = random.Random(seed)
    parts = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
    offsets: list[int] = []
    used = len(parts[0])
    reserve = 64_000  # room for the cross-reference table and the trailer
    number = 1
    while True:
        obj = (_binary_stream if rng.random() < 0.15 else _page_stream)(rng, number)
        if used + len(obj) > size - reserve:
            break
        offsets.append(used)
        parts.append(obj)
        used += len(obj)
        number += 1
    xref = [b"xref", b"0 %d" % (len(offsets) + 1), b"0000000000 65535 f "]
    xref += [b"%010d 00000 n " % off for off in offsets]
    tail_len = len(b"\n".join(xref)) + 100
    pad = size - used - tail_len
    parts.append(b"%" + b" " * (pad - 2) + b"\n")  # a comment line: whitespace padding
    start = used + pad
    tail = b"\n".join(xref) + b"\ntrailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF" % (
        len(offsets) + 1,
        start,
    )
    tail = tail.ljust(tail_len - 1) + b"\n"
    parts.append(tail)
    data = b"".join(parts)
    if len(data) != size:  # pragma: no cover - arithmetic above is exact
        raise AssertionError(f"built {len(data)} bytes, wanted {size}")
    return data


@dataclass(slots=True)
class Inputs:
    """Everything the edXML cases read, with paths inside the run's temporary directory."""

    workdir: Path
    header_pkg: DocumentPackage
    header_bytes: bytes
    corpus_bytes: bytes | None
    attachment_path: Path
    attachment_sha256: str
    big_path: Path
    big_bytes_len: int
    zip_len: int


def build(workdir: Path) -> Inputs:
    """Build every input under ``workdir``."""
    pkg = header_package()
    header_bytes = lgsp.package_to_bytes(pkg)
    blob = pdf_like_bytes()
    attachment = workdir / "QD-3512-VPCP-KSTT.pdf"
    attachment.write_bytes(blob)
    big_path = workdir / "document-10MB.edxml"
    lgsp.write_package(big_package_from(attachment), big_path)
    with lgsp.read_package(big_path) as read_back:
        zip_len = read_back.attachments[0].wire_size or 0
    return Inputs(
        workdir=workdir,
        header_pkg=pkg,
        header_bytes=header_bytes,
        corpus_bytes=corpus_header_bytes(),
        attachment_path=attachment,
        attachment_sha256=hashlib.sha256(blob).hexdigest(),
        big_path=big_path,
        big_bytes_len=big_path.stat().st_size,
        zip_len=zip_len,
    )


def big_package_from(attachment: Path) -> DocumentPackage:
    """The 10 MB package as built in code; the attachment is read from its path when written."""
    pkg = header_package()
    pkg.attachments = [
        lgsp.Attachment.from_path(
            attachment,
            name=ATTACHMENT_NAME,
            description=ATTACHMENT_DESCRIPTION,
            content_id="3512-vpcp-kstt",
        )
    ]
    return pkg


def big_package(inputs: Inputs) -> DocumentPackage:
    """:func:`big_package_from` the run's attachment."""
    return big_package_from(inputs.attachment_path)
