"""The hardened XML gate as seen through read_package, on both parse paths.

It refuses a DOCTYPE before any parser sees it, tolerates an undeclared namespace prefix with
a note (the official kit's own edoc.edxml needs that), and places syntax errors by line and
column.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree

import lgsp
from conftest import build_package
from lgsp import HostileXMLError, XMLError
from lgsp._xml import XMLLimits, parse_bytes
from lgsp.documents import validate

DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _package_bytes() -> bytes:
    return lgsp.package_to_bytes(build_package())


def _body() -> bytes:
    data = _package_bytes()
    return data[data.index(b"?>") + 2 :].lstrip()


# --------------------------------------------------------------------------------------------
# DOCTYPE


@pytest.mark.parametrize(
    "doctype",
    [
        # An unterminated internal subset: a parser would report a syntax error; the gate
        # refuses the DOCTYPE first, so the error says DOCTYPE.
        b"<!DOCTYPE edXML [ <!ENTITY broken ",
        # A DOCTYPE that only a network fetch could complete.
        b'<!DOCTYPE edXML PUBLIC "-//X//DTD X//EN" "http://203.0.113.9/x.dtd">',
        # An entity that would expand to 1e9 characters.
        b'<!DOCTYPE edXML [<!ENTITY a "' + b"a" * 1000 + b'">]>',
    ],
    ids=["unterminated", "public-id", "entity"],
)
def test_doctype_is_refused_before_parsing(limits: XMLLimits, doctype: bytes) -> None:
    data = DECL + doctype + b"\n" + _body()
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert "DOCTYPE" in info.value.cause
    assert (info.value.line, info.value.column) == (2, 1)


@pytest.mark.parametrize(
    "prolog",
    [
        b"",  # no declaration at all
        b"\xef\xbb\xbf" + DECL,  # a UTF-8 byte-order mark
        DECL + b"<!-- ghi ch\xc3\xba -->\n<?pi data?>\n",  # comments and PIs first
        DECL + b"\r\n\t \r\n",  # whitespace, CRLF
    ],
    ids=["bare", "bom", "comment-pi", "whitespace"],
)
def test_doctype_is_found_after_any_prolog(limits: XMLLimits, prolog: bytes) -> None:
    data = prolog + b"<!DOCTYPE edXML>" + _body()
    with pytest.raises(HostileXMLError, match="DOCTYPE"):
        lgsp.read_package(data, limits=limits)


def test_doctype_refused_from_path_and_file_object(limits: XMLLimits, tmp_path: Path) -> None:
    data = DECL + b"<!DOCTYPE edXML>\n" + _body()
    path = tmp_path / "doctype.edxml"
    path.write_bytes(data)
    with pytest.raises(HostileXMLError, match="DOCTYPE") as info:
        lgsp.read_package(path, limits=limits)
    assert info.value.source == str(path)
    with pytest.raises(HostileXMLError, match="DOCTYPE"):
        lgsp.read_package(io.BytesIO(data), limits=limits)
    with pytest.raises(HostileXMLError, match="DOCTYPE"):
        lgsp.read_package(data.decode("utf-8"), limits=limits)


def test_the_word_doctype_in_content_is_fine(limits: XMLLimits) -> None:
    data = _package_bytes().replace(
        b"<edXML:Content>",
        b"<!-- <!DOCTYPE y> --><edXML:Content>&lt;!DOCTYPE edXML&gt; <![CDATA[<!DOCTYPE x>]]> ",
        1,
    )
    with lgsp.read_document(data, limits=limits) as pkg:
        assert pkg.header.content is not None
        assert pkg.header.content.startswith("<!DOCTYPE edXML> <!DOCTYPE x> ")


# --------------------------------------------------------------------------------------------
# undeclared prefixes


def test_undeclared_attribute_prefix_is_tolerated_with_a_note(limits: XMLLimits) -> None:
    """The kit's xlink:href on a manifest Reference, with no xmlns:xlink anywhere."""
    data = _package_bytes().replace(
        b"<edXML:Reference>", b'<edXML:Reference xlink:href="cid:cv-1234-pdf">', 1
    )
    with lgsp.read_document(data, limits=limits) as pkg:
        notes = [n for n in pkg.notes if n.rule == "read.undeclared_prefix"]
        assert len(notes) == 1, pkg.notes
        assert "xlink" in notes[0].message
        assert notes[0].severity == "warning"
        assert notes[0].location.startswith("line ")
        # Everything else is read as usual.
        assert pkg.header.subject == build_package().header.subject
        assert [a.read_bytes() for a in pkg.attachments] == [
            a.read_bytes() for a in build_package().attachments
        ]
        # The note becomes a finding whose severity the profile decides.
        by_profile = {
            profile: [
                f.severity
                for f in validate(pkg, profile=profile)
                if f.rule == "read.undeclared_prefix"
            ]
            for profile in ("strict", "lenient")
        }
        assert by_profile == {"strict": ["error"], "lenient": ["warning"]}


