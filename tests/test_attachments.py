"""Attachments: recognised by their bytes, not their label; cid: optional; saved safely;
built from files without loading them whole.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

import lgsp
from conftest import DOCX_BYTES, PARSE_PATHS, PDF_BYTES, ShortReads, build_package
from lgsp import AttachmentError
from lgsp._xml import XMLLimits
from lgsp.documents import Attachment, validate

QCVN = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def _zip_one(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buf.getvalue()


def _package_with(
    payload: bytes,
    *,
    label: str,
    name: str = "Quyết định.pdf",
    cid: str = "cid:qd-01",
    manifest_cid: str | None = None,
) -> bytes:
    """A valid package whose only attachment has the given wire payload, label and ContentId."""
    pkg = build_package(
        attachments=[Attachment.from_bytes(name, b"placeholder", content_id="qd-01")]
    )
    data = lgsp.package_to_bytes(pkg)
    encoded = base64.b64encode(payload)
    data, n = re.subn(
        rb"(<edXML:ContentTransferEncoded[^>]*>)[^<]*(<)",
        lambda m: m.group(1) + encoded + m.group(2),
        data,
    )
    assert n == 1
    # Both labels: the manifest Reference's (edXML:-prefixed) and the Attachment's (bare).
    data, n = re.subn(
        rb"(<(?:edXML:)?ContentType>)application/zip(<)",
        lambda m: m.group(1) + label.encode() + m.group(2),
        data,
    )
    assert n == 2
    data, n = re.subn(
        rb"<ContentId>cid:qd-01</ContentId>", f"<ContentId>{cid}</ContentId>".encode(), data
    )
    assert n == 1
    ref = manifest_cid if manifest_cid is not None else "cid:qd-01"
    data, n = re.subn(
        rb"<edXML:ContentId>cid:qd-01</edXML:ContentId>",
        f"<edXML:ContentId>{ref}</edXML:ContentId>".encode(),
        data,
    )
    assert n == 1
    return data


def _rules(pkg: Any, profile: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in validate(pkg, profile=profile):  # type: ignore[arg-type]
        out.setdefault(f.rule, []).append(f.severity)
    return out


# --------------------------------------------------------------------------------------------
# recognised by magic bytes


@pytest.mark.parametrize("label", ["text/plain", "application/pdf", "application/octet-stream"])
def test_zip_payload_is_unwrapped_whatever_the_label(limits: XMLLimits, label: str) -> None:
    data = _package_with(_zip_one("Quyết định.pdf", PDF_BYTES), label=label)
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.wire_content_type == label
        assert att.encoding == "zip"
        assert att.zip_member == "Quyết định.pdf"
        assert att.read_bytes() == PDF_BYTES
        assert att.size == len(PDF_BYTES)
        assert att.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
        assert att.content_type == "application/pdf"  # the file's own type, from its name
        # Official readers unzip only what is labelled application/zip: flagged.
        assert _rules(pkg, "strict").get("attachment.label") == ["error"]
        assert _rules(pkg, "lenient").get("attachment.label") == ["warning"]


def test_zip_payload_labelled_zip_is_not_flagged(limits: XMLLimits) -> None:
    data = _package_with(_zip_one("Quyết định.pdf", PDF_BYTES), label="application/zip")
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.encoding == "zip"
        assert att.read_bytes() == PDF_BYTES
        assert "attachment.label" not in _rules(pkg, "strict")
        assert not [f for f in validate(pkg, profile="strict") if f.severity == "error"]


def test_raw_pdf_labelled_pdf_is_handed_out_raw(limits: XMLLimits) -> None:
    data = _package_with(PDF_BYTES, label="application/pdf")
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.encoding == "raw"
        assert att.zip_member is None
        assert att.problem is None
        assert att.read_bytes() == PDF_BYTES
        assert att.size == len(PDF_BYTES)
        assert att.wire_size == len(PDF_BYTES)
        assert "attachment.label" not in _rules(pkg, "strict")


def test_raw_payload_labelled_zip_is_flagged(limits: XMLLimits) -> None:
    data = _package_with(PDF_BYTES, label="application/zip")
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.encoding == "raw"
        assert att.read_bytes() == PDF_BYTES
        assert _rules(pkg, "strict").get("attachment.label") == ["error"]


@pytest.mark.parametrize(
    "label",
    [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/docx",  # EdXML102's own non-standard label
    ],
)
def test_docx_sent_raw_is_handed_out_as_is(limits: XMLLimits, label: str) -> None:
    """A DOCX is a ZIP of several members: a file in its own right, not a wrapper."""
    data = _package_with(DOCX_BYTES, label=label, name="Phụ lục.docx")
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.encoding == "raw"
        assert att.zip_member is None
        assert att.problem is None
        assert att.read_bytes() == DOCX_BYTES
        with zipfile.ZipFile(att.open()) as archive:
            assert "word/document.xml" in archive.namelist()
        assert "attachment.label" not in _rules(pkg, "strict")
        assert "attachment.content" not in _rules(pkg, "strict")


def test_docx_wrapped_in_a_zip_is_unwrapped_to_the_docx(limits: XMLLimits) -> None:
    data = _package_with(
        _zip_one("Phụ lục.docx", DOCX_BYTES), label="application/zip", name="Phụ lục.docx"
    )
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.encoding == "zip"
        assert att.read_bytes() == DOCX_BYTES


def test_empty_zip_is_a_file_not_a_wrapper(limits: XMLLimits) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    empty = buf.getvalue()
    data = _package_with(empty, label="application/zip", name="rỗng.zip")
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.encoding == "raw"
        assert att.read_bytes() == empty


def test_payload_that_only_starts_like_a_zip(limits: XMLLimits) -> None:
    fake = b"PK\x03\x04" + b"\x00" * 64
    data = _package_with(fake, label="application/zip")
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.problem is not None
        assert "zip" in att.problem.lower()
        assert _rules(pkg, "lenient").get("attachment.content") == ["error"]
        with pytest.raises(AttachmentError):
            att.open()


# --------------------------------------------------------------------------------------------
# ContentId with or without cid:


@pytest.mark.parametrize(
    ("cid", "manifest_cid"),
    [
        ("cid:qd-01", "cid:qd-01"),
        ("qd-01", "qd-01"),  # the .NET sample writes no cid:
        ("qd-01", "cid:qd-01"),
        ("cid:qd-01", "qd-01"),
        ("CID:qd-01", "cid:qd-01"),
    ],
)
def test_content_id_with_or_without_cid(limits: XMLLimits, cid: str, manifest_cid: str) -> None:
    data = _package_with(
        _zip_one("a.pdf", PDF_BYTES), label="application/zip", cid=cid, manifest_cid=manifest_cid
    )
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.content_id == "qd-01"
        rules = _rules(pkg, "strict")
        # The manifest matches the attachment after stripping cid: on both sides.
        assert "manifest.attachment_missing" not in rules
        assert "manifest.reference_missing" not in rules
        has_prefix = cid.lower().startswith("cid:")
        assert ("read.content_id" in rules) is not has_prefix
        if not has_prefix:
            assert rules["read.content_id"] == ["error"]
            assert _rules(pkg, "lenient")["read.content_id"] == ["info"]


def test_writer_always_writes_cid() -> None:
    pkg = build_package()
    data = lgsp.package_to_bytes(pkg)
    ids = re.findall(rb"<(?:edXML:)?ContentId>([^<]*)</(?:edXML:)?ContentId>", data)
    assert sorted(ids) == sorted([b"cid:cv-1234-pdf", b"cid:cv-1234-docx"] * 2)


# --------------------------------------------------------------------------------------------
# saving to a folder


@pytest.mark.parametrize(
    ("name", "saved"),
    [
        ("../../evil.pdf", "evil.pdf"),
        ("..\\..\\windows\\evil.pdf", "evil.pdf"),
        ("/etc/passwd", "passwd"),
        ("thư mục/../../Tờ trình.pdf", "Tờ trình.pdf"),
        ('a<b>c:d"e|f?g*.pdf', "a_b_c_d_e_f_g_.pdf"),
        ("..", "qd-01"),
        ("../", "qd-01"),
    ],
)
def test_save_sanitises_the_name(tmp_path: Path, limits: XMLLimits, name: str, saved: str) -> None:
    data = _package_with(_zip_one("x.pdf", PDF_BYTES), label="application/zip")
    data = data.replace(
        "Quyết định.pdf".encode(), name.replace("&", "&amp;").replace("<", "&lt;").encode()
    )
    target = tmp_path / "out"
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.name == name
        path = att.save(target)
    assert path.parent.resolve() == target.resolve()
    assert path.name == saved
    assert path.read_bytes() == PDF_BYTES
    # Nothing was written anywhere but the target folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in target.iterdir()] == [saved]


def test_save_with_an_explicit_file_name(tmp_path: Path) -> None:
    att = Attachment.from_bytes("Tờ trình.pdf", PDF_BYTES, content_id="t1")
    path = att.save(tmp_path, file_name="../khác.pdf")
    assert path == tmp_path / "khác.pdf"
    assert path.read_bytes() == PDF_BYTES


def test_save_refuses_an_attachment_with_a_problem(tmp_path: Path, limits: XMLLimits) -> None:
    data = _package_with(b"", label="application/zip")
    data = re.sub(rb"(<edXML:ContentTransferEncoded[^>]*>)(<)", rb"\1%%not base64%%\2", data)
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.problem is not None
        with pytest.raises(AttachmentError):
            att.save(tmp_path)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# construction


class _ChunkRecorder(io.RawIOBase):
    """A binary source that records how much each read asks for."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.requests: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.requests.append(size)
        return self._inner.read(size)

    def readinto(self, buffer: Any) -> int:  # pragma: no cover - read() is what is used
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def test_from_file_streams_in_bounded_chunks() -> None:
    data = bytes(range(256)) * 20_000  # 5 MB
    source = _ChunkRecorder(data)
    att = Attachment.from_file("Bản đồ.tif", source, content_id="map", spool_memory=1 << 16)
    assert len(source.requests) > 1
    assert all(0 < size <= 1 << 20 for size in source.requests), source.requests[:5]
    source.close()
    # The bytes were copied: the attachment outlives its source.
    assert att.size == len(data)
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    with att.open() as stream:
        assert stream.read(10) == data[:10]
        stream.seek(len(data) - 10)
        assert stream.read() == data[-10:]
    assert att.content_type == "image/tiff"
    assert att.description == "Bản đồ.tif"


