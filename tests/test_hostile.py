"""Hostile and broken input: one test per class, each on both parse paths where it applies.

Every refusal is a typed error whose message names the cause; nothing hostile is ever
resolved, fetched or expanded, and no attachment is inflated past its limit.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

import lgsp
from conftest import PDF_BYTES, build_package, build_status
from lgsp import AttachmentError, HostileXMLError, PackageError, XMLError
from lgsp._xml import XMLLimits
from lgsp.documents import Attachment, WriteOptions, validate

DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
NO_CHECK = WriteOptions(validate_first=False)
QCVN = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def _package_bytes() -> bytes:
    return lgsp.package_to_bytes(build_package())


def _without_decl(data: bytes) -> bytes:
    assert data.startswith(b"<?xml")
    return data[data.index(b"?>") + 2 :].lstrip()


def _insert_in_header(data: bytes, xml: bytes) -> bytes:
    """Put raw XML at the end of the document MessageHeader."""
    marker = b"</edXML:MessageHeader>"
    assert data.count(marker) == 1
    return data.replace(marker, xml + marker)


def _single_attachment_package(payload_b64: bytes, label: bytes = b"application/zip") -> bytes:
    """A valid package with one attachment whose wire payload and label are replaced."""
    pkg = build_package(
        attachments=[
            Attachment.from_bytes("Tờ trình.pdf", PDF_BYTES, content_id="att-1", description="x")
        ]
    )
    data = lgsp.package_to_bytes(pkg)
    data, n = re.subn(
        rb"(<edXML:ContentTransferEncoded[^>]*>)[^<]*(</edXML:ContentTransferEncoded>)",
        lambda m: m.group(1) + payload_b64 + m.group(2),
        data,
    )
    assert n == 1
    data, n = re.subn(
        rb"(<(?:edXML:)?ContentType>)application/zip(<)",
        lambda m: m.group(1) + label + m.group(2),
        data,
    )
    assert n == 2  # the manifest Reference and the Attachment
    return data


def _zip_one(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buf.getvalue()


def _set_declared_size(zip_bytes: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size of the only member (local header and central directory)."""
    out = bytearray(zip_bytes)
    assert out[:4] == b"PK\x03\x04"
    out[22:26] = struct.pack("<I", size)
    central = out.find(b"PK\x01\x02")
    assert central > 0
    out[central + 24 : central + 28] = struct.pack("<I", size)
    return bytes(out)


def _break_crc(zip_bytes: bytes) -> bytes:
    out = bytearray(zip_bytes)
    out[14:18] = b"\xde\xad\xbe\xef"
    central = out.find(b"PK\x01\x02")
    out[central + 16 : central + 20] = b"\xde\xad\xbe\xef"
    return bytes(out)


# --------------------------------------------------------------------------------------------
# DTDs and entities: refused before anything is expanded or fetched


def test_billion_laughs_is_refused(limits: XMLLimits) -> None:
    entities = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    body = _without_decl(_package_bytes()).replace(b"<edXML:Subject>", b"<edXML:Subject>&lol9;", 1)
    data = DECL + b"<!DOCTYPE edXML [" + entities + b"]>\n" + body
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert "DOCTYPE" in str(info.value)
    assert "entit" in info.value.cause  # "they can declare entities"
    assert "lollollol" not in str(info.value)


def test_external_entity_is_never_resolved(limits: XMLLimits) -> None:
    body = _without_decl(_package_bytes()).replace(b"<edXML:Subject>", b"<edXML:Subject>&xxe;", 1)
    data = DECL + b'<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + body
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(data, limits=limits)
    message = str(info.value)
    assert "DOCTYPE" in message
    assert (info.value.line, info.value.column) == (2, 1)
    passwd = Path("/etc/passwd")
    lines = passwd.read_text(errors="replace").splitlines() if passwd.is_file() else []
    for line in [*lines, "root:x:0:0", "/bin/"]:
        if line.strip():
            assert line not in message


