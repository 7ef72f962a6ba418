"""Write → read gives back the model: generated packages (hypothesis), the reference
packages, and every readable document of the official kit. The writer is deterministic, its
output is valid against the XSD, it zips attachments under the application/zip label with the
real file name kept, and a large attachment is read in bounded memory.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import unicodedata
import zipfile
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import lgsp
from conftest import CORPUS_DIR, PARSE_PATHS, PDF_BYTES, MakePackage, MakeStatus
from lgsp import DocumentPackage, StatusPackage
from lgsp._xml import XMLLimits
from lgsp.documents import (
    VIETNAM_TZ,
    Attachment,
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentHeader,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusHeader,
    TraceHeader,
    WriteOptions,
    validate,
)
from lgsp.documents.validation import load_schema

QCVN = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
Q = "{" + QCVN + "}"
NO_CHECK = WriteOptions(validate_first=False)
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
HYPOTHESIS = settings(
    max_examples=int(os.environ.get("LGSP_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------------------------
# strategies

VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "AĂÂĐÊÔƠƯÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ"
)
_chars = st.one_of(
    st.sampled_from(VIETNAMESE),
    st.sampled_from(" ,.-/:;()&<>\"'%#"),
    # Printable characters only: letters, marks, numbers, punctuation, symbols, spaces.
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs")),
)


def _form(text: str, nfd: bool) -> str:
    return unicodedata.normalize("NFD", text) if nfd else text


# QCVN text is trimmed: no leading or trailing whitespace, no control characters.
text = (
    st.tuples(st.text(_chars, min_size=1, max_size=30), st.booleans())
    .map(lambda pair: _form(*pair))
    .filter(lambda s: s == s.strip() and s != "")
)
dates = st.dates(min_value=dt.date(1945, 9, 2), max_value=dt.date(2099, 12, 31))
timestamps = st.datetimes(  # naive bounds, as hypothesis wants; the zone is added below
    min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2099, 12, 31),  # noqa: DTZ001
).map(lambda d: d.replace(microsecond=0, tzinfo=VIETNAM_TZ))
small_ints = st.integers(min_value=-5, max_value=10_000)


def _opt(strategy: st.SearchStrategy[Any], required: bool) -> st.SearchStrategy[Any]:
    return strategy if required else st.none() | strategy


def organizations(complete: bool) -> st.SearchStrategy[Organization]:
    return st.builds(
        Organization,
        organ_id=_opt(text, complete),
        organization_in_charge=_opt(text, False),
        organ_name=_opt(text, complete),
        organ_address=_opt(text, False),
        email=_opt(text, False),
        telephone=_opt(text, False),
        fax=_opt(text, False),
        website=_opt(text, False),
    )


def response_fors(complete: bool) -> st.SearchStrategy[ResponseFor]:
    # A ResponseFor always names a document (an empty one is dropped by the reader).
    return st.builds(
        ResponseFor,
        organ_id=_opt(text, complete),
        code=_opt(text, complete),
        promulgation_date=_opt(dates, complete),
        document_id=text,
    )


def staff_infos() -> st.SearchStrategy[StaffInfo]:
    return st.builds(
        StaffInfo,
        department=_opt(text, False),
        department_id=_opt(text, False),
        staff=_opt(text, False),
        staff_id=_opt(text, False),
        email=_opt(text, False),
        mobile=_opt(text, False),
    )


def headers(complete: bool) -> st.SearchStrategy[DocumentHeader]:
    other = st.builds(
        OtherInfo,
        priority=_opt(st.integers(0, 4), complete),
        sphere_of_promulgation=_opt(text, False),
        typer_notation=_opt(text, False),
        promulgation_amount=_opt(small_ints, False),
        page_amount=_opt(small_ints, False),
        direction=_opt(st.booleans(), False),
        appendixes=st.lists(text, max_size=3),
    )
    return st.builds(
        DocumentHeader,
        from_=organizations(complete),
        to=st.lists(organizations(complete), min_size=1, max_size=3),
        document_id=_opt(text, complete),
        code=st.builds(Code, number=_opt(text, complete), notation=_opt(text, complete)),
        promulgation=st.builds(
            PromulgationInfo, place=_opt(text, complete), date=_opt(dates, complete)
        ),
        document_type=st.builds(
            DocumentType,
            type=_opt(st.integers(0, 99), complete),
            type_detail=_opt(st.integers(0, 9), False),
            type_name=_opt(text, complete),
        ),
        subject=_opt(text, complete),
        content=_opt(text, False),
        signer=st.builds(
            SignerInfo,
            competence=_opt(text, False),
            position=_opt(text, complete),
            full_name=_opt(text, complete),
        ),
        due_date=_opt(dates, False),
        other_info=st.none() | other,
        response_for=st.lists(response_fors(complete), max_size=2),
        steering_type=_opt(st.integers(0, 9), False),
        response_for_task=st.lists(text, max_size=2),
        application_type=_opt(text, False),
        to_places=st.lists(text, max_size=3),
    )


@st.composite
def businesses(draw: st.DrawFn, complete: bool) -> Business | None:
    kind = draw(st.none() | st.integers(0, 3))
    if kind is None:
        return None
    document_info = None
    replacements: list[ReplacementInfo] = []
    if kind == 2:
        document_info = BusinessDocumentInfo(
            document_info=draw(_opt(st.integers(0, 1), complete)),
            document_receiver=draw(_opt(st.integers(0, 1), complete)),
            receivers=draw(
                st.lists(
                    st.builds(
                        Receiver,
                        organ_id=_opt(text, complete),
                        receiver_type=_opt(st.integers(0, 1), complete),
                    ),
                    max_size=3,
                )
            ),
        )
    if kind == 3:
        replacements = draw(
            st.lists(
                st.builds(
                    ReplacementInfo,
                    document_id=_opt(text, complete),
                    organ_ids=st.lists(text, min_size=1 if complete else 0, max_size=3),
                ),
                min_size=1,
                max_size=2,
            )
        )
    return Business(
        document_id=draw(_opt(text, False)),
        doc_type=kind,
        reason=draw(_opt(text, False)),
        paper=draw(_opt(st.integers(0, 1), False)),
        document_info=document_info,
        replacements=replacements,
        staff=draw(st.none() | staff_infos()),
    )


def _zip_one(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(name, data)
    return buf.getvalue()


payloads = st.one_of(
    st.binary(max_size=4000),
    st.just(b""),
    # A file that is itself a one-member ZIP: wrapped once, unwrapped once.
    st.builds(_zip_one, st.just("bên trong.txt"), st.binary(max_size=200)),
    st.just(b"%PDF-1.7\n" + bytes(range(256))),
)
extensions = st.sampled_from([".pdf", ".docx", ".doc", ".xlsx", ".zip", ".txt", ".tif", ""])
attachment_names = st.builds(lambda stem, ext: stem + ext, text, extensions)


@st.composite
def attachment_lists(draw: st.DrawFn) -> list[Attachment]:
    ids = draw(
        st.lists(
            st.one_of(st.uuids().map(str), text.filter(lambda s: not s.lower().startswith("cid:"))),
            max_size=3,
            unique=True,
        )
    )
    out = []
    for content_id in ids:
        att = Attachment.from_bytes(
            draw(attachment_names),
            draw(payloads),
            content_id=content_id,
            description=draw(_opt(text, False)),
        )
        if draw(st.booleans()):
            att.description = None  # no Description element at all
        att.field_name = draw(_opt(text, False))
        att.mime_type = draw(_opt(text, False))
        out.append(att)
    return out


def _signature(value: str) -> str:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'
        '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f"</SignedInfo><SignatureValue>{escaped}</SignatureValue></Signature>"
    )


signatures = st.none() | st.builds(_signature, text)


def _with_signature(pkg: Any, signature: str | None) -> Any:
    pkg.signature_xml = signature
    return pkg


def document_packages(complete: bool = False) -> st.SearchStrategy[DocumentPackage]:
    return st.builds(_with_signature, _document_packages(complete), signatures)


def _document_packages(complete: bool) -> st.SearchStrategy[DocumentPackage]:
    return st.builds(
        DocumentPackage,
        header=headers(complete),
        traces=st.lists(
            st.builds(
                TraceHeader,
                organ_id=_opt(text, complete),
                timestamp=_opt(timestamps, complete),
            ),
            max_size=3,
        ),
        trace_list_id=_opt(text, False),
        trace_list_version=_opt(text, False),
        business=businesses(complete),
        attachments=attachment_lists(),
    )


def status_packages(complete: bool = False) -> st.SearchStrategy[StatusPackage]:
    codes = st.sampled_from([c.value for c in StatusCode]) | st.from_regex(r"\A[0-9]{2,3}\Z")
    header = st.builds(
        StatusHeader,
        from_=organizations(complete),
        response_for=response_fors(complete),
        staff=st.none() | staff_infos(),
        # Always present here: see test_status_without_code_is_still_a_status.
        code=codes,
        description=_opt(text, False),
        timestamp=_opt(timestamps, complete),
    )
    return st.builds(_with_signature, st.builds(StatusPackage, header=header), signatures)


# --------------------------------------------------------------------------------------------
# comparison

_MODEL_EXCLUDE = {"attachments", "manifest", "notes"}


def _attachment_view(att: Attachment) -> tuple[Any, ...]:
    return (
        att.name,
        att.description,
        att.content_id,
        att.content_type,
        att.field_name,
        att.mime_type,
        att.read_bytes(),
    )


def assert_same_document(read: DocumentPackage, original: DocumentPackage) -> None:
    assert read.model_dump(exclude=_MODEL_EXCLUDE) == original.model_dump(exclude=_MODEL_EXCLUDE)
    assert same_xml(read.signature_xml, original.signature_xml)
    assert [_attachment_view(a) for a in read.attachments] == [
        _attachment_view(a) for a in original.attachments
    ]


def _tree_key(el: etree._Element) -> tuple[Any, ...]:
    """Namespace-aware identity of an element tree (ignores prefixes and indentation)."""
    return (
        el.tag,
        sorted(el.attrib.items()),
        (el.text or "").strip(),
        [_tree_key(c) for c in el if isinstance(c.tag, str)],
    )


def same_xml(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return _tree_key(etree.fromstring(a.encode(), SAFE_PARSER)) == _tree_key(
        etree.fromstring(b.encode(), SAFE_PARSER)
    )


# --------------------------------------------------------------------------------------------
# properties


@pytest.mark.parametrize("path", sorted(PARSE_PATHS))
@HYPOTHESIS
@given(pkg=document_packages())
def test_document_roundtrip(path: str, pkg: DocumentPackage) -> None:
    data = lgsp.package_to_bytes(pkg, options=NO_CHECK)
    with lgsp.read_document(data, limits=PARSE_PATHS[path]) as read:
        assert read.notes == []
        assert_same_document(read, pkg)
        for att in read.attachments:
            assert att.wire_content_type == "application/zip"
            assert att.encoding == "zip"
            assert att.problem is None


@pytest.mark.parametrize("path", sorted(PARSE_PATHS))
@HYPOTHESIS
@given(pkg=status_packages())
def test_status_roundtrip(path: str, pkg: StatusPackage) -> None:
    data = lgsp.package_to_bytes(pkg, options=NO_CHECK)
    read = lgsp.read_status(data, limits=PARSE_PATHS[path])
    assert read.notes == []
    assert read.model_dump() == pkg.model_dump()
    assert same_xml(read.signature_xml, pkg.signature_xml)


@pytest.mark.parametrize("path", sorted(PARSE_PATHS))
def test_status_without_code_is_still_a_status(path: str, make_status: MakeStatus) -> None:
    """A status header (From, ResponseFor, StaffInfo, Description, Timestamp; no To, no trace,
    no body) that lacks its StatusCode is a broken status, not a document."""
    data = lgsp.package_to_bytes(make_status(code=None), options=NO_CHECK)
    read = lgsp.read_package(data, limits=PARSE_PATHS[path])
    assert isinstance(read, StatusPackage)
    assert read.header.code is None
    assert "status.required" in {f.rule for f in validate(read) if f.severity == "error"}


def test_attribute_values_with_markup_characters_roundtrip(
    limits: XMLLimits, make_package: MakePackage
) -> None:
    """TraceHeaderList id/version are attributes: '&', '<', quotes must come back as given."""
    pkg = make_package(trace_list_id="a&b <c> \"d\" 'e'", trace_list_version="1.0 & 2.0")
    data = lgsp.package_to_bytes(pkg)
    read = lgsp.read_document(data, limits=limits)
    assert read.trace_list_id == "a&b <c> \"d\" 'e'"
    assert read.trace_list_version == "1.0 & 2.0"


@HYPOTHESIS
@given(pkg=document_packages(complete=True))
def test_written_documents_are_valid_against_the_xsd(pkg: DocumentPackage) -> None:
    data = lgsp.package_to_bytes(pkg, options=NO_CHECK)
    schema = load_schema("document")
    tree = etree.fromstring(data, SAFE_PARSER)
    assert schema.validate(tree), schema.error_log
    # …and reading them back reports no schema finding either.
    assert "xml.schema" not in {f.rule for f in validate(lgsp.read_package(data))}


@HYPOTHESIS
@given(pkg=status_packages(complete=True))
def test_written_statuses_are_valid_against_the_xsd(pkg: StatusPackage) -> None:
    data = lgsp.package_to_bytes(pkg, options=NO_CHECK)
    schema = load_schema("status")
    assert schema.validate(etree.fromstring(data, SAFE_PARSER)), schema.error_log
    assert not load_schema("document").validate(etree.fromstring(data, SAFE_PARSER))


@HYPOTHESIS
@given(pkg=document_packages())
def test_writer_is_deterministic(pkg: DocumentPackage) -> None:
    first = lgsp.package_to_bytes(pkg, options=NO_CHECK)
    second = lgsp.package_to_bytes(pkg, options=NO_CHECK)
    assert first == second


@HYPOTHESIS
@given(pkg=document_packages())
def test_writer_zips_under_the_zip_label_with_the_real_name(pkg: DocumentPackage) -> None:
    data = lgsp.package_to_bytes(pkg, options=NO_CHECK)
    root = etree.fromstring(data, SAFE_PARSER)
    refs = root.findall(f"{Q}edXMLEnvelope/{Q}edXMLBody/{Q}edXMLManifest/{Q}Reference")
    items = root.findall(f"{Q}AttachmentEncoded/{Q}Attachment")
    assert len(refs) == len(items) == len(pkg.attachments)
    for att, ref, item in zip(pkg.attachments, refs, items, strict=True):
        for el in (ref, item):
            assert el.findtext(f"{Q}ContentType") == "application/zip"
            assert el.findtext(f"{Q}AttachmentName") == att.name
            assert el.findtext(f"{Q}ContentId") == "cid:" + att.content_id
        payload = base64.b64decode(item.findtext(f"{Q}ContentTransferEncoded") or "", validate=True)
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            (member,) = archive.infolist()
            assert archive.read(member) == att.read_bytes()
            assert archive.testzip() is None


def test_writer_is_deterministic_across_equal_models(
    make_package: MakePackage, make_status: MakeStatus
) -> None:
    assert lgsp.package_to_bytes(make_package()) == lgsp.package_to_bytes(make_package())
    assert lgsp.package_to_bytes(make_status()) == lgsp.package_to_bytes(make_status())


def test_write_package_to_path_and_file_match(tmp_path: Path, make_package: MakePackage) -> None:
    path = tmp_path / "gói tin.edxml"
    lgsp.write_package(make_package(), path)
    buffer = io.BytesIO()
    lgsp.write_package(make_package(), buffer)
    assert path.read_bytes() == buffer.getvalue() == lgsp.package_to_bytes(make_package())
    assert [p.name for p in tmp_path.iterdir()] == ["gói tin.edxml"]  # no .part left


def test_reference_packages_roundtrip(make_package: MakePackage, make_status: MakeStatus) -> None:
    pkg, status = make_package(), make_status()
    doc_bytes, status_bytes = lgsp.package_to_bytes(pkg), lgsp.package_to_bytes(status)
    for limits in PARSE_PATHS.values():
        with lgsp.read_document(doc_bytes, limits=limits) as read:
            assert_same_document(read, pkg)
            # What lgsp writes passes its own strict profile when read back: not one finding.
            assert validate(read, profile="strict") == []
            assert [a.zip_member for a in read.attachments] == [a.name for a in pkg.attachments]
        read_status = lgsp.read_status(status_bytes, limits=limits)
        assert read_status.model_dump() == status.model_dump()
        assert validate(read_status, profile="strict") == []


def test_written_reference_package_is_valid_against_the_xsd(
    make_package: MakePackage, make_status: MakeStatus
) -> None:
    cases: list[tuple[DocumentPackage | StatusPackage, Literal["document", "status"]]] = [
        (make_package(), "document"),
        (make_status(), "status"),
    ]
    for pkg, kind in cases:
        tree = etree.fromstring(lgsp.package_to_bytes(pkg), SAFE_PARSER)
        schema = load_schema(kind)
        assert schema.validate(tree), schema.error_log


def test_signature_roundtrips_as_xml(make_package: MakePackage) -> None:
    signature = (
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'
        '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        "</SignedInfo><SignatureValue>AAAA</SignatureValue></Signature>"
    )
    pkg = make_package(signature_xml=signature)
    data = lgsp.package_to_bytes(pkg)
    for limits in PARSE_PATHS.values():
        read = lgsp.read_document(data, limits=limits)
        assert same_xml(read.signature_xml, signature)
        assert "read.signature" not in {n.rule for n in read.notes}


# --------------------------------------------------------------------------------------------
# the kit: read → write → read

KIT_DOCUMENTS = (
    sorted(
        p.name for p in CORPUS_DIR.glob("*.edxml") if p.name not in ("edoc.edxml", "edoc_new.edxml")
    )
    if CORPUS_DIR.is_dir()
    else []
)


@pytest.mark.parametrize("name", KIT_DOCUMENTS)
def test_kit_roundtrip(corpus_dir: Path, name: str) -> None:
    original = lgsp.read_package(corpus_dir / name)
    data = lgsp.package_to_bytes(original, options=NO_CHECK)
    for limits in PARSE_PATHS.values():
        again = lgsp.read_package(data, limits=limits)
        assert type(again) is type(original)
        exclude = {"attachments", "signature_xml", "notes"}
        assert again.model_dump(exclude=exclude) == original.model_dump(exclude=exclude)
        # The kept Signature is the same XML (same names and namespaces, values and text).
        assert same_xml(again.signature_xml, original.signature_xml)
        if isinstance(original, DocumentPackage):
            assert isinstance(again, DocumentPackage)
            assert [_attachment_view(a) for a in again.attachments] == [
                _attachment_view(a) for a in original.attachments
            ]
            assert [a.sha256 for a in again.attachments] == [a.sha256 for a in original.attachments]
            # Re-written by lgsp: valid against the XSD, which most kit files are not.
            assert "xml.schema" not in {f.rule for f in validate(again, profile="strict")}


# --------------------------------------------------------------------------------------------
# bounded memory

_RSS_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, resource, sys
    import lgsp

    def status(field):
        # This process's own memory figures in bytes (Linux): VmRSS now, VmHWM its peak.
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise LookupError(field)

    path, expected = sys.argv[1], sys.argv[2]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    rss_before = status("VmRSS")
    with lgsp.read_document(path) as pkg:
        (att,) = pkg.attachments
        digest = hashlib.sha256()
        with att.open() as stream:
            while chunk := stream.read(1 << 16):
                digest.update(chunk)
        problems = [f.rule for f in lgsp.validate(pkg, profile="lenient")
                    if f.severity == "error"]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"matched": digest.hexdigest() == expected, "encoding": att.encoding,
                      "errors": problems, "growth": after - before,
                      "peak_over_start": status("VmHWM") - rss_before}))
    """
)