def test_from_path_reads_at_use_time(tmp_path: Path) -> None:
    path = tmp_path / "Kế hoạch.pdf"
    path.write_bytes(PDF_BYTES)
    att = Attachment.from_path(path)
    assert att.name == "Kế hoạch.pdf"
    assert att.content_type == "application/pdf"
    assert att.size == len(PDF_BYTES)
    assert att.read_bytes() == PDF_BYTES
    with pytest.raises(AttachmentError):
        Attachment.from_path(tmp_path / "không có.pdf")


def test_from_bytes_defaults() -> None:
    att = Attachment.from_bytes("Báo cáo.docx", DOCX_BYTES)
    assert att.content_id  # a fresh id
    assert att.content_id != Attachment.from_bytes("Báo cáo.docx", DOCX_BYTES).content_id
    assert att.description == "Báo cáo.docx"
    assert att.content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert att.encoding is None
    assert att.wire_content_type is None
    assert att.problem is None
    assert att.read_bytes() == DOCX_BYTES


def test_open_gives_independent_streams(limits: XMLLimits) -> None:
    payload = bytes(range(256)) * 300
    data = _package_with(_zip_one("a.bin", payload), label="application/zip")
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        with att.open() as one, att.open() as two:
            assert one.read(1000) == payload[:1000]
            assert two.read(10) == payload[:10]
            assert one.read() == payload[1000:]
            assert two.read() == payload[10:]
        chunks = list(att.iter_chunks(4096))
        assert len(chunks) > 1
        assert b"".join(chunks) == payload