def test_external_entity_refused_from_a_file(tmp_path: Path, limits: XMLLimits) -> None:
    path = tmp_path / "xxe.edxml"
    path.write_bytes(
        DECL
        + b'<!DOCTYPE edXML SYSTEM "http://203.0.113.9/edxml.dtd">\n'
        + _without_decl(_package_bytes())
    )
    with pytest.raises(HostileXMLError, match="DOCTYPE"):
        lgsp.read_package(path, limits=limits)
    with path.open("rb") as fh, pytest.raises(HostileXMLError, match="DOCTYPE"):
        lgsp.read_package(fh, limits=limits)


def test_parameter_entities_are_refused(limits: XMLLimits) -> None:
    data = (
        DECL
        + b"<!DOCTYPE edXML [\n"
        + b'  <!ENTITY % remote SYSTEM "file:///etc/hostname">\n'
        + b"  <!ENTITY % wrap \"<!ENTITY leak '%remote;'>\">\n"
        + b"  %wrap;\n]>\n"
        + _without_decl(_package_bytes()).replace(b"<edXML:Subject>", b"<edXML:Subject>&leak;")
    )
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert "DOCTYPE" in str(info.value)
    assert info.value.line == 2


def test_doctype_alone_is_refused(limits: XMLLimits) -> None:
    data = DECL + b"<!DOCTYPE edXML>\n" + _without_decl(_package_bytes())
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert "DOCTYPE" in info.value.cause
    assert (info.value.line, info.value.column) == (2, 1)


def test_xinclude_is_not_processed(limits: XMLLimits) -> None:
    """An xi:include is an unknown element in a foreign namespace: noted, never followed."""
    include = (
        b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        b'href="file:///etc/passwd" parse="text"/>'
    )
    data = _insert_in_header(_package_bytes(), include)
    data = data.replace(
        b"<edXML:Content>",
        b'<edXML:Content><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        b'href="/etc/hostname" parse="text"/>',
    )
    with lgsp.read_document(data, limits=limits) as pkg:
        assert pkg.header.subject == build_package().header.subject
        assert pkg.header.content == build_package().header.content
        notes = [n for n in pkg.notes if n.rule == "read.unknown_element"]
        assert any("XInclude" in n.message for n in notes), pkg.notes
        dumped = pkg.model_dump_json() + repr(pkg.notes)
        assert "root:" not in dumped
        assert "/bin/" not in dumped
        hostname = Path("/etc/hostname")
        if hostname.is_file() and hostname.read_text().strip():
            assert hostname.read_text().strip() not in pkg.model_dump_json()


def test_foreign_elements_directly_under_the_header_are_named() -> None:
    """Each foreign element beside MessageHeader is noted with its own name and namespace."""
    extra = b'<v:Extra xmlns:v="urn:vendor">1</v:Extra><w:More xmlns:w="urn:other">2</w:More>'
    marker = b"</edXML:edXMLHeader>"
    data = _package_bytes()
    assert marker in data
    with lgsp.read_document(data.replace(marker, extra + marker, 1)) as pkg:
        notes = [n for n in pkg.notes if n.rule == "read.unknown_element"]
    assert [(n.location, n.message) for n in notes] == [
        (
            "edXML/edXMLEnvelope/edXMLHeader/Extra",
            "element in foreign namespace urn:vendor ignored",
        ),
        ("edXML/edXMLEnvelope/edXMLHeader/More", "element in foreign namespace urn:other ignored"),
    ]
    assert all("\x00" not in n.location + n.message for n in pkg.notes)


@pytest.mark.parametrize(
    ("marker", "where"),
    [(b"</edXML:edXMLEnvelope>", "edXML/edXMLEnvelope"), (b"</edXML>", "edXML")],
)
def test_foreign_elements_above_the_header_are_named_too(marker: bytes, where: str) -> None:
    data = _package_bytes()
    assert marker in data
    extra = b'<v:Extra xmlns:v="urn:vendor">1</v:Extra>'
    with lgsp.read_document(data.replace(marker, extra + marker, 1)) as pkg:
        notes = [n for n in pkg.notes if n.rule == "read.unknown_element"]
        assert pkg.header.subject == build_package().header.subject
    assert [(n.location, n.severity) for n in notes] == [(f"{where}/Extra", "warning")]


