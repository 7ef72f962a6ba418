"""The rule catalogue: every rule has a package that breaks it, with the severity the
catalogue gives it under each profile; overrides; lengths in characters; check() and the
writer refuse what is wrong.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import lgsp
from conftest import PDF_BYTES, MakePackage, MakeStatus, build_package, build_status
from lgsp import DocumentPackage, StatusPackage, ValidationError
from lgsp.documents import (
    RULES,
    Attachment,
    Business,
    BusinessDocumentInfo,
    DocumentType,
    OtherInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    WriteOptions,
    check,
    validate,
)

Package = DocumentPackage | StatusPackage
NO_CHECK = WriteOptions(validate_first=False)


def _doc_bytes(**overrides: object) -> bytes:
    return lgsp.package_to_bytes(build_package(**overrides), options=NO_CHECK)


def _read(data: bytes) -> Package:
    return lgsp.read_package(data)


def _edit(data: bytes, old: bytes, new: bytes, count: int = 1) -> bytes:
    assert data.count(old) >= count, old
    return data.replace(old, new, count)


def _zip_one(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# one package per rule, each breaking only that rule's condition (others may come along)


def _xml_schema() -> Package:
    # Subject before DocumentType: out of the library's order.
    data = _doc_bytes()
    subject = re.search(rb"\s*<edXML:Subject>.*?</edXML:Subject>", data, re.DOTALL)
    assert subject is not None
    data = data.replace(subject.group(0), b"", 1)
    return _read(
        _edit(
            data,
            b"\n        <edXML:DocumentType>",
            subject.group(0) + b"\n        <edXML:DocumentType>",
        )
    )


def _undeclared_prefix() -> Package:
    return _read(_edit(_doc_bytes(), b"<edXML:Reference>", b'<edXML:Reference xlink:href="x">'))


def _namespace() -> Package:
    # The whole package with no namespace at all.
    data = _doc_bytes()
    data = re.sub(rb' xmlns(:edXML)?="[^"]*"', b"", data)
    return _read(data.replace(b"edXML:", b""))


def _unknown_element() -> Package:
    return _read(
        _edit(
            _doc_bytes(),
            b"</edXML:MessageHeader>",
            "<edXML:Ghichu>ghi chú</edXML:Ghichu></edXML:MessageHeader>".encode(),
        )
    )


def _duplicate_element() -> Package:
    return _read(
        _edit(
            _doc_bytes(),
            b"<edXML:Content>",
            "<edXML:Subject>Trích yếu thứ hai</edXML:Subject><edXML:Content>".encode(),
        )
    )


def _empty_block() -> Package:
    return _read(
        _edit(
            _doc_bytes(),
            b"<edXML:SteeringType>",
            b"<edXML:ResponseFor><edXML:OrganId/></edXML:ResponseFor><edXML:SteeringType>",
        )
    )


def _signature() -> Package:
    return _read(
        _edit(
            _doc_bytes(),
            b"</edXML:edXMLHeader>",
            b"<Signature><SignedInfo/></Signature></edXML:edXMLHeader>",
        )
    )


def _content_id() -> Package:
    return _read(
        _edit(
            _doc_bytes(),
            b"<ContentId>cid:cv-1234-pdf</ContentId>",
            b"<ContentId>cv-1234-pdf</ContentId>",
        )
    )


def _business_spelling() -> Package:
    data = _edit(_doc_bytes(), b"<edXML:Bussiness>", b"<edXML:Business>")
    return _read(_edit(data, b"</edXML:Bussiness>", b"</edXML:Business>"))


def _attachment_place() -> Package:
    data = _doc_bytes()
    block = re.search(rb"\s*<AttachmentEncoded>.*</AttachmentEncoded>", data, re.DOTALL)
    assert block is not None
    data = data.replace(block.group(0), b"")
    return _read(_edit(data, b"</edXML:edXMLEnvelope>", block.group(0) + b"</edXML:edXMLEnvelope>"))


def _status_body() -> Package:
    data = lgsp.package_to_bytes(build_status(), options=NO_CHECK)
    return _read(_edit(data, b"</edXML:edXMLHeader>", b"</edXML:edXMLHeader><edXML:edXMLBody/>"))


def _manifest_attachment_missing() -> Package:
    return _read(
        _edit(
            _doc_bytes(),
            b"<edXML:ContentId>cid:cv-1234-pdf</edXML:ContentId>",
            b"<edXML:ContentId>cid:khong-co</edXML:ContentId>",
        )
    )


def _manifest_reference_missing() -> Package:
    data = _doc_bytes()
    ref = re.search(
        rb"\s*<edXML:Reference>\s*<edXML:ContentId>cid:cv-1234-docx.*?"
        rb"</edXML:Reference>",
        data,
        re.DOTALL,
    )
    assert ref is not None
    return _read(data.replace(ref.group(0), b""))


def _manifest_mismatch() -> Package:
    return _read(
        _edit(
            _doc_bytes(),
            "<edXML:AttachmentName>Công văn 1234-VPCP.pdf".encode(),
            "<edXML:AttachmentName>Tên khác.pdf".encode(),
        )
    )


def _attachment_content() -> Package:
    data = _doc_bytes()
    data, n = re.subn(rb"(<edXML:ContentTransferEncoded[^>]*>)[^<]*", rb"\1@@@@", data, count=1)
    assert n == 1
    return _read(data)


def _attachment_label() -> Package:
    return _read(
        _edit(
            _doc_bytes(),
            b"<ContentType>application/zip</ContentType>",
            b"<ContentType>text/plain</ContentType>",
        )
    )


def _one_attachment(**kwargs: object) -> list[Attachment]:
    return [Attachment.from_bytes("Tờ trình.pdf", PDF_BYTES, **kwargs)]  # type: ignore[arg-type]


BUILDERS: dict[str, Callable[[], Package]] = {
    "xml.schema": _xml_schema,
    "read.undeclared_prefix": _undeclared_prefix,
    "read.namespace": _namespace,
    "read.unknown_element": _unknown_element,
    "read.duplicate_element": _duplicate_element,
    "read.empty_block": _empty_block,
    "read.signature": _signature,
    "read.content_id": _content_id,
    "read.business_spelling": _business_spelling,
    "read.attachment_place": _attachment_place,
    "read.status_body": _status_body,
    "header.required": lambda: build_package(subject=None),
    "header.recommended": lambda: build_package(document_id=None),
    "organ_id.format": lambda: build_package(
        # A hyphen is in none of the accepted forms, strict or lenient.
        from_=build_package().header.from_.model_copy(update={"organ_id": "UBND-NGHE-AN"})
    ),
    "length.max": lambda: build_package(subject="Đ" * 501),
    "number.range": lambda: build_package(other_info=OtherInfo(priority=0, page_amount=-1)),
    "priority.range": lambda: build_package(other_info=OtherInfo(priority=7)),
    "document_type.type": lambda: build_package(
        document_type=DocumentType(type=18, type_detail=0, type_name="Công văn")
    ),
    "document_id.format": lambda: build_package(document_id="văn bản số 12"),
    "date.order": lambda: build_package(due_date=dt.date(2024, 5, 1)),
    "trace.missing": lambda: build_package(traces=[]),
    "business.missing": lambda: build_package(business=None),
    "business.doc_type": lambda: build_package(business=Business(doc_type=9)),
    "business.revoke.target": lambda: build_package(
        business=Business(doc_type=1, reason="Thu hồi văn bản điện tử")
    ),
    "business.update.info": lambda: build_package(
        business=Business(doc_type=2, reason="Cập nhật văn bản điện tử")
    ),
    "business.replace.list": lambda: build_package(
        business=Business(doc_type=3, reason="Văn bản thay thế")
    ),
    "business.extra_block": lambda: build_package(
        business=Business(
            doc_type=0,
            replacements=[ReplacementInfo(document_id="x", organ_ids=["000.00.00.H41"])],
        )
    ),
    "manifest.attachment_missing": _manifest_attachment_missing,
    "manifest.reference_missing": _manifest_reference_missing,
    "manifest.duplicate_id": lambda: build_package(
        attachments=_one_attachment(content_id="trung") + _one_attachment(content_id="trung")
    ),
    "manifest.mismatch": _manifest_mismatch,
    "attachment.content": _attachment_content,
    "attachment.label": _attachment_label,
    "attachment.name": lambda: build_package(
        attachments=[Attachment.from_bytes("", PDF_BYTES, content_id="khong-ten")]
    ),
    "status.code": lambda: build_status(code="99"),
    "status.required": lambda: build_status(timestamp=None),
    # A vertical tab, as Word copy-paste leaves in Vietnamese document titles.
    "text.xml_char": lambda: build_package(subject="Trích\x0byếu văn bản"),
}


def test_every_rule_has_a_negative_test() -> None:
    assert set(BUILDERS) == set(RULES)


def test_catalogue_is_consistent() -> None:
    order = {"info": 0, "warning": 1, "error": 2}
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule.description
        # What lgsp accepts is never judged more harshly than what it sends.
        assert order[rule.lenient] <= order[rule.strict], rule_id
        assert rule.severity("strict") == rule.strict
        assert rule.severity("lenient") == rule.lenient


@pytest.mark.parametrize("rule_id", sorted(BUILDERS))
def test_rule_fires_with_catalogue_severity(rule_id: str) -> None:
    pkg = BUILDERS[rule_id]()
    for profile in ("strict", "lenient"):
        found = [f for f in validate(pkg, profile=profile) if f.rule == rule_id]
        assert found, f"{rule_id} not reported under {profile}"
        expected = RULES[rule_id].severity(profile)
        assert {f.severity for f in found} == {expected}, profile
        for f in found:
            assert f.location
            assert f.message


def test_valid_packages_have_no_error(make_package: MakePackage, make_status: MakeStatus) -> None:
    for pkg in (make_package(), make_status()):
        for profile in ("strict", "lenient"):
            found = validate(pkg, profile=profile)
            assert [f for f in found if f.severity == "error"] == [], found
    # Strict reports nothing at all on the reference package, not even a warning.
    assert validate(make_package(), profile="strict") == []
    assert validate(make_status(), profile="strict") == []


def test_valid_business_kinds_pass(make_package: MakePackage) -> None:
    kinds = {
        1: Business(doc_type=1, reason="Thu hồi văn bản điện tử", paper=0),
        2: Business(
            doc_type=2,
            reason="Cập nhật văn bản điện tử",
            document_info=BusinessDocumentInfo(
                document_info=1,
                document_receiver=1,
                receivers=[Receiver(organ_id="000.00.00.H41", receiver_type=1)],
            ),
        ),
        3: Business(
            doc_type=3,
            reason="Văn bản thay thế",
            replacements=[
                ReplacementInfo(
                    document_id="000.00.00.G22,2024/01/30,7806/VPCP-TTĐT",
                    organ_ids=["000.00.00.H41"],
                )
            ],
        ),
    }
    target = [
        ResponseFor(
            organ_id="000.00.00.H41",
            code="1/UBND",
            promulgation_date=dt.date(2024, 1, 30),
            document_id="000.00.00.H41,2024/01/30,1/UBND",
        )
    ]
    for kind, business in kinds.items():
        pkg = make_package(business=business, response_for=target if kind == 1 else [])
        errors = [f for f in validate(pkg, profile="strict") if f.severity == "error"]
        assert errors == [], (kind, errors)


def test_revoke_target_may_be_named_in_business() -> None:
    pkg = build_package(business=Business(doc_type=1, document_id="000.00.00.G22,2024/01/02,1/X"))
    assert "business.revoke.target" not in {f.rule for f in validate(pkg)}


def test_replace_info_needs_document_and_organs() -> None:
    pkg = build_package(
        business=Business(doc_type=3, replacements=[ReplacementInfo(document_id="x")])
    )
    found = [f for f in validate(pkg) if f.rule == "business.replace.list"]
    assert [f.location for f in found] == [
        "TraceHeaderList/Bussiness/ReplacementInfoList/ReplacementInfo[1]"
    ]


def test_unknown_status_code_is_kept() -> None:
    pkg = build_status(code="999")
    assert pkg.header.code == "999"
    assert pkg.header.status is None
    assert build_status(code="1").header.code == "01"  # the Bkav hub's short form


@pytest.mark.parametrize("organ_id", ["28.22.H17", "vxp.saas.03"])
def test_kit_organ_codes_are_strict_errors_but_leniently_accepted(organ_id: str) -> None:
    """The kit's 28.22.H17 (QĐ 20/2020 form) and vxp.saas.03 (a system id) break the
    13-character QCVN 102 rule: an error when sending, accepted when receiving."""
    org = build_package().header.from_.model_copy(update={"organ_id": organ_id})
    pkg = build_package(from_=org)
    strict = [f for f in validate(pkg, profile="strict") if f.rule == "organ_id.format"]
    assert [(f.severity, f.location) for f in strict] == [("error", "MessageHeader/From/OrganId")]
    assert [f for f in validate(pkg, profile="lenient") if f.rule == "organ_id.format"] == []


# --------------------------------------------------------------------------------------------
# overrides


def test_override_turns_a_rule_off() -> None:
    pkg = build_package(business=None)
    assert "business.missing" in {f.rule for f in validate(pkg)}
    found = validate(pkg, overrides={"business.missing": "off"})
    assert "business.missing" not in {f.rule for f in found}
    assert found == []


def test_override_changes_severity() -> None:
    pkg = build_package(subject="Đ" * 501)
    (finding,) = [
        f for f in validate(pkg, overrides={"length.max": "info"}) if f.rule == "length.max"
    ]
    assert finding.severity == "info"
    (finding,) = [
        f
        for f in validate(pkg, profile="lenient", overrides={"length.max": "error"})
        if f.rule == "length.max"
    ]
    assert finding.severity == "error"


def test_override_by_prefix() -> None:
    pkg = build_package(business=Business(doc_type=2))
    assert "business.update.info" in {f.rule for f in validate(pkg)}
    found = validate(pkg, overrides={"business": "warning"})
    assert {f.severity for f in found if f.rule.startswith("business.")} == {"warning"}
    assert validate(pkg, overrides={"business": "off"}) == []


def test_override_leaves_other_rules_alone() -> None:
    pkg = build_package(business=None, traces=[])
    found = validate(pkg, overrides={"business.missing": "off"})
    assert [f.rule for f in found] == ["trace.missing"]
    assert found[0].severity == RULES["trace.missing"].strict


def test_check_honours_overrides() -> None:
    pkg = build_package(business=None)
    with pytest.raises(ValidationError):
        check(pkg)
    assert check(pkg, overrides={"business.missing": "warning"})[0].severity == "warning"


# --------------------------------------------------------------------------------------------
# lengths in characters


def _length_findings(pkg: DocumentPackage) -> list[lgsp.Finding]:
    return [f for f in validate(pkg) if f.rule == "length.max"]


def test_length_counts_characters_not_code_points_of_nfd() -> None:
    nfc = ("Quyết định về việc phê duyệt kế hoạch ứng dụng công nghệ thông tin " * 10)[:500]
    assert len(nfc) == 500
    nfd = unicodedata.normalize("NFD", nfc)
    assert len(nfd) > 500  # every tone mark is a code point of its own
    assert len(nfd.encode("utf-8")) > 500
    pkg = build_package(subject=nfd)
    assert pkg.header.subject == nfd  # kept as given
    assert _length_findings(pkg) == []
    assert _length_findings(build_package(subject=nfc)) == []


def test_length_501_nfc_characters_fails() -> None:
    text = "Đề" * 250 + "ệ"
    assert len(text) == 501
    (finding,) = _length_findings(build_package(subject=text))
    assert finding.location == "MessageHeader/Subject"
    assert "501" in finding.message
    assert "500" in finding.message
    (finding,) = _length_findings(build_package(subject=unicodedata.normalize("NFD", text)))
    assert "501" in finding.message


def test_length_is_not_bytes() -> None:
    # 100 characters of three UTF-8 bytes each: 300 bytes, within OrganName's 200 characters.
    name = "ệ" * 200
    org = build_package().header.from_.model_copy(update={"organ_name": name})
    assert _length_findings(build_package(from_=org)) == []
    org = org.model_copy(update={"organ_name": name + "a"})
    (finding,) = _length_findings(build_package(from_=org))
    assert finding.location == "MessageHeader/From/OrganName"


def test_length_is_not_dot_segments() -> None:
    """The Bkav checker counts dot-separated segments; a correct one counts characters."""
    notation = "A." * 15 + "B"  # 31 characters, 16 segments
    pkg = build_package(code=build_package().header.code.model_copy(update={"notation": notation}))
    (finding,) = _length_findings(pkg)
    assert finding.location == "MessageHeader/Code/CodeNotation"


# --------------------------------------------------------------------------------------------
# check() and the writer


def test_check_raises_listing_findings() -> None:
    pkg = build_package(subject=None, business=Business(doc_type=2))
    with pytest.raises(ValidationError) as info:
        check(pkg)
    rules = {f.rule for f in info.value.findings if f.severity == "error"}
    assert {"header.required", "business.update.info"} <= rules
    message = str(info.value)
    assert "header.required" in message
    assert "business.update.info" in message
    assert "MessageHeader/Subject" in message


def test_check_returns_findings_when_no_error() -> None:
    pkg = build_package(traces=[])
    found = check(pkg)
    assert [f.rule for f in found] == ["trace.missing"]


def test_writer_validates_first(tmp_path: Path) -> None:
    pkg = build_package(subject=None)
    with pytest.raises(ValidationError) as info:
        lgsp.package_to_bytes(pkg)
    assert "header.required" in {f.rule for f in info.value.findings}
    target = tmp_path / "goi.edxml"
    with pytest.raises(ValidationError):
        lgsp.write_package(pkg, target)
    assert list(tmp_path.iterdir()) == []  # nothing, not even a partial file
    # Asked not to check, the writer writes what it is given.
    lgsp.write_package(pkg, target, options=NO_CHECK)
    assert target.is_file()
    assert lgsp.read_document(target).header.subject is None


def test_writer_validates_status_first() -> None:
    with pytest.raises(ValidationError):
        lgsp.package_to_bytes(build_status(code=None))
    data = lgsp.package_to_bytes(build_status())
    assert b"<edXML:StatusCode>03</edXML:StatusCode>" in data


def test_deep_validation_reads_attachments() -> None:
    """deep=True reads every attachment through; a bad CRC only shows up then."""
    raw = bytearray(_zip_one("a.pdf", PDF_BYTES * 20))
    raw[14:18] = b"\0\0\0\0"
    central = raw.find(b"PK\x01\x02")
    raw[central + 16 : central + 20] = b"\0\0\0\0"
    data = _doc_bytes()
    data, n = re.subn(
        rb"(<edXML:ContentTransferEncoded[^>]*>)[^<]*",
        lambda m: m.group(1) + base64.b64encode(bytes(raw)),
        data,
        count=1,
    )
    assert n == 1
    pkg = _read(data)
    assert "attachment.content" in {f.rule for f in validate(pkg, deep=True)}
    assert "attachment.content" not in {f.rule for f in validate(pkg, deep=False)}


def test_blanks_around_an_organ_code_are_read_but_refused_by_the_strict_profile() -> None:
    data = lgsp.package_to_bytes(build_package())
    organ = build_package().header.from_.organ_id
    spaced = data.replace(f">{organ}<".encode(), f">{organ} <".encode(), 1)
    assert spaced != data
    with lgsp.read_document(spaced) as pkg:
        assert pkg.header.from_.organ_id == organ  # read leniently: the code itself
        strict = [f for f in lgsp.validate(pkg, profile="strict") if f.rule == "organ_id.format"]
        lenient = [f for f in lgsp.validate(pkg, profile="lenient") if f.rule == "organ_id.format"]
    assert [(f.severity, f.location) for f in strict] == [
        ("error", "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId")
    ]
    assert [f.severity for f in lenient] == ["warning"]
    assert f"{organ} " in strict[0].message