# --------------------------------------------------------------------------------------------
# what may stand inside ContentTransferEncoded


def _variant_package(mutate: str) -> tuple[bytes, bytes]:
    """A package whose one attachment's Base64 text carries other XML constructs."""
    payload = bytes(range(256)) * 40
    pkg = build_package(
        attachments=[Attachment.from_bytes("Biểu mẫu.bin", payload, content_id="bm")]
    )
    data = lgsp.package_to_bytes(pkg)
    m = re.search(rb"(<edXML:ContentTransferEncoded[^>]*>)([^<]*)(<)", data)
    assert m is not None
    b64 = m.group(2)
    mid = len(b64) // 2
    body = {
        "comment": b64[:mid] + "<!-- ghi chú -->".encode() + b64[mid:],
        "processing-instruction": b64[:mid] + b"<?lgsp nothing?>" + b64[mid:],
        "cdata": b64[:mid] + b"<![CDATA[" + b64[mid : mid + 8] + b"]]>" + b64[mid + 8 :],
        "decimal-reference": b64[:mid] + b"&#%d;" % b64[mid] + b64[mid + 1 :],
        "hex-reference": b64[:mid] + b"&#x%x;" % b64[mid] + b64[mid + 1 :],
        "mime-lines": b"\r\n".join(b64[i : i + 76] for i in range(0, len(b64), 76)),
        "indented": b"\n        " + b64 + b"\n      ",
    }[mutate]
    return data[: m.start(2)] + body + data[m.end(2) :], payload


