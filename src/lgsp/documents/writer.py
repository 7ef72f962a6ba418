"""Writing edXML packages strictly: official element order, namespaces and attachment form.

The layout is the one the official EdXML102 library emits (vn-contracts §1.2): root ``edXML``
with QCVN 102 as default namespace, the envelope re-declaring it as ``edXML:``, prefixed
elements inside the envelope, ``AttachmentEncoded`` beside the envelope with un-prefixed
children, and ``edXML:ContentTransferEncoded`` re-declaring the prefix. Each attachment is
zipped (one member, its real name) and Base64-encoded on one line, streamed from its source,
and labelled ``application/zip`` — the official reader unzips only what is labelled so.
The same model gives the same bytes every time: ZIP entries carry a fixed timestamp and
attributes, and serialisation has no other source of variation.
"""

from __future__ import annotations

import binascii
import datetime as dt
import io
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lxml import etree
from pydantic import BaseModel

from lgsp._xml import parse_fragment
from lgsp.documents._spool import CHUNK
from lgsp.documents.attachments import Attachment, safe_file_name
from lgsp.documents.models import (
    Business,
    DocumentHeader,
    DocumentPackage,
    OtherInfo,
    StatusPackage,
    format_date,
    format_timestamp,
)
from lgsp.documents.reader import EDXML_NS
from lgsp.errors import AttachmentError, ValidationError
from lgsp.findings import Finding

__all__ = ["WriteOptions", "build_tree", "package_to_bytes", "write_package"]

_Q = "{" + EDXML_NS + "}"
ZIP_LABEL = "application/zip"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class WriteOptions(BaseModel):
    """How to write: ZIP compression level, whether to check the strict rules first."""

    compresslevel: int = 6
    validate_first: bool = True
    spool_memory: int = 1 << 20


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return format_date(value)
    return str(int(value)) if isinstance(value, int) else str(value)


def _sub(parent: etree._Element, name: str, value: Any = None) -> etree._Element:
    el = etree.SubElement(parent, _Q + name)
    if value is not None:
        text = _text(value)
        try:
            el.text = text
        except ValueError as exc:  # lxml: "All strings must be XML compatible"
            raise _xml_char_error(parent, name, text) from exc
    return el


def _xml_char_error(parent: etree._Element, name: str, text: str) -> ValidationError:
    bad = next((c for c in text if not _xml_char(c)), "?")
    path = "/".join(
        [str(etree.QName(a).localname) for a in reversed(list(parent.iterancestors()))]
        + [str(etree.QName(parent).localname), name]
    )
    finding = Finding(
        rule="text.xml_char",
        severity="error",
        location=path,
        message=f"U+{ord(bad):04X} is not an XML 1.0 character; remove it (a vertical tab or "
        "NUL often comes from copy and paste)",
    )
    return ValidationError([finding], source="package to write")


def _xml_char(c: str) -> bool:
    o = ord(c)
    return (
        o in (0x9, 0xA, 0xD)
        or 0x20 <= o <= 0xD7FF
        or 0xE000 <= o <= 0xFFFD
        or 0x10000 <= o <= 0x10FFFF
    )


def _flat(parent: etree._Element, name: str, model: BaseModel | None) -> None:
    """A block of simple children, in the model's (the standard's) field order."""
    if model is None:
        return
    block = _sub(parent, name)
    for field_name, alias in _aliases(type(model)):
        value = getattr(model, field_name)
        if value is not None:
            _sub(block, alias, value)


_ALIASES: dict[type[BaseModel], tuple[tuple[str, str], ...]] = {}