# --------------------------------------------------------------------------------------------
# size, depth and count limits


def test_depth_bomb_is_refused(limits: XMLLimits) -> None:
    depth = 200
    nested = b"<edXML:Nest>" * depth + b"x" + b"</edXML:Nest>" * depth
    data = _insert_in_header(_package_bytes(), nested)
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert f"deeper than {limits.max_depth}" in str(info.value)


def test_depth_limit_is_configurable(limits: XMLLimits) -> None:
    nested = b"<edXML:Nest>" * 5 + b"</edXML:Nest>" * 5
    data = _insert_in_header(_package_bytes(), nested)
    # The package itself needs 7 levels (edXML/…/OtherInfo/Appendixes/Appendix); five more
    # under MessageHeader (level 4) reach level 9.
    lgsp.read_package(data, limits=dataclasses.replace(limits, max_depth=9))
    with pytest.raises(HostileXMLError, match="deeper than 8"):
        lgsp.read_package(data, limits=dataclasses.replace(limits, max_depth=8))


def test_element_count_bomb_is_refused(limits: XMLLimits) -> None:
    many = b"<edXML:Appendixes>" + b"<edXML:Appendix>a</edXML:Appendix>" * 5000
    data = _package_bytes().replace(b"<edXML:Appendixes>", many, 1)
    capped = dataclasses.replace(limits, max_elements=1000)
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(data, limits=capped)
    assert "1000" in str(info.value)
    assert "element" in str(info.value)
    # The same document is fine under the default limit.
    with lgsp.read_document(data, limits=limits) as pkg:
        assert len(pkg.header.other_info.appendixes) == 5001  # type: ignore[union-attr]


def test_huge_text_node_in_header_is_refused_when_streaming() -> None:
    """A 2 MB Subject on the streaming path: refused past max_text_chars, not buffered."""
    data = _package_bytes().replace(
        b"<edXML:Subject>", b"<edXML:Subject>" + "Trích yếu ".encode() * 200_000, 1
    )
    limits = XMLLimits(in_memory_threshold=1, max_text_chars=100_000)
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert "text node longer than 100000 characters" in str(info.value)


def test_attachment_text_is_exempt_from_the_text_limit() -> None:
    """Streamed attachment text goes to a spool: a 300 KB Base64 body passes a 1 KB limit."""
    payload = bytes(range(256)) * 800
    pkg = build_package(attachments=[Attachment.from_bytes("lớn.bin", payload, content_id="a")])
    data = lgsp.package_to_bytes(pkg)
    limits = XMLLimits(in_memory_threshold=1, max_text_chars=1024)
    with lgsp.read_document(data, limits=limits) as read:
        assert read.attachments[0].read_bytes() == payload


def test_document_over_max_bytes_is_refused(limits: XMLLimits, tmp_path: Path) -> None:
    data = _package_bytes()
    capped = dataclasses.replace(limits, max_bytes=len(data) - 1)
    path = tmp_path / "big.edxml"
    path.write_bytes(data)
    for source in (data, path, io.BytesIO(data)):
        with pytest.raises(HostileXMLError) as info:
            lgsp.read_package(source, limits=capped)
        assert f"limit of {len(data) - 1}" in str(info.value)
    # One byte more is allowed.
    lgsp.read_package(data, limits=dataclasses.replace(limits, max_bytes=len(data)))


# --------------------------------------------------------------------------------------------
# not XML


def test_invalid_utf8_is_refused_with_its_place(limits: XMLLimits) -> None:
    data = _package_bytes()
    lines = data.split(b"\n")
    line_no = next(i for i, line in enumerate(lines, 1) if b"<edXML:Subject>" in line)
    data = data.replace(b"<edXML:Subject>V/v", b"<edXML:Subject>V/v \xff\xfe", 1)
    with pytest.raises(XMLError) as info:
        lgsp.read_package(data, limits=limits)
    exc = info.value
    assert not isinstance(exc, HostileXMLError)
    assert "encoding" in exc.cause.lower() or "utf-8" in exc.cause.lower()
    assert exc.line == line_no


