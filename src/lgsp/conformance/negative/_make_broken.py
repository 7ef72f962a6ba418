"""The broken-codes and malformed folders, edXML side: one defect per file.

Dossier payloads (codes, transitions, malformed JSON) are made in ``_make_dossiers``.
"""

from __future__ import annotations

import re

from lgsp.conformance.negative._base import (
    document_bytes,
    edit,
    remove_block,
    status_bytes,
    to_cp1258,
)

__all__ = ["build_codes", "build_malformed"]

_FROM = "<edXML:OrganId>000.00.00.G22</edXML:OrganId>"


def _sender(code: str) -> bytes:
    """The base document with the sender's organ code replaced."""
    return edit(document_bytes(), _FROM, f"<edXML:OrganId>{code}</edXML:OrganId>")


def build_codes() -> dict[str, bytes]:
    """Organ codes of every broken form, status codes no source defines, bad type codes."""
    doc = document_bytes()
    status = status_bytes()
    trace = "<edXML:TraceHeader>\n          <edXML:OrganId>000.00.00.G22"
    return {
        "organ-lowercase.xml": _sender("000.00.00.g22"),
        "organ-too-short.xml": _sender("000.00.G22"),
        "organ-too-long.xml": _sender("000.000.00.G22"),
        "organ-trailing-space.xml": _sender("000.00.00.G22 "),
        "organ-wrong-level.xml": _sender("G22.00.00.000"),
        "organ-level1-digits.xml": _sender("000.00.00.122"),
        "organ-vietnamese-letter.xml": _sender("000.00.00.Đ22"),
        "organ-empty-segment.xml": _sender("000..00.G22"),
        "receiver-organ-lowercase.xml": edit(
            doc, "<edXML:OrganId>000.00.00.H41<", "<edXML:OrganId>000.00.00.h41<"
        ),
        "trace-organ-short.xml": edit(doc, trace, trace.replace("000.00.00.G22", "00.00.00.G22")),
        "status-responsefor-organ.xml": edit(
            status, "<edXML:OrganId>000.00.00.G22<", "<edXML:OrganId>000.00.00.G2<"
        ),
        "status-code-07.xml": edit(status, ">03</edXML:StatusCode>", ">07</edXML:StatusCode>"),
        "status-code-99.xml": edit(status, ">03</edXML:StatusCode>", ">99</edXML:StatusCode>"),
        "document-type-3.xml": edit(
            doc, "<edXML:Type>1</edXML:Type>", "<edXML:Type>3</edXML:Type>"
        ),
        "business-doctype-7.xml": edit(
            doc, "<edXML:BussinessDocType>0<", "<edXML:BussinessDocType>7<"
        ),
    }


def _truncated(data: bytes) -> bytes:
    """Cut in the middle of the header, as a dropped connection leaves a file."""
    at = data.find(b"<edXML:OtherInfo>")
    if at < 0:
        raise ValueError("the sample has no OtherInfo")
    return data[: at + 40]


def build_malformed() -> dict[str, bytes]:
    """Not XML, not edXML, missing or doubled blocks, unreadable values, wrong encodings."""
    doc = document_bytes()
    status = status_bytes()
    ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
    return {
        "truncated.xml": _truncated(doc),
        "empty.xml": b"",
        "leading-junk.xml": b"1212" + doc,
        "html-error-page.xml": (
            b"<html><head><title>502 Bad Gateway</title></head>"
            b"<body><h1>502 Bad Gateway</h1><hr/>nginx</body></html>\n"
        ),
        "wrong-root-namespace.xml": doc.replace(ns.encode(), b"http://www.go.vn/eDoc"),
        "wrong-child-namespace.xml": edit(
            doc, f'xmlns:edXML="{ns}"', 'xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2019"'
        ),
        "missing-message-header.xml": remove_block(
            doc, "<edXML:MessageHeader>", "</edXML:MessageHeader>"
        ),
        "missing-from.xml": remove_block(doc, "<edXML:From>", "</edXML:From>"),
        "missing-to.xml": remove_block(doc, "<edXML:To>", "</edXML:To>"),
        "status-without-statuscode.xml": remove_block(
            status, "<edXML:StatusCode>", "</edXML:StatusCode>"
        ),
        "status-where-document-expected.xml": status,
        "bad-promulgation-date.xml": edit(
            doc, "<edXML:PromulgationDate>2024/05/02<", "<edXML:PromulgationDate>2024/13/45<"
        ),
        "date-in-wrong-form.xml": edit(
            doc, "<edXML:PromulgationDate>2024/05/02<", "<edXML:PromulgationDate>02-05-2024<"
        ),
        "status-bad-timestamp.xml": edit(
            status, "<edXML:Timestamp>2024/05/03 09:00:00<", "<edXML:Timestamp>03/05/2024 9h<"
        ),
        "type-not-a-number.xml": edit(
            doc, "<edXML:Type>1</edXML:Type>", "<edXML:Type>Công văn</edXML:Type>"
        ),
        "duplicate-subject.xml": edit(
            doc,
            "<edXML:Content>",
            "<edXML:Subject>V/v chuyển kinh phí gấp</edXML:Subject>\n        <edXML:Content>",
        ),
        "duplicate-message-header.xml": edit(
            doc,
            "</edXML:MessageHeader>",
            "</edXML:MessageHeader>\n      <edXML:MessageHeader/>",
        ),
        "duplicate-status-code.xml": edit(
            status,
            "<edXML:StatusCode>03</edXML:StatusCode>",
            "<edXML:StatusCode>03</edXML:StatusCode>\n"
            "        <edXML:StatusCode>06</edXML:StatusCode>",
        ),
        "non-utf8-cp1258.xml": to_cp1258(doc),
        "bom-then-newline.xml": b"\xef\xbb\xbf\n" + doc,
        "double-bom.xml": b"\xef\xbb\xbf\xef\xbb\xbf" + doc,
        "utf16-bom-on-utf8.xml": b"\xff\xfe" + doc,
        "nul-character-reference.xml": edit(
            doc, ">1234</edXML:CodeNumber>", ">12&#0;34</edXML:CodeNumber>"
        ),
        "vertical-tab.xml": edit(doc, ">1234</edXML:CodeNumber>", ">12\x0b34</edXML:CodeNumber>"),
        "attachment-bad-base64.xml": re.sub(
            rb"(<edXML:ContentTransferEncoded[^>]*>)(.{12})",
            rb"\1UEsD!!!\2",
            doc,
            count=1,
        ),
        "manifest-without-attachment.xml": edit(
            doc, "<edXML:ContentId>cid:cv-1234-pdf<", "<edXML:ContentId>cid:cv-9999-pdf<"
        ),
    }
