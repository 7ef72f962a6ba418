"""Every file of the official VXP sample kit has a decided, tested outcome.

The kit (shared/corpus/edxml/vxp-sample-kit) is real traffic with warts; README.md next to it
lists them. Each file here is either read (and its kind, key values, attachments and error
findings under both profiles are pinned, each with the reason in the file) or refused with a
specific error. Every readable file is read on both parse paths (whole in C, and streamed)
and from bytes, a path, XML text and a binary file object, and must give the same model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lgsp
from conftest import CORPUS_DIR, PARSE_PATHS, ShortReads
from lgsp import DocumentPackage, HostileXMLError, StatusPackage, XMLError
from lgsp._xml import XMLLimits
from lgsp.documents import VIETNAM_TZ, validate

KIT_FILES = sorted(p.name for p in CORPUS_DIR.glob("*.edxml")) if CORPUS_DIR.is_dir() else []
REFUSED = "edoc_new.edxml"
READABLE = [name for name in KIT_FILES if name != REFUSED]

# The attachment of edoc_revocation / _update / _replacement: Base64 of a one-member ZIP whose
# member is itself an edXML file (388 347 bytes), labelled application/zip, named as a .doc.
KIT_ATTACHMENT_SHA256 = "8385739ec4a4ed36d71eabcaead629641ffc5ffff3d487ff5c34d2f821c9f36e"
KIT_ATTACHMENT_SIZE = 388_347
KIT_ATTACHMENT_NAME = "1896_QD-TTg_m_294779.doc"
KIT_SUBJECT = "V/v kết nối, liên thông phần mềm quản lý văn bản"
KIT_RECEIVERS = ["000.00.00.H41", "000.00.00.H14", "000.00.00.G17"]


@dataclasses.dataclass(frozen=True)
class Expected:
    """The decided outcome of one readable kit file."""

    kind: type[DocumentPackage] | type[StatusPackage]
    values: dict[str, Any]
    """Dotted attribute paths of the package → expected value."""
    lenient_errors: frozenset[str]
    strict_errors: frozenset[str]
    check: Callable[[Any], None] | None = None
    """Further assertions on the read package (attachments, notes)."""


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _check_edoc(pkg: DocumentPackage) -> None:
    # Two undeclared prefixes: xlink: on the manifest Reference, edXML: on AttachmentEncoded
    # and its children (outside the envelope that declares edXML). Both tolerated with notes.
    prefix_notes = [n for n in pkg.notes if n.rule == "read.undeclared_prefix"]
    # xlink:href is on line 116, the first undeclared edXML: element on line 125.
    assert any("xlink" in n.message and n.location == "line 116" for n in prefix_notes), pkg.notes
    assert any("edXML" in n.message and n.location == "line 125" for n in prefix_notes), pkg.notes
    # The manifest still matches the attachment read from the un-declared edXML: elements.
    assert [m.attachment_name for m in pkg.manifest] == ["GUIDE_INSTALL OPENVPN.SIGNED.PDF"]
    (att,) = pkg.attachments
    assert att.content_id == "36b8a92e-f054-11e7-842b-005056b672fc"
    assert att.name == "GUIDE_INSTALL OPENVPN.SIGNED.PDF"
    assert att.wire_content_type == "application/pdf"
    # The body is the JMeter placeholder ${__StringFromFile(test.txt,,,)}: not Base64.
    assert att.encoding == "raw"
    assert att.problem is not None
    assert "base64" in att.problem.lower()
    with pytest.raises(lgsp.AttachmentError):
        att.read_bytes()


def _check_kit_attachment(member: str) -> Callable[[DocumentPackage], None]:
    def check(pkg: DocumentPackage) -> None:
        (att,) = pkg.attachments
        assert att.content_id == "209"  # "cid:209" on the wire, compared without cid:
        assert att.name == KIT_ATTACHMENT_NAME
        assert att.description == KIT_ATTACHMENT_NAME
        assert att.wire_content_type == "application/zip"
        assert att.encoding == "zip"
        assert att.problem is None
        assert att.zip_member == member
        assert att.size == KIT_ATTACHMENT_SIZE
        assert att.sha256 == KIT_ATTACHMENT_SHA256
        data = att.read_bytes()
        assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\r\n<edXML')
        assert data.endswith(b"</edXML>\r\n")
        # The legacy Signature (no XML-DSig namespace) is kept and noted.
        assert pkg.signature_xml is not None
        assert "SignatureValue" in pkg.signature_xml
        assert "read.signature" in {n.rule for n in pkg.notes}

    return check


def _status(code: str, description: str, **values: Any) -> Expected:
    base: dict[str, Any] = {
        "header.code": code,
        "header.status": lgsp.StatusCode(code),
        "header.description": description,
        "header.from_.organ_id": "000.00.00.H41",
        "header.from_.organ_name": "UBND Tỉnh Nghệ An",
        "header.response_for.organ_id": "000.00.00.G22",
        "header.response_for.code": "7816/VPCP-TTĐT",
        "header.response_for.document_id": "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
        "header.response_for.promulgation_date": dt.date(2015, 9, 30),
        "header.staff.staff": "Nguyen thi ngoc tram",
        "header.staff.mobile": "84912000001",
        "header.timestamp": dt.datetime(2015, 9, 20, 11, 8, 36, tzinfo=VIETNAM_TZ),
    }
    base.update(values)
    return Expected(
        kind=StatusPackage,
        values=base,
        lenient_errors=frozenset(),
        # xml.schema: these nine samples write From as OrganId, OrganName, OrganizationInCharge
        # and StaffInfo with Mobile before Email; the library order (our XSD) is
        # OrganizationInCharge before OrganName, Email before Mobile. Nothing else is wrong.
        strict_errors=frozenset({"xml.schema"}),
    )


EXPECTED: dict[str, Expected] = {
    "edoc.edxml": Expected(
        kind=DocumentPackage,
        values={
            "header.subject": "Văn bản liên thông chỉ đạo - 190701",
            "header.from_.organ_id": "002.00.20.H13",
            "header.to.0.organ_id": "000.00.15.H51",
            "header.document_id": "9fbfbad2-f1f8-4256-a2eb-50fb1061cddb",
            "header.code.number": "12234555512",
            "header.code.notation": "PRO-TEST-CASE1",
            "header.promulgation.date": dt.date(2019, 1, 17),
            "header.document_type.type_name": "Thông tư",
            "header.due_date": dt.date(2018, 6, 25),
            "header.to_places": ["Các bộ"],
            "header.other_info.appendixes": ["Phụ lục"],
            # The one ResponseFor has only empty children: ignored (read.empty_block note).
            "header.response_for": [],
            "traces.0.organ_id": "01.02.G22",
            "traces.0.timestamp": dt.datetime(2018, 6, 20, 16, 35, 56, tzinfo=VIETNAM_TZ),
            # TraceHeaderList has no Bussiness block at all.
            "business": None,
        },
        # attachment.content: the Base64 body is a JMeter placeholder (error in both profiles).
        lenient_errors=frozenset({"attachment.content"}),
        strict_errors=frozenset(
            {
                "attachment.content",
                # MessageHeader puts Code before DocumentId (DocumentId comes last), and the
                # manifest Reference has AttachmentName before Description and no ContentType.
                "xml.schema",
                # No Bussiness block in TraceHeaderList.
                "business.missing",
                # TraceHeader OrganId 01.02.G22 has 9 characters, not the 13 of QCVN 102.
                "organ_id.format",
                # xlink:href and edXML:AttachmentEncoded… use prefixes never declared there.
                # (Read as the xlink namespace and as QCVN 102, the URI the document itself
                # gives edXML elsewhere: that is the only namespace fault, reported once.)
                "read.undeclared_prefix",
            }
        ),
        check=_check_edoc,
    ),
    "edoc_revocation.edxml": Expected(
        kind=DocumentPackage,
        values={
            "header.subject": KIT_SUBJECT,
            "header.from_.organ_id": "000.00.00.G22",
            "header.from_.organ_name": "Văn phòng Chính phủ",
            "header.document_id": "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
            "header.code.number": "7816",
            "header.code.notation": "VPCP-TTĐT",
            "header.other_info.direction": False,
            "business.doc_type": 1,
            "business.kind": lgsp.BusinessDocType.REVOKE,
            "business.reason": "Thu hồi văn bản điện tử",
            "business.staff.staff": "Nguyễn Thị Ngọc Trâm",
            # The revoked document, named by ResponseFor.
            "header.response_for.0.organ_id": "000.00.00.H14",
            "header.response_for.0.code": "267/VPCP-TTĐT",
            "header.response_for.0.document_id": "000.00.04.G14,2012/08/06,267/VPCP-TTĐT",
            "header.response_for.0.promulgation_date": dt.date(2018, 9, 28),
        },
        lenient_errors=frozenset(),
        # ResponseFor writes DocumentId before PromulgationDate; the library order is the
        # reverse. The revoke names its target, so business.revoke.target does not fire.
        strict_errors=frozenset({"xml.schema"}),
        check=_check_kit_attachment("a3661564-bcbb-4406-a6a9-ceddbc8f4e17.edxml"),
    ),
    "edoc_update.edxml": Expected(
        kind=DocumentPackage,
        values={
            "header.subject": KIT_SUBJECT,
            "header.from_.organ_id": "000.00.00.G22",
            "business.doc_type": 2,
            "business.kind": lgsp.BusinessDocType.UPDATE,
            "business.reason": "Cập nhật văn bản điện tử",
            "business.document_id": "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT",
            "business.document_info.document_info": 1,
            "business.document_info.document_receiver": 1,
            "business.document_info.receivers.0.organ_id": "000.00.00.H41",
            "business.document_info.receivers.0.receiver_type": 0,
            "business.document_info.receivers.1.organ_id": "000.00.00.H14",
            "business.document_info.receivers.1.receiver_type": 1,
        },
        lenient_errors=frozenset(),
        # Valid against the XSD, 13-character organ codes throughout: nothing to report.
        strict_errors=frozenset(),
        check=_check_kit_attachment("3ed3cc90-1dcb-4382-9725-1de9cd899790.edxml"),
    ),
    "edoc_replacement.edxml": Expected(
        kind=DocumentPackage,
        values={
            "header.subject": KIT_SUBJECT,
            "header.from_.organ_id": "000.00.00.G22",
            "business.doc_type": 3,
            "business.kind": lgsp.BusinessDocType.REPLACE,
            "business.reason": "Văn bản thay thế",
            "business.replacements.0.document_id": "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT",
            "business.replacements.0.organ_ids": ["000.00.00.H41", "000.00.00.H14"],
            "business.replacements.1.organ_ids": ["000.00.00.H41", "000.00.00.H14"],
        },
        lenient_errors=frozenset(),
        # Valid against the XSD, 13-character organ codes throughout: nothing to report.
        strict_errors=frozenset(),
        check=_check_kit_attachment("30d190ec-60e3-41b6-bda7-50b17d98b35d.edxml"),
    ),
    "status.edxml": Expected(
        kind=StatusPackage,
        values={
            "header.code": "01",
            "header.status": lgsp.StatusCode.RECEIVED,
            "header.description": (
                "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến - "
                "Phần mềm QLVB đã nhận nhưng văn thư chưa xử lý"
            ),
            "header.from_.organ_id": "000.00.00.H41",
            "header.response_for.document_id": "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
            "header.response_for.promulgation_date": dt.date(2018, 9, 28),
            "header.staff.staff": "Nguyễn Thị Ngọc Trâm",
            "header.timestamp": dt.datetime(2018, 9, 28, 17, 25, 11, tzinfo=VIETNAM_TZ),
        },
        lenient_errors=frozenset(),
        # ResponseFor writes DocumentId before PromulgationDate (From and StaffInfo are in
        # the library order in this one).
        strict_errors=frozenset({"xml.schema"}),
    ),
    "status_inbox_01.edxml": _status(
        "01",
        "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến - Phần mềm QLVB đã nhận nhưng văn thư chưa "
        "xử lý",
    ),
    "status_rejection_02.edxml": _status(
        "02", "Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận văn bản điện tử"
    ),
    "status_acceptance_03.edxml": _status(
        "03",
        "Văn thư cơ - Phòng Văn thư - Lưu trữ: Tiếp nhận văn bản điện tử, vào sổ văn bản đến "
        "của đơn vị",
    ),
    "status_assignment_04.edxml": _status("04", "Lãnh đạo: Phân công xử lý"),
    "status_processing_05.edxml": _status("05", "Đang xử lý văn bản đến"),
    "status_finish_06.edxml": _status("06", "Văn thư: Ban hành văn bản đến, hoàn thành xử lý"),
    "status_cancellation_13.edxml": _status(
        "13",
        "Văn thư yêu cầu lấy lại văn bản điện tử kèm lý do",
        # The recall request goes the other way: from the sender to the receiver.
        **{
            "header.from_.organ_id": "000.00.00.G22",
            "header.from_.organ_name": "Văn phòng Chính phủ",
            "header.response_for.organ_id": "000.00.00.H41",
        },
    ),
    "status_change-acceptance_15.edxml": _status("15", "Văn thư đồng ý yêu cầu cập nhật, lấy lại"),
    "status_change-rejection_16.edxml": _status("16", "Văn thư từ chối yêu cầu cập nhật, lấy lại"),
}


def _errors(pkg: DocumentPackage | StatusPackage, profile: str) -> set[str]:
    return {f.rule for f in validate(pkg, profile=profile) if f.severity == "error"}  # type: ignore[arg-type]


def _snapshot(pkg: DocumentPackage | StatusPackage) -> tuple[Any, ...]:
    """Everything a reader hands out: the model, the notes, and each attachment's bytes."""
    attachments = []
    for att in getattr(pkg, "attachments", []):
        data = None if att.problem is not None else att.read_bytes()
        attachments.append((att.model_dump(), data))
    notes = sorted((n.rule, n.severity, n.location, n.message) for n in pkg.notes)
    model = pkg.model_dump()
    model["signature_xml"] = pkg.signature_xml  # kept verbatim for the signature layer
    return type(pkg).__name__, model, attachments, notes


