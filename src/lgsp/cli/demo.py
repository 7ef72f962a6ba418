"""``lgsp demo``: build, write, read back, validate and extract an edXML package.

The demo is the SDK's end-to-end check in a few seconds: a document package from the People's
Committee of Nghệ An (``000.00.00.H41``) to the Government Office (``000.00.00.G22``) with two
attachments it makes itself — a one-page PDF written by hand and a DOCX built with
:mod:`zipfile` — goes through the writer and the reader and must come back identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import tempfile
import textwrap
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lgsp.documents import (
    VIETNAM_TZ,
    Attachment,
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
    StatusPackage,
    TraceHeader,
    read_package,
    validate,
    write_package,
)
from lgsp.errors import LgspError, ValidationError
from lgsp.findings import has_errors

__all__ = ["DemoError", "build_package", "make_docx", "make_pdf", "run_demo"]

SENDER = "000.00.00.H41"
RECEIVER = "000.00.00.G22"
PDF_NAME = "CV-1234-UBND-KGVX.pdf"
DOCX_NAME = "Phụ lục kế hoạch triển khai.docx"
PACKAGE_NAME = "package.edxml"


class DemoError(Exception):
    """A demo step did not give the expected result."""


# attachments made by hand ---------------------------------------------------------------------
def _ascii(text: str) -> str:
    """Vietnamese text without diacritics (the standard PDF fonts have no Vietnamese glyphs)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and ord(c) < 128)


def _pdf_string(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("ascii") + b")"


def make_pdf(lines: Sequence[str]) -> bytes:
    """A valid one-page PDF 1.4 showing ``lines`` in Helvetica, with exact xref offsets.

    Text is reduced to ASCII; long lines are wrapped to fit an A4 page.
    """
    ops = [b"BT", b"/F1 11 Tf", b"14 TL", b"56 780 Td"]
    ops.extend(
        _pdf_string(part) + b" Tj T*"
        for line in lines
        for part in textwrap.wrap(_ascii(line), 88) or [""]
    )
    ops.append(b"ET")
    content = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def make_docx(paragraphs: Sequence[str]) -> bytes:
    """A minimal valid DOCX (three parts) with one paragraph per string; same bytes each time."""
    body = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{html.escape(p, quote=False)}</w:t></w:r></w:p>'
        for p in paragraphs
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:document xmlns:w="{_W_NS}"><w:body>{body}<w:sectPr/></w:body></w:document>'
    )
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _RELS),
            ("word/document.xml", document),
        ):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


# the package ----------------------------------------------------------------------------------
NUMBER = "1234"
NOTATION = "UBND-KGVX"
SUBJECT = (
    "V/v báo cáo kết quả triển khai kết nối, liên thông văn bản điện tử "
    "qua Trục liên thông văn bản quốc gia năm 2024"
)


def _letter(today: dt.date) -> list[str]:
    return [
        "UỶ BAN NHÂN DÂN TỈNH NGHỆ AN",
        f"Số: {NUMBER}/{NOTATION}",
        f"Nghệ An, ngày {today.day:02d} tháng {today.month:02d} năm {today.year}",
        "",
        SUBJECT,
        "",
        "Kính gửi: Văn phòng Chính phủ.",
        "",
        (
            "Thực hiện chỉ đạo của Thủ tướng Chính phủ về gửi, nhận văn bản điện tử giữa các cơ "
            "quan trong hệ thống hành chính nhà nước, Uỷ ban nhân dân tỉnh Nghệ An báo cáo kết "
            "quả triển khai như sau: 100% cơ quan cấp tỉnh và cấp huyện đã kết nối, liên thông "
            "văn bản điện tử qua Trục liên thông văn bản quốc gia."
        ),
        "",
        "KT. CHỦ TỊCH - PHÓ CHỦ TỊCH",
        "Trần Minh Đức",
    ]


def _annex() -> list[str]:
    return [
        "PHỤ LỤC: KẾ HOẠCH TRIỂN KHAI NĂM 2025",
        f"(Kèm theo Công văn số {NUMBER}/{NOTATION} của UBND tỉnh Nghệ An)",
        "1. Hoàn thiện kết nối Nền tảng chia sẻ, tích hợp dữ liệu cấp tỉnh (LGSP).",
        "2. Số hoá hồ sơ, kết quả giải quyết thủ tục hành chính.",
        "3. Tập huấn văn thư các cơ quan, đơn vị về văn bản điện tử.",
    ]