def test_large_attachment_is_read_in_bounded_memory(
    tmp_path: Path, make_package: MakePackage
) -> None:
    """A ~30 MB attachment (40 MB of Base64) read through the streaming path in a fresh
    process: the peak resident set grows by less than 64 MB."""
    source = tmp_path / "Bản scan hồ sơ.pdf"
    digest = hashlib.sha256()
    with source.open("wb") as fh:
        for _ in range(30):
            block = os.urandom(1 << 20)
            digest.update(block)
            fh.write(block)
    pkg = make_package(attachments=[Attachment.from_path(source, content_id="scan")])
    target = tmp_path / "lớn.edxml"
    lgsp.write_package(pkg, target)
    assert target.stat().st_size > 40 << 20  # Base64 of 30 MB of incompressible bytes
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    # ru_maxrss survives execve: a child forked straight from this (large) pytest process
    # would start with our peak. A shell that forks the interpreter in its turn gives it a
    # fresh figure, so "before" is the child's own.
    command = ["/bin/sh", "-c", '"$0" "$@"; exit $?', sys.executable, "-c", _RSS_SCRIPT]
    result = subprocess.run(
        [*command, str(target), digest.hexdigest()],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["matched"] is True
    assert report["encoding"] == "zip"
    assert report["errors"] == []
    # The peak grew by less than 64 MB; and so did the process's own high-water mark over
    # its resident set just before reading (the import peak cannot hide growth there).
    assert report["growth"] < 64 << 20, f"peak RSS grew by {report['growth'] >> 20} MB"
    over = report["peak_over_start"]
    assert over < 64 << 20, f"reading peaked {over >> 20} MB above the starting RSS"


# --------------------------------------------------------------------------------------------
# what cannot be written or read


@pytest.mark.parametrize("bad", ["a\x00b", "Trích\x0byếu", "mục\x1fmột", "x\ufffey"])
def test_text_xml_cannot_carry_is_refused_with_a_typed_error(
    tmp_path: Path, make_package: MakePackage, bad: str
) -> None:
    """NUL, vertical tab (Word copy-paste), other C0 controls and U+FFFE are not XML 1.0
    characters: the writer refuses them with an lgsp error, never lxml's bare ValueError."""
    pkg = make_package(subject=bad)
    for options in (None, NO_CHECK):
        with pytest.raises(lgsp.LgspError):
            lgsp.package_to_bytes(pkg, options=options)
    with pytest.raises(lgsp.LgspError):
        lgsp.write_package(pkg, tmp_path / "x.edxml")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [
        (
            b"<edXML:PromulgationDate>2024/05/02",
            b"<edXML:PromulgationDate>2019/02/30",
            "PromulgationDate",
        ),
        (b"<edXML:Priority>1", "<edXML:Priority>Khẩn".encode(), "Priority"),
        (b"<edXML:Direction>false", b"<edXML:Direction>maybe", "Direction"),
    ],
)
def test_malformed_header_values_are_package_errors(
    limits: XMLLimits, make_package: MakePackage, old: bytes, new: bytes, element: str
) -> None:
    data = lgsp.package_to_bytes(make_package())
    assert old in data
    with pytest.raises(lgsp.PackageError) as info:
        lgsp.read_package(data.replace(old, new, 1), limits=limits)
    assert info.value.path is not None
    assert info.value.path.endswith(element)
    assert "MessageHeader" in info.value.path
    assert new.decode().split(">", 1)[1] in str(info.value)