# --------------------------------------------------------------------------------------------


def test_kit_is_complete(corpus_dir: Path) -> None:
    """Every file of the kit has a decided outcome here, and the kit is what README lists."""
    names = sorted(p.name for p in corpus_dir.iterdir() if p.suffix == ".edxml")
    assert len(names) == 15
    assert set(names) == set(EXPECTED) | {REFUSED}


@pytest.mark.parametrize("name", READABLE)
def test_kit_file_outcome(corpus_dir: Path, limits: XMLLimits, name: str) -> None:
    expected = EXPECTED[name]
    with lgsp.read_package(corpus_dir / name, limits=limits) as pkg:
        assert type(pkg) is expected.kind
        for dotted, value in expected.values.items():
            assert _get(pkg, dotted) == value, dotted
        if isinstance(pkg, DocumentPackage) and name != "edoc.edxml":
            assert [t.organ_id for t in pkg.header.to] == KIT_RECEIVERS
        if expected.check is not None:
            expected.check(pkg)
        assert _errors(pkg, "lenient") == set(expected.lenient_errors)
        assert _errors(pkg, "strict") == set(expected.strict_errors)


def test_edoc_due_date_before_promulgation_is_a_warning(corpus_dir: Path) -> None:
    """edoc.edxml is due 2018/06/25 but promulgated 2019/01/17: a warning, not an error."""
    pkg = lgsp.read_package(corpus_dir / "edoc.edxml")
    found = [f for f in validate(pkg, profile="strict") if f.rule == "date.order"]
    assert [f.severity for f in found] == ["warning"]
    assert "2018-06-25" in found[0].message