def test_undeclared_element_prefix_is_tolerated_with_a_note(limits: XMLLimits) -> None:
    """edXML:AttachmentEncoded outside the envelope that declares edXML (as in edoc.edxml)."""
    data = _package_bytes()
    data = data.replace(b"<AttachmentEncoded>", b"<edXML:AttachmentEncoded>").replace(
        b"</AttachmentEncoded>", b"</edXML:AttachmentEncoded>"
    )
    with lgsp.read_document(data, limits=limits) as pkg:
        notes = [n for n in pkg.notes if n.rule == "read.undeclared_prefix"]
        assert notes, pkg.notes
        assert all("edXML" in n.message for n in notes)
        # The attachments are still found.
        assert [a.name for a in pkg.attachments] == [
            "Công văn 1234-VPCP.pdf",
            "Phụ lục kèm theo.docx",
        ]


def test_undeclared_prefix_with_a_real_error_is_still_refused(limits: XMLLimits) -> None:
    data = _package_bytes().replace(b"<edXML:Reference>", b'<edXML:Reference xlink:href="x">', 1)
    data = data.replace(b"</edXML:Subject>", b"</edXML:Subjekt>", 1)
    with pytest.raises(XMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert "Subjekt" in info.value.cause


def test_declared_package_has_no_prefix_note(limits: XMLLimits) -> None:
    with lgsp.read_document(_package_bytes(), limits=limits) as pkg:
        assert pkg.notes == []


# --------------------------------------------------------------------------------------------
# line and column


def test_syntax_error_line_and_column(limits: XMLLimits) -> None:
    data = _package_bytes()
    lines = data.split(b"\n")
    index = next(i for i, line in enumerate(lines) if b"</edXML:Subject>" in line)
    lines[index] = lines[index].replace(b"</edXML:Subject>", b"</edXML:Subjekt>")
    column = lines[index].decode("utf-8").index("</edXML:Subjekt>")  # in characters
    data = b"\n".join(lines)
    with pytest.raises(XMLError) as info:
        lgsp.read_package(data, limits=limits, name="sai.edxml")
    exc = info.value
    assert not isinstance(exc, HostileXMLError)
    assert exc.line == index + 1
    # libxml2 counts columns in characters and points at or just past the offending end tag.
    assert exc.column is not None
    assert column < exc.column <= column + len(b"</edXML:Subjekt>") + 1
    assert "Subject" in exc.cause
    assert "Subjekt" in exc.cause
    assert str(exc).startswith(f"sai.edxml:{exc.line}:{exc.column}: ")


def test_syntax_error_far_into_a_large_document(limits: XMLLimits) -> None:
    """An error after the first 64 KB chunk is placed by line, counted across chunks."""
    pad = b"".join(
        b"<edXML:Appendix>Ph\xe1\xbb\xa5 l\xe1\xbb\xa5c %d</edXML:Appendix>\n" % i
        for i in range(5000)
    )
    data = _package_bytes().replace(b"<edXML:Appendixes>", b"<edXML:Appendixes>\n" + pad, 1)
    assert len(data) > 200_000
    bad_at = data.index(b"</edXML:MessageHeader>")
    data = data[:bad_at] + b"<edXML:Broken attr=1/>" + data[bad_at:]
    expected_line = data[:bad_at].count(b"\n") + 1
    with pytest.raises(XMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert info.value.line == expected_line
    assert "attvalue" in info.value.cause.lower()  # libxml2: AttValue: " or ' expected


def test_unclosed_root_names_the_end_of_data(limits: XMLLimits) -> None:
    data = _package_bytes().rstrip()
    assert data.endswith(b"</edXML>")
    data = data[: -len(b"</edXML>")]
    with pytest.raises(XMLError) as info:
        lgsp.read_package(data, limits=limits)
    assert "edXML" in info.value.cause
    assert info.value.line == data.count(b"\n") + 1


def test_empty_input_is_refused(limits: XMLLimits) -> None:
    for data in (b"", b"   \n"):
        with pytest.raises(XMLError):
            lgsp.read_package(data, limits=limits)


def test_unreadable_path_is_a_package_error(tmp_path: Path) -> None:
    missing = tmp_path / "không-có.edxml"
    with pytest.raises(lgsp.PackageError) as info:
        lgsp.read_package(missing)
    assert str(missing) in str(info.value)


# --------------------------------------------------------------------------------------------
# encodings: whatever XML allows, both paths read alike


def _reencoded(encoding: str) -> bytes:
    """The reference package re-serialised in another encoding (lxml writes character
    references for what the encoding cannot hold)."""
    tree = etree.fromstring(_package_bytes(), SAFE_PARSER)
    return etree.tostring(tree, encoding=encoding, xml_declaration=True)


def _reference_view(pkg: lgsp.DocumentPackage) -> tuple[object, ...]:
    return (
        pkg.model_dump(exclude={"notes"}),
        [(a.name, a.content_id, a.read_bytes()) for a in pkg.attachments],
        pkg.notes,
    )


@pytest.mark.parametrize("encoding", ["UTF-16", "UTF-16BE", "ISO-8859-1", "UTF-8-BOM"])
def test_other_encodings_read_like_utf8(limits: XMLLimits, encoding: str) -> None:
    bom = encoding == "UTF-8-BOM"
    data = b"\xef\xbb\xbf" + _package_bytes() if bom else _reencoded(encoding)
    expected = _reference_view(lgsp.read_document(_package_bytes(), limits=limits))
    with lgsp.read_document(data, limits=limits) as pkg:
        assert pkg.header.subject == build_package().header.subject
        assert _reference_view(pkg) == expected


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_doctype_in_utf16_is_refused_before_parsing(limits: XMLLimits, encoding: str) -> None:
    """The DOCTYPE gate reads the prolog whatever the encoding: refused, and placed."""
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        + _body().decode("utf-8").replace("<edXML:Subject>", "<edXML:Subject>&b;", 1)
    )
    with pytest.raises(HostileXMLError) as info:
        lgsp.read_package(text.encode(encoding), limits=limits)
    assert "DOCTYPE" in info.value.cause
    assert (info.value.line, info.value.column) == (2, 1)


@pytest.mark.parametrize("name", ["UTF-7", "utf-7", "utf_7", "UNICODE-1-1-UTF-7"])
def test_utf7_is_refused_as_hostile_before_parsing(name: str) -> None:
    # In UTF-7 '<!DOCTYPE' can be written '+ADw-!DOCTYPE': no byte check would see it.
    data = f'<?xml version="1.0" encoding="{name}"?>+ADw-!DOCTYPE x+AD4-<x/>'.encode("ascii")
    with pytest.raises(HostileXMLError, match="encoding is refused") as caught:
        parse_bytes(data, source="u7.xml")
    assert caught.value.line == 1
    parse_bytes(b'<?xml version="1.0" encoding="UTF-8"?><x/>')  # the usual one still reads