@pytest.mark.parametrize(
    "mutate",
    [
        "comment",
        "processing-instruction",
        "cdata",
        "decimal-reference",
        "hex-reference",
        "mime-lines",
        "indented",
    ],
)
def test_attachment_text_with_markup(limits: XMLLimits, mutate: str) -> None:
    """Comments, PIs, CDATA, character references and line breaks are XML, not payload."""
    data, payload = _variant_package(mutate)
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.problem is None
        assert att.encoding == "zip"
        assert att.read_bytes() == payload


@pytest.mark.parametrize("step", [2, 3, 5, 8])
@pytest.mark.parametrize(
    "mutate",
    ["comment", "processing-instruction", "cdata", "decimal-reference", "hex-reference"],
)
def test_attachment_text_with_markup_cut_across_reads(mutate: str, step: int) -> None:
    """The same, streamed from a source that hands out a few bytes at a time, so that
    comments, CDATA sections and character references are cut between reads."""
    data, payload = _variant_package(mutate)
    streaming = XMLLimits(in_memory_threshold=1)
    with lgsp.read_document(ShortReads(data, step), limits=streaming) as pkg:
        (att,) = pkg.attachments
        assert att.problem is None
        assert att.read_bytes() == payload


def _outcome(data: bytes, limits: XMLLimits) -> tuple[object, ...]:
    try:
        pkg = lgsp.read_document(data, limits=limits)
    except lgsp.LgspError as exc:
        return ("refused", type(exc).__name__)
    (att,) = pkg.attachments
    return ("read", att.problem is None, att.problem is None and att.read_bytes())


def test_element_inside_attachment_text_is_decided_alike_on_both_paths() -> None:
    """An element inside ContentTransferEncoded: whatever the decision, both paths make it."""
    payload = bytes(range(256)) * 40
    pkg = build_package(attachments=[Attachment.from_bytes("x.bin", payload, content_id="x")])
    data = lgsp.package_to_bytes(pkg)
    m = re.search(rb"(<edXML:ContentTransferEncoded[^>]*>)([^<]*)(<)", data)
    assert m is not None
    mid = m.start(2) + (m.end(2) - m.start(2)) // 2
    data = data[:mid] + "<edXML:Extra>thêm</edXML:Extra>".encode() + data[mid:]
    outcomes = {name: _outcome(data, limits) for name, limits in PARSE_PATHS.items()}
    assert outcomes["in-memory"] == outcomes["streaming"]


def test_vanished_source_file_is_an_attachment_error(tmp_path: Path) -> None:
    """Every way of touching an attachment whose file is gone raises AttachmentError."""
    source = tmp_path / "Tờ trình.pdf"
    source.write_bytes(PDF_BYTES)
    att = Attachment.from_path(source, content_id="mat")
    source.unlink()
    with pytest.raises(AttachmentError):
        att.read_bytes()
    with pytest.raises(AttachmentError):
        _ = att.sha256
    with pytest.raises(AttachmentError):
        _ = att.size
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(AttachmentError):
        lgsp.write_package(build_package(attachments=[att]), out / "goi.edxml")
    assert list(out.iterdir()) == []
    found = validate(build_package(attachments=[att]), deep=True)
    assert [f.severity for f in found if f.rule == "attachment.content"] == ["error"]


@pytest.mark.parametrize(
    ("payload", "fallback"),
    [(_zip_one("bên trong.pdf", PDF_BYTES), "bên trong.pdf"), (PDF_BYTES, "qd-01")],
    ids=["zip", "raw"],
)
def test_missing_attachment_name_is_reported(
    limits: XMLLimits, payload: bytes, fallback: str
) -> None:
    """No AttachmentName in the Attachment: a name is still found (the manifest's, the ZIP
    member's or the ContentId) so the file can be saved, and the omission is reported as the
    catalogue's attachment.name finding, not only as a schema complaint."""
    data = _package_with(payload, label="application/zip")
    data, n = re.subn(rb"\s*<AttachmentName>[^<]*</AttachmentName>", b"", data)
    assert n == 1
    with lgsp.read_document(data, limits=limits) as pkg:
        (att,) = pkg.attachments
        assert att.name in {fallback, "Quyết định.pdf"}
        assert att.read_bytes() == PDF_BYTES
        assert _rules(pkg, "strict").get("attachment.name") == ["error"]
        assert _rules(pkg, "lenient").get("attachment.name") == ["warning"]