def test_edoc_empty_response_for_is_noted(corpus_dir: Path) -> None:
    pkg = lgsp.read_package(corpus_dir / "edoc.edxml")
    assert any(n.rule == "read.empty_block" and "ResponseFor" in n.location for n in pkg.notes), (
        pkg.notes
    )


def test_read_document_and_read_status_agree_with_kind(corpus_dir: Path) -> None:
    for name in READABLE:
        if EXPECTED[name].kind is DocumentPackage:
            assert isinstance(lgsp.read_document(corpus_dir / name), DocumentPackage)
            with pytest.raises(lgsp.PackageError, match="document package"):
                lgsp.read_status(corpus_dir / name)
        else:
            assert isinstance(lgsp.read_status(corpus_dir / name), StatusPackage)
            with pytest.raises(lgsp.PackageError, match="status package"):
                lgsp.read_document(corpus_dir / name)


def test_edoc_new_is_refused_at_line_1_column_1(corpus_dir: Path, limits: XMLLimits) -> None:
    """Four bytes ("1212") stand before the XML declaration: not XML, refused with a cause."""
    with pytest.raises(XMLError) as info:
        lgsp.read_package(corpus_dir / REFUSED, limits=limits)
    exc = info.value
    assert not isinstance(exc, HostileXMLError)
    assert (exc.line, exc.column) == (1, 1)
    assert "1212" in exc.cause
    assert "before the XML declaration" in exc.cause
    assert str(corpus_dir / REFUSED) in str(exc)  # the path labels the error


