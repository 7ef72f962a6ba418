"""Shared fixtures: the corpus folder, a network guard, and builders of valid packages.

The builders return complete packages that pass ``validate(profile="strict")`` with no error
finding; tests change one thing at a time through keyword overrides.
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lgsp._xml import XMLLimits
from lgsp.documents import (
    VIETNAM_TZ,
    Attachment,
    Business,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusHeader,
    StatusPackage,
    TraceHeader,
)

CORPUS_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "edxml" / "vxp-sample-kit"

PDF_BYTES = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def docx_bytes() -> bytes:
    """A small multi-member ZIP shaped like a DOCX (an Office file is itself a ZIP)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document>Phụ lục kèm theo</w:document>',
        )
    return buf.getvalue()


DOCX_BYTES = docx_bytes()


# --------------------------------------------------------------------------------------------
# the two parse paths

PARSE_PATHS: dict[str, XMLLimits] = {
    # Everything up to 1 GiB parsed whole, in C.
    "in-memory": XMLLimits(in_memory_threshold=1 << 30),
    # Everything longer than one byte streamed through the SAX target (attachments to spools).
    "streaming": XMLLimits(in_memory_threshold=1),
}


@pytest.fixture(params=sorted(PARSE_PATHS))
def limits(request: pytest.FixtureRequest) -> XMLLimits:
    """Runs the test once per parse path; combine with ``dataclasses.replace`` for limits."""
    return PARSE_PATHS[request.param]