def build_package(pdf: Path, docx: Path, *, now: dt.datetime | None = None) -> DocumentPackage:
    """The demo's document package, attachments read from ``pdf`` and ``docx`` when written."""
    now = (now or dt.datetime.now(VIETNAM_TZ)).astimezone(VIETNAM_TZ).replace(microsecond=0)
    today = now.date()
    header = DocumentHeader(
        from_=Organization(
            organ_id=SENDER,
            organization_in_charge="Uỷ ban nhân dân tỉnh Nghệ An",
            organ_name="Văn phòng UBND tỉnh Nghệ An",
            organ_address="Số 03, đường Trường Thi, thành phố Vinh, tỉnh Nghệ An",
            email="nghean@gov.vn",
            telephone="0238 3840418",
            website="www.nghean.gov.vn",
        ),
        to=[
            Organization(
                organ_id=RECEIVER,
                organ_name="Văn phòng Chính phủ",
                organ_address="Số 1 Hoàng Hoa Thám, quận Ba Đình, Hà Nội",
                email="vpcp@gov.vn",
                website="vpcp.gov.vn",
            )
        ],
        document_id=f"{SENDER},{today:%Y/%m/%d},{NUMBER}/{NOTATION}",
        code=Code(number=NUMBER, notation=NOTATION),
        promulgation=PromulgationInfo(place="Nghệ An", date=today),
        document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
        subject=SUBJECT,
        content="Báo cáo kết quả kết nối, liên thông văn bản điện tử và kế hoạch năm 2025.",
        signer=SignerInfo(
            competence="KT. CHỦ TỊCH", position="Phó Chủ tịch", full_name="Trần Minh Đức"
        ),
        due_date=today + dt.timedelta(days=15),
        other_info=OtherInfo(
            priority=0,
            sphere_of_promulgation="Lưu hành nội bộ",
            typer_notation="TMĐ",
            promulgation_amount=2,
            page_amount=1,
            appendixes=["Phụ lục kế hoạch triển khai năm 2025"],
        ),
        to_places=["Văn phòng Chính phủ", "Lưu: VT, KGVX"],
    )
    return DocumentPackage(
        header=header,
        traces=[TraceHeader(organ_id=SENDER, timestamp=now)],
        business=Business(
            doc_type=BusinessDocType.NEW,
            reason="Gửi văn bản mới",
            paper=0,
            staff=StaffInfo(
                department="Văn thư Văn phòng UBND tỉnh",
                staff="Lê Thị Thu Hà",
                email="vanthu@nghean.gov.vn",
                mobile="0912000001",
            ),
        ),
        attachments=[
            Attachment.from_path(
                pdf, description="Công văn (bản PDF)", content_id=str(uuid.uuid4())
            ),
            Attachment.from_path(
                docx, description="Phụ lục kế hoạch", content_id=str(uuid.uuid4())
            ),
        ],
    )


# running the steps ----------------------------------------------------------------------------
@dataclass
class _Steps:
    console: Console
    count: int = 0

    def run(self, title: str, action: Callable[[], str]) -> None:
        """Run one step; print PASS with its detail, or FAIL with the reason and re-raise."""
        self.count += 1
        line = Text(f" {self.count}. {title:<12} ")
        try:
            detail = action()
        except (DemoError, LgspError, OSError) as exc:
            line.append("FAIL", style="bold red")
            line.append(f"  {_reason(exc)}")
            self.console.print(line, soft_wrap=True)
            raise
        line.append("PASS", style="bold green")
        line.append(f"  {detail}")
        self.console.print(line, soft_wrap=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{f.rule} at {f.location}: {f.message}" for f in exc.findings if f.severity == "error"
        ) or str(exc)
    return str(exc) or type(exc).__name__


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="lgsp-demo-") as tmp:
        yield Path(tmp)


def run_demo(console: Console, *, keep: Path | None = None) -> int:
    """Run the demo, printing each step; 0 when every step passed, 1 otherwise."""
    console.print(
        Text(
            "lgsp demo: build, write, read back, validate and extract an edXML package",
            style="bold",
        ),
        soft_wrap=True,
    )
    try:
        with _workdir(keep) as work:
            where = str(work) if keep else f"{work} (temporary; --keep DIR keeps the files)"
            console.print(Text(f"Working folder: {where}"), soft_wrap=True)
            _run_steps(console, work)
    except (DemoError, LgspError, OSError):
        console.print(Text("Result: FAILED", style="bold red"))
        return 1
    console.print(Text("Result: OK, the package made the round trip intact", style="bold green"))
    return 0