def test_edoc_new_is_refused_from_every_source(corpus_dir: Path) -> None:
    data = (corpus_dir / REFUSED).read_bytes()
    for source in (data, io.BytesIO(data), str(corpus_dir / REFUSED)):
        with pytest.raises(XMLError) as info:
            lgsp.read_package(source)
        assert (info.value.line, info.value.column) == (1, 1)
        assert "1212" in info.value.cause


@pytest.mark.parametrize("name", READABLE)
def test_every_source_gives_the_same_model(corpus_dir: Path, name: str) -> None:
    """Bytes, a Path, a str path, XML text and a binary file object read the same."""
    path = corpus_dir / name
    data = path.read_bytes()
    sources: dict[str, Callable[[], Any]] = {
        "bytes": lambda: data,
        "bytearray": lambda: bytearray(data),
        "Path": lambda: path,
        "str path": lambda: str(path),
        "XML text": lambda: data.decode("utf-8"),
        "file object": lambda: io.BytesIO(data),
    }
    reference = _snapshot(lgsp.read_package(data, name=name))
    for label, make in sources.items():
        got = _snapshot(lgsp.read_package(make(), name=name))
        assert got == reference, label


def test_open_file_handle_reads_like_bytes(corpus_dir: Path) -> None:
    path = corpus_dir / "edoc_update.edxml"
    with path.open("rb") as fh:
        from_file = _snapshot(lgsp.read_package(fh))
    assert from_file == _snapshot(lgsp.read_package(path.read_bytes()))