def _aliases(cls: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(field, wire name) pairs of a flat block, in the standard's order; computed once."""
    pairs = _ALIASES.get(cls)
    if pairs is None:
        pairs = _ALIASES[cls] = tuple(
            (name, info.alias) for name, info in cls.model_fields.items() if info.alias
        )
    return pairs


def _list(parent: etree._Element, name: str, item: str, values: list[str]) -> None:
    if values:
        block = _sub(parent, name)
        for value in values:
            _sub(block, item, value)


def _raw(parent: etree._Element, xml: str | None) -> None:
    if xml:
        parent.append(parse_fragment(xml))


def _other_info(parent: etree._Element, info: OtherInfo | None) -> None:
    if info is None:
        return
    block = _sub(parent, "OtherInfo")
    # The simple children before ReplyFors, in the standard's order.
    for field_name, alias in _aliases(OtherInfo)[:5]:
        value = getattr(info, field_name)
        if value is not None:
            _sub(block, alias, value)
    _raw(block, info.reply_fors_xml)
    if info.direction is not None:
        _sub(block, "Direction", info.direction)
    _raw(block, info.reference_codes_xml)
    _list(block, "Appendixes", "Appendix", info.appendixes)


def _document_header(parent: etree._Element, h: DocumentHeader) -> None:
    mh = _sub(parent, "MessageHeader")
    _flat(mh, "From", h.from_)
    for to in h.to:
        _flat(mh, "To", to)
    if h.document_id is not None:
        _sub(mh, "DocumentId", h.document_id)
    _flat(mh, "Code", h.code)
    _flat(mh, "PromulgationInfo", h.promulgation)
    _flat(mh, "DocumentType", h.document_type)
    if h.subject is not None:
        _sub(mh, "Subject", h.subject)
    if h.content is not None:
        _sub(mh, "Content", h.content)
    _flat(mh, "SignerInfo", h.signer)
    if h.due_date is not None:
        _sub(mh, "DueDate", h.due_date)
    _other_info(mh, h.other_info)
    for rf in h.response_for:
        _flat(mh, "ResponseFor", rf)
    if h.steering_type is not None:
        _sub(mh, "SteeringType", h.steering_type)
    _list(mh, "ResponseForTask", "TaskCode", h.response_for_task)
    if h.application_type is not None:
        _sub(mh, "ApplicationType", h.application_type)
    _list(mh, "ToPlaces", "Place", h.to_places)


def _business(parent: etree._Element, b: Business | None) -> None:
    if b is None:
        return
    block = _sub(parent, "Bussiness")
    if b.document_id is not None:
        _sub(block, "DocumentId", b.document_id)
    _sub(block, "BussinessDocType", b.doc_type)
    if b.reason is not None:
        _sub(block, "BussinessDocReason", b.reason)
    if b.paper is not None:
        _sub(block, "Paper", b.paper)
    if b.document_info is not None:
        info = _sub(block, "BussinessDocumentInfo")
        if b.document_info.document_info is not None:
            _sub(info, "DocumentInfo", b.document_info.document_info)
        if b.document_info.document_receiver is not None:
            _sub(info, "DocumentReceiver", b.document_info.document_receiver)
        if b.document_info.receivers:
            rl = _sub(info, "ReceiverList")
            for r in b.document_info.receivers:
                _flat(rl, "Receiver", r)
    if b.replacements:
        rl = _sub(block, "ReplacementInfoList")
        for replacement in b.replacements:
            ri = _sub(rl, "ReplacementInfo")
            if replacement.document_id is not None:
                _sub(ri, "DocumentId", replacement.document_id)
            _list(ri, "OrganIdList", "OrganId", replacement.organ_ids)
    _flat(block, "StaffInfo", b.staff)


def _envelope(root: etree._Element) -> tuple[etree._Element, etree._Element]:
    envelope = etree.SubElement(root, _Q + "edXMLEnvelope", nsmap={"edXML": EDXML_NS})
    return envelope, _sub(envelope, "edXMLHeader")


def build_tree(
    pkg: DocumentPackage | StatusPackage, *, placeholders: list[str] | None = None
) -> etree._Element:
    """The package as an lxml tree. Attachment content is left empty, or set to the given
    placeholder strings (one per attachment) for the streaming writer to replace."""
    root = etree.Element(_Q + "edXML", nsmap={None: EDXML_NS})  # type: ignore[dict-item]
    envelope, header = _envelope(root)
    if isinstance(pkg, StatusPackage):
        h = pkg.header
        mh = _sub(header, "MessageHeader")
        _flat(mh, "From", h.from_)
        _flat(mh, "ResponseFor", h.response_for)
        _flat(mh, "StaffInfo", h.staff)
        for name, value in (
            ("StatusCode", h.code),
            ("Description", h.description),
            ("Timestamp", h.timestamp),
        ):
            if value is not None:
                _sub(mh, name, value)
        _raw(header, pkg.signature_xml)
        return root
    _document_header(header, pkg.header)
    trace = _sub(header, "TraceHeaderList")
    if pkg.trace_list_id is not None:
        trace.set("id", pkg.trace_list_id)
    if pkg.trace_list_version is not None:
        trace.set("version", pkg.trace_list_version)
    for th in pkg.traces:
        _flat(trace, "TraceHeader", th)
    _business(trace, pkg.business)
    _raw(header, pkg.signature_xml)
    manifest = _sub(_sub(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    holder = etree.SubElement(root, _Q + "AttachmentEncoded")
    for i, att in enumerate(pkg.attachments):
        ref = _sub(manifest, "Reference")
        _sub(ref, "ContentId", "cid:" + att.content_id)
        _sub(ref, "ContentType", ZIP_LABEL)
        if att.description is not None:
            _sub(ref, "Description", att.description)
        _sub(ref, "AttachmentName", att.name)
        item = _sub(holder, "Attachment")
        _sub(item, "ContentId", "cid:" + att.content_id)
        _sub(item, "AttachmentName", att.name)
        if att.description is not None:
            _sub(item, "Description", att.description)
        _sub(item, "ContentType", ZIP_LABEL)
        if att.field_name is not None:
            _sub(item, "FieldName", att.field_name)
        if att.mime_type is not None:
            _sub(item, "MimeType", att.mime_type)
        cte = etree.SubElement(item, _Q + "ContentTransferEncoded", nsmap={"edXML": EDXML_NS})
        if placeholders is not None:
            cte.text = placeholders[i]
    return root


def _zip(att: Attachment, options: WriteOptions) -> IO[bytes]:
    """The attachment as a one-member ZIP in a spool (memory, then a temporary file)."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=options.spool_memory)  # noqa: SIM115
    info = zipfile.ZipInfo(safe_file_name(att.name, att.content_id), date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    try:
        with (
            zipfile.ZipFile(spool, "w", compresslevel=options.compresslevel) as archive,
            att.open() as src,
            archive.open(info, "w", force_zip64=att.size >= 1 << 31) as dst,
        ):
            shutil.copyfileobj(src, dst, CHUNK)
    except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
        spool.close()
        raise AttachmentError(f"cannot zip {att.name!r}: {exc}", content_id=att.content_id) from exc
    spool.seek(0)
    return spool


def _base64(spool: IO[bytes]) -> Iterator[bytes]:
    # One line, no MIME wrapping (76-column encoding is 7x slower, and the samples use none).
    block = 3 * CHUNK * 4
    while chunk := spool.read(block):
        yield binascii.b2a_base64(chunk, newline=False)


def _serialise(pkg: DocumentPackage | StatusPackage, out: IO[bytes], options: WriteOptions) -> None:
    if options.validate_first:
        from lgsp.documents.validation import validate_model
        from lgsp.findings import raise_for_findings

        raise_for_findings(validate_model(pkg, profile="strict"), source="package to write")
    attachments = pkg.attachments if isinstance(pkg, DocumentPackage) else []
    token = uuid.uuid4().hex
    marks = [f"@@lgsp-{token}-{i}@@" for i in range(len(attachments))]
    root = build_tree(pkg, placeholders=marks)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    pos = 0
    for att, mark in zip(attachments, marks, strict=True):
        cut = xml.index(mark.encode("ascii"), pos)
        out.write(xml[pos:cut])
        with _zip(att, options) as spool:
            for piece in _base64(spool):
                out.write(piece)
        pos = cut + len(mark)
    out.write(xml[pos:])


def write_package(
    pkg: DocumentPackage | StatusPackage,
    dest: str | os.PathLike[str] | IO[bytes],
    *,
    options: WriteOptions | None = None,
) -> None:
    """Write the package to a path or binary file, streaming attachments.

    By default the strict rules run first and a package with error findings raises
    :class:`~lgsp.errors.ValidationError` before anything is written.
    """
    opts = options or WriteOptions()
    if isinstance(dest, str | os.PathLike):
        path = Path(dest)
        tmp = path.with_name(path.name + ".part")
        try:
            with tmp.open("wb") as fh:
                _serialise(pkg, fh, opts)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return
    _serialise(pkg, dest, opts)


def package_to_bytes(
    pkg: DocumentPackage | StatusPackage, *, options: WriteOptions | None = None
) -> bytes:
    """The package's bytes in memory (for small packages; prefer write_package)."""
    buffer = io.BytesIO()
    write_package(pkg, buffer, options=options)
    return buffer.getvalue()