def test_truncated_document_is_refused(limits: XMLLimits) -> None:
    data = _package_bytes()
    cut = data[: data.index(b"</edXML:MessageHeader>")]
    with pytest.raises(XMLError) as info:
        lgsp.read_package(cut, limits=limits)
    exc = info.value
    assert not isinstance(exc, HostileXMLError)
    assert "end of data" in exc.cause.lower() or "premature" in exc.cause.lower()
    assert exc.line == cut.count(b"\n") + 1


def test_bytes_before_the_declaration_are_refused(limits: XMLLimits) -> None:
    data = b"JUNK\r\n" + _package_bytes()
    with pytest.raises(XMLError) as info:
        lgsp.read_package(data, limits=limits, name="junk.edxml")
    exc = info.value
    assert "JUNK" in exc.cause
    assert "before the XML declaration" in exc.cause
    assert exc.source == "junk.edxml"
    assert (exc.line, exc.column) == (1, 1)


def test_foreign_root_is_refused(limits: XMLLimits) -> None:
    """The withdrawn draft root (go.vn/eDoc) is XML but not an edXML package."""
    data = (
        DECL + b'<EdXMLEnvelope xmlns="http://www.go.vn/eDoc"><Header><From>'
        b"<OrganId>000.00.00.G22</OrganId></From><Subject>Th\xe1\xbb\xad</Subject>"
        b"</Header></EdXMLEnvelope>"
    )
    with pytest.raises(PackageError) as info:
        lgsp.read_package(data, limits=limits)
    message = str(info.value)
    assert "EdXMLEnvelope" in message
    assert "go.vn/eDoc" in message
    assert QCVN in message


def test_edxml_root_without_envelope_is_refused(limits: XMLLimits) -> None:
    data = DECL + f'<edXML xmlns="{QCVN}"><Nothing/></edXML>'.encode()
    with pytest.raises(PackageError, match="edXMLEnvelope"):
        lgsp.read_package(data, limits=limits)


def test_status_read_as_document_and_back(limits: XMLLimits) -> None:
    status = lgsp.package_to_bytes(build_status())
    document = _package_bytes()
    with pytest.raises(PackageError, match="status package, not a document package"):
        lgsp.read_document(status, limits=limits)
    with pytest.raises(PackageError, match="document package, not a status package"):
        lgsp.read_status(document, limits=limits)
    assert isinstance(lgsp.read_status(status, limits=limits), lgsp.StatusPackage)
    assert isinstance(lgsp.read_document(document, limits=limits), lgsp.DocumentPackage)


# --------------------------------------------------------------------------------------------
# attachments


def test_zip_bomb_declared_size_is_a_problem_not_an_allocation(limits: XMLLimits) -> None:
    """A one-member ZIP declaring 3 GB: the attachment has a problem; nothing is inflated."""
    bomb = _set_declared_size(_zip_one("bom.pdf", PDF_BYTES), 3_000_000_000)
    data = _single_attachment_package(base64.b64encode(bomb))
    tracemalloc.start()
    try:
        with lgsp.read_document(data, limits=limits, max_attachment_bytes=1 << 20) as pkg:
            (att,) = pkg.attachments
            assert att.problem is not None
            assert "3000000000" in att.problem
            assert str(1 << 20) in att.problem
            errors = [f for f in validate(pkg, profile="lenient") if f.severity == "error"]
            assert "attachment.content" in {f.rule for f in errors}
            with pytest.raises(AttachmentError):
                att.open()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20


def test_zip_bomb_inflating_past_the_limit_is_a_problem(limits: XMLLimits) -> None:
    """An honest 64 MB of zeros (64 KB deflated) against a 1 MB limit."""
    bomb = _zip_one("bom.pdf", b"\0" * (64 << 20))
    assert len(bomb) < 1 << 20
    data = _single_attachment_package(base64.b64encode(bomb))
    tracemalloc.start()
    try:
        with lgsp.read_document(data, limits=limits, max_attachment_bytes=1 << 20) as pkg:
            (att,) = pkg.attachments
            assert att.problem is not None
            assert "limit" in att.problem
            found = validate(pkg, profile="lenient", deep=True)
            assert "attachment.content" in {f.rule for f in found if f.severity == "error"}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20