@pytest.mark.parametrize("name", READABLE)
def test_both_parse_paths_give_the_same_model(corpus_dir: Path, name: str) -> None:
    """Parsed whole in C or streamed through the SAX target: the same model, notes and bytes."""
    data = (corpus_dir / name).read_bytes()
    whole = _snapshot(lgsp.read_package(data, limits=PARSE_PATHS["in-memory"]))
    streamed = _snapshot(lgsp.read_package(data, limits=PARSE_PATHS["streaming"]))
    assert streamed[0] == whole[0]
    assert streamed[1] == whole[1]  # the model, signature_xml included
    assert streamed[2] == whole[2]  # attachment metadata and bytes
    assert streamed[3] == whole[3]  # notes


@pytest.mark.parametrize("name", [n for n in READABLE if n.startswith("edoc_")])
def test_streamed_attachment_spills_and_reads_back(corpus_dir: Path, name: str) -> None:
    """With a tiny spool the attachment goes to a temporary file; bytes are unchanged."""
    limits = XMLLimits(in_memory_threshold=1, spool_memory=1024)
    with lgsp.read_document(corpus_dir / name, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.sha256 == KIT_ATTACHMENT_SHA256
        with att.open() as first, att.open() as second:
            # Two independent streams over one spool.
            head = first.read(100)
            assert second.read(100) == head
            assert first.read() == second.read()


@pytest.mark.parametrize("step", [2, 61, 4093])
@pytest.mark.parametrize("name", ["edoc.edxml", "edoc_update.edxml", "status.edxml"])
def test_short_reads_give_the_same_model(
    corpus_dir: Path, limits: XMLLimits, name: str, step: int
) -> None:
    """A file object may return fewer bytes than asked (a pipe, a socket, a raw stream): the
    package read from it is the one read from its bytes, with every construct cut somewhere."""
    data = (corpus_dir / name).read_bytes()
    expected = _snapshot(lgsp.read_package(data, limits=limits))
    assert _snapshot(lgsp.read_package(ShortReads(data, step), limits=limits)) == expected