class ShortReads(io.RawIOBase):
    """A raw binary stream that hands out at most ``step`` bytes per read, as pipes and
    sockets do: every XML construct ends up cut across reads somewhere."""

    def __init__(self, data: bytes, step: int) -> None:
        self._inner = io.BytesIO(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._inner.read(min(len(buffer), self._step))
        buffer[: len(chunk)] = chunk
        return len(chunk)


# --------------------------------------------------------------------------------------------
# corpus


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The official VXP sample kit, read in place (never copied into the repository)."""
    if not CORPUS_DIR.is_dir() or not any(CORPUS_DIR.glob("*.edxml")):
        pytest.fail(
            f"the edXML corpus is missing: expected the VXP sample kit at {CORPUS_DIR} "
            "(shared/corpus/edxml/vxp-sample-kit next to the repository)",
            pytrace=False,
        )
    return CORPUS_DIR


# --------------------------------------------------------------------------------------------
# network guard

_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.ip_address("::1")


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return False  # AF_UNIX paths and anything else that is not an IP address
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host == "localhost"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return ip in _LOOPBACK_V4
    return ip == _LOOPBACK_V6


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests are offline: any connection outside 127.0.0.0/8 and ::1 is refused."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            raise OSError(f"network access is forbidden in tests (connect to {address!r})")
        real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_loopback(address):
            raise OSError(f"network access is forbidden in tests (connect to {address!r})")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


# --------------------------------------------------------------------------------------------
# package builders

_HEADER_FIELDS = frozenset(DocumentHeader.model_fields)
_STATUS_HEADER_FIELDS = frozenset(StatusHeader.model_fields)


def _split(
    overrides: dict[str, Any], model: type[Any], inner: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Overrides as (package fields, header fields, attributes set after construction)."""
    top: dict[str, Any] = {}
    header: dict[str, Any] = {}
    later: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in model.model_fields:
            top[key] = value
        elif key in inner:
            header[key] = value
        elif isinstance(getattr(model, key, None), property):
            later[key] = value  # e.g. signature_xml
        else:
            raise TypeError(f"unknown override {key!r}")
    return top, header, later


def build_package(**overrides: Any) -> DocumentPackage:
    """A complete, strictly valid document package (new document, two attachments).

    Overrides name a field of DocumentPackage (``business=…``, ``attachments=…``) or of its
    header (``subject=…``, ``to=…``).
    """
    top, header_over, later = _split(overrides, DocumentPackage, _HEADER_FIELDS)
    header: dict[str, Any] = {
        "from_": Organization(
            organ_id="000.00.00.G22",
            organization_in_charge="Văn phòng Chính phủ",
            organ_name="Văn phòng Chính phủ",
            organ_address="Số 1 Hoàng Hoa Thám, Quận Ba Đình, Hà Nội",
            email="vanthu@vpcp.example.gov.vn",
            telephone="024 3804 3100",
            fax="024 3804 3101",
            website="vpcp.gov.vn",
        ),
        "to": [
            Organization(
                organ_id="000.00.00.H41",
                organization_in_charge="UBND tỉnh Nghệ An",
                organ_name="Ủy ban nhân dân tỉnh Nghệ An",
                organ_address="Số 03 đường Trường Thi, thành phố Vinh, tỉnh Nghệ An",
                email="vanthu@nghean.example.gov.vn",
            )
        ],
        "document_id": "000.00.00.G22,2024/05/02,1234/VPCP-TTĐT",
        "code": Code(number="1234", notation="VPCP-TTĐT"),
        "promulgation": PromulgationInfo(place="Hà Nội", date=dt.date(2024, 5, 2)),
        "document_type": DocumentType(type=1, type_detail=0, type_name="Công văn"),
        "subject": "V/v triển khai kết nối, liên thông phần mềm quản lý văn bản",
        "content": "Đề nghị các đơn vị phối hợp thực hiện đúng tiến độ.",
        "signer": SignerInfo(
            competence="TL. THỦ TƯỚNG", position="Chánh Văn phòng", full_name="Trần Văn Sơn"
        ),
        "due_date": dt.date(2024, 5, 30),
        "other_info": OtherInfo(
            priority=1,
            sphere_of_promulgation="Liên thông văn bản quốc gia",
            typer_notation="TVC",
            promulgation_amount=2,
            page_amount=3,
            direction=False,
            appendixes=["Phụ lục I: Danh sách đơn vị"],
        ),
        "steering_type": 1,
        "to_places": ["Các bộ, cơ quan ngang bộ", "UBND các tỉnh, thành phố"],
    }
    header.update(header_over)
    fields: dict[str, Any] = {
        "header": DocumentHeader(**header),
        "traces": [
            TraceHeader(
                organ_id="000.00.00.G22",
                timestamp=dt.datetime(2024, 5, 2, 8, 30, 15, tzinfo=VIETNAM_TZ),
            )
        ],
        "business": Business(
            doc_type=0,
            reason="Văn bản điện tử mới",
            paper=0,
            staff=StaffInfo(
                department="Phòng Hành chính – Văn thư",
                staff="Nguyễn Thị Ngọc Trâm",
                email="ngoctram@vpcp.example.gov.vn",
                mobile="0912000001",
            ),
        ),
        "attachments": [
            Attachment.from_bytes(
                "Công văn 1234-VPCP.pdf",
                PDF_BYTES,
                content_id="cv-1234-pdf",
                description="Công văn số 1234/VPCP-TTĐT",
            ),
            Attachment.from_bytes(
                "Phụ lục kèm theo.docx",
                DOCX_BYTES,
                content_id="cv-1234-docx",
                description="Phụ lục kèm theo công văn",
            ),
        ],
    }
    fields.update(top)
    pkg = DocumentPackage(**fields)
    for key, value in later.items():
        setattr(pkg, key, value)
    return pkg


def build_status(**overrides: Any) -> StatusPackage:
    """A complete, strictly valid status package (code 03, accepted)."""
    top, header_over, later = _split(overrides, StatusPackage, _STATUS_HEADER_FIELDS)
    header: dict[str, Any] = {
        "from_": Organization(
            organ_id="000.00.00.H41",
            organization_in_charge="UBND tỉnh Nghệ An",
            organ_name="Ủy ban nhân dân tỉnh Nghệ An",
            organ_address="Số 03 đường Trường Thi, thành phố Vinh, tỉnh Nghệ An",
            email="vanthu@nghean.example.gov.vn",
        ),
        "response_for": ResponseFor(
            organ_id="000.00.00.G22",
            code="1234/VPCP-TTĐT",
            promulgation_date=dt.date(2024, 5, 2),
            document_id="000.00.00.G22,2024/05/02,1234/VPCP-TTĐT",
        ),
        "staff": StaffInfo(
            department="Văn thư văn phòng",
            staff="Lê Thị Hồng Nhung",
            email="hongnhung@nghean.example.gov.vn",
            mobile="0912000002",
        ),
        "code": "03",
        "description": "Tiếp nhận văn bản điện tử, vào sổ văn bản đến",
        "timestamp": dt.datetime(2024, 5, 2, 9, 15, 0, tzinfo=VIETNAM_TZ),
    }
    header.update(header_over)
    fields: dict[str, Any] = {"header": StatusHeader(**header)}
    fields.update(top)
    pkg = StatusPackage(**fields)
    for key, value in later.items():
        setattr(pkg, key, value)
    return pkg


MakePackage = Callable[..., DocumentPackage]
MakeStatus = Callable[..., StatusPackage]


@pytest.fixture(scope="session")
def make_package() -> MakePackage:
    """Factory: ``make_package(**overrides)`` → a fresh, strictly valid DocumentPackage."""
    return build_package


@pytest.fixture(scope="session")
def make_status() -> MakeStatus:
    """Factory: ``make_status(**overrides)`` → a fresh, strictly valid StatusPackage."""
    return build_status