def test_zip_lying_about_its_size_cannot_be_read(limits: XMLLimits) -> None:
    """Declares 100 bytes, inflates to 5 MB: never handed out as good data."""
    liar = _set_declared_size(_zip_one("bom.pdf", b"\0" * (5 << 20)), 100)
    data = _single_attachment_package(base64.b64encode(liar))
    with lgsp.read_document(data, limits=limits, max_attachment_bytes=1 << 20) as pkg:
        (att,) = pkg.attachments
        found = validate(pkg, profile="lenient", deep=True)
        assert "attachment.content" in {f.rule for f in found if f.severity == "error"}
        with pytest.raises(AttachmentError), att.open() as stream:
            stream.read()


def test_zip_with_a_wrong_crc(limits: XMLLimits) -> None:
    bad = _break_crc(_zip_one("Tờ trình.pdf", PDF_BYTES * 50))
    data = _single_attachment_package(base64.b64encode(bad))
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.encoding == "zip"
        # Without a deep check the CRC is not looked at…
        shallow = validate(pkg, profile="lenient", deep=False)
        assert "attachment.content" not in {f.rule for f in shallow}
        # …with one, it is an error in both profiles.
        for profile in ("lenient", "strict"):
            deep = [
                f
                for f in validate(pkg, profile=profile, deep=True)
                if f.rule == "attachment.content"
            ]
            assert [f.severity for f in deep] == ["error"]
            assert "CRC" in deep[0].message
        with pytest.raises(AttachmentError) as info, att.open() as stream:
            stream.read()
        assert "CRC" in str(info.value)
        assert info.value.content_id == "att-1"


def _garbled_payload_package(mutate: str) -> bytes:
    payload = _zip_one("Tờ trình.pdf", bytes(range(256)) * 1024)
    text = base64.b64encode(payload)
    if mutate == "garbage":
        middle = len(text) // 2
        text = text[:middle] + b"@@!!not-base64!!@@" + text[middle:]
    else:
        text = text[:-3]
    return _single_attachment_package(text)


@pytest.mark.parametrize(
    ("mutate", "cause"), [("garbage", "not valid base64"), ("truncated", "truncated")]
)
def test_broken_base64(limits: XMLLimits, mutate: str, cause: str) -> None:
    data = _garbled_payload_package(mutate)
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.problem is not None
        assert cause in att.problem.lower()
        # The metadata is still there.
        assert att.name == "Tờ trình.pdf"
        assert att.content_id == "att-1"
        for profile in ("lenient", "strict"):
            found = [f for f in validate(pkg, profile=profile) if f.rule == "attachment.content"]
            assert [f.severity for f in found] == ["error"]
        with pytest.raises(AttachmentError) as info:
            att.read_bytes()
        assert cause in str(info.value).lower()


def test_network_is_blocked_in_tests() -> None:
    """The autouse guard is active, so no test here could have fetched anything."""
    import socket

    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(OSError, match="forbidden"),
    ):
        sock.connect(("203.0.113.9", 80))


def test_text_limit_counts_characters_not_bytes() -> None:
    """max_text_chars is in characters: 600 Vietnamese letters (1 800 UTF-8 bytes) pass a
    1 000-character limit on the streaming path; 1 001 do not."""
    limits = XMLLimits(in_memory_threshold=1, max_text_chars=1000)
    fits = lgsp.package_to_bytes(build_package(subject="ệ" * 600), options=NO_CHECK)
    with lgsp.read_document(fits, limits=limits) as pkg:
        assert pkg.header.subject == "ệ" * 600
    too_long = lgsp.package_to_bytes(build_package(subject="ệ" * 1001), options=NO_CHECK)
    with pytest.raises(HostileXMLError, match="longer than 1000 characters"):
        lgsp.read_document(too_long, limits=limits)