def test_malformed_trace_timestamp_names_the_trace(
    limits: XMLLimits, make_package: MakePackage
) -> None:
    """TraceHeaderList is a sibling of MessageHeader: the error must point there."""
    data = lgsp.package_to_bytes(make_package())
    old = b"<edXML:Timestamp>2024/05/02 08:30:15"
    assert old in data
    with pytest.raises(lgsp.PackageError) as info:
        lgsp.read_package(data.replace(old, b"<edXML:Timestamp>02/05/2024", 1), limits=limits)
    path = info.value.path or ""
    assert "TraceHeaderList" in path
    assert path.endswith("Timestamp")
    assert "MessageHeader" not in path
    assert "02/05/2024" in str(info.value)


def test_attachment_larger_than_libxml2_text_limit_on_both_paths(
    limits: XMLLimits, make_package: MakePackage
) -> None:
    """A 12 MB attachment (16 MB of Base64 in one text node, past libxml2's 10 MB default
    text limit) reads the same whichever path the threshold picks."""
    payload = os.urandom(12 << 20)
    pkg = make_package(
        attachments=[Attachment.from_bytes("Hồ sơ quét.pdf", payload, content_id="q")]
    )
    data = lgsp.package_to_bytes(pkg)
    with lgsp.read_document(data, limits=limits) as read:
        (att,) = read.attachments
        assert att.problem is None
        assert att.sha256 == hashlib.sha256(payload).hexdigest()