def _run_steps(console: Console, work: Path) -> None:  # noqa: PLR0915 - one linear story
    steps = _Steps(console)
    sources = work / "source"
    package_path = work / PACKAGE_NAME
    extracted = work / "extracted"
    originals: dict[str, bytes] = {}
    built: list[DocumentPackage] = []
    read: list[DocumentPackage] = []

    def make_attachments() -> str:
        sources.mkdir(parents=True, exist_ok=True)
        today = dt.datetime.now(VIETNAM_TZ).date()
        originals[PDF_NAME] = make_pdf(_letter(today))
        originals[DOCX_NAME] = make_docx(_annex())
        for name, data in originals.items():
            (sources / name).write_bytes(data)
        return ", ".join(f"{name} ({len(data)} bytes)" for name, data in originals.items())

    def build() -> str:
        pkg = build_package(sources / PDF_NAME, sources / DOCX_NAME)
        built.append(pkg)
        h = pkg.header
        return (
            f"{h.from_.organ_id} -> {h.to[0].organ_id}, {h.code}, {len(pkg.attachments)} "
            "attachments"
        )

    def write() -> str:
        write_package(built[0], package_path)
        return (
            f"{package_path.name}, {package_path.stat().st_size} bytes (strict rules "
            "checked before writing)"
        )

    def read_back() -> str:
        pkg = read_package(package_path)
        if isinstance(pkg, StatusPackage):
            raise DemoError("read back a status package instead of a document package")
        read.append(pkg)
        return (
            f"document package, {len(pkg.attachments)} attachments, {len(pkg.notes)} reader notes"
        )

    def check() -> str:
        findings = validate(read[0], profile="strict")
        counts = {
            s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")
        }
        if has_errors(findings):
            raise DemoError("; ".join(str(f) for f in findings if f.severity == "error"))
        return (
            f"profile strict: {counts['error']} errors, {counts['warning']} warnings, "
            f"{counts['info']} info"
        )

    def compare() -> str:
        before, after = built[0], read[0]
        for block, a, b in (
            ("header", before.header, after.header),
            ("business", before.business, after.business),
        ):
            if a is None or b is None or a.model_dump(mode="json") != b.model_dump(mode="json"):
                raise DemoError(f"the {block} changed on the way")
        if [t.model_dump(mode="json") for t in before.traces] != [
            t.model_dump(mode="json") for t in after.traces
        ]:
            raise DemoError("the traces changed on the way")
        names = [a.name for a in after.attachments]
        if sorted(names) != sorted(originals):
            raise DemoError(f"attachments {names} came back, expected {sorted(originals)}")
        for att in after.attachments:
            if att.sha256 != _sha256(originals[att.name]):
                raise DemoError(f"{att.name} came back with other bytes (SHA-256 differs)")
        return (
            f"header, trace and business identical; {len(names)}/{len(originals)} "
            "attachments byte-identical (SHA-256)"
        )

    def extract() -> str:
        for att in read[0].attachments:
            path = att.save(extracted)
            if path.parent.resolve() != extracted.resolve():
                raise DemoError(f"{att.name} was written outside {extracted}")
            if _file_sha256(path) != _sha256(originals[att.name]):
                raise DemoError(f"{path.name} on disk differs from the original")
        return f"{len(read[0].attachments)} files saved to {extracted.name}/, bytes identical"

    try:
        steps.run("Attachments", make_attachments)
        steps.run("Build", build)
        steps.run("Write", write)
        steps.run("Read back", read_back)
        steps.run("Validate", check)
        steps.run("Round trip", compare)
        steps.run("Extract", extract)
        table = Table(title="Attachments", title_justify="left", title_style="bold")
        table.add_column("Name")
        table.add_column("Bytes", justify="right")
        table.add_column("Wire", justify="right")
        table.add_column("SHA-256 (first 16)")
        for att in read[0].attachments:
            table.add_row(
                Text(att.name), Text(str(att.size)), Text(str(att.wire_size)), Text(att.sha256[:16])
            )
        console.print(table)
    finally:
        for pkg in (*built, *read):
            pkg.close()