def test_same_file_from_path_or_bytes_writes_the_same_package(
    tmp_path: Path, make_package: MakePackage
) -> None:
    source = tmp_path / "Công văn.pdf"
    source.write_bytes(PDF_BYTES)
    by_path = make_package(attachments=[Attachment.from_path(source, content_id="cv")])
    by_bytes = make_package(
        attachments=[Attachment.from_bytes("Công văn.pdf", PDF_BYTES, content_id="cv")]
    )
    with source.open("rb") as fh:
        by_file = make_package(
            attachments=[Attachment.from_file("Công văn.pdf", fh, content_id="cv")]
        )
    first = lgsp.package_to_bytes(by_path)
    assert lgsp.package_to_bytes(by_bytes) == first
    assert lgsp.package_to_bytes(by_file) == first


def test_timestamps_are_written_in_vietnam_time(
    limits: XMLLimits, make_package: MakePackage
) -> None:
    """QCVN 102 timestamps carry no zone: an instant given in UTC is written as Vietnam
    local time (UTC+7) and read back as the same instant."""
    instant = dt.datetime(2024, 5, 2, 20, 30, 15, tzinfo=dt.UTC)
    pkg = make_package(traces=[TraceHeader(organ_id="000.00.00.G22", timestamp=instant)])
    data = lgsp.package_to_bytes(pkg)
    assert b"<edXML:Timestamp>2024/05/03 03:30:15</edXML:Timestamp>" in data
    read = lgsp.read_document(data, limits=limits)
    assert read.traces[0].timestamp == instant
    assert read.traces[0].timestamp.utcoffset() == dt.timedelta(hours=7)
