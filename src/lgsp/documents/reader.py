"""Reading edXML packages leniently: whatever real traffic sends, as long as it is XML.

Tolerated, each reported as a note (a :class:`~lgsp.findings.Finding`) on the package:
prefixed or default-namespace elements, un-namespaced elements, any child order, ``cid:``
present or not, attachments as Base64 of a ZIP or of the raw file whatever their label, the
legacy un-namespaced ``Signature``, CRLF, an undeclared ``xlink:`` prefix. Refused with a
typed error: anything that is not well-formed XML (line, column, cause), DTDs and entities,
documents past the limits of :class:`lgsp._xml.XMLLimits`, and XML that is not an edXML
package. Attachments are streamed into spools, never held whole in memory.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pydantic
from lxml import etree

from lgsp._xml import DEFAULT_LIMITS, ParsedXML, TextSink, XMLLimits, parse_bytes, parse_chunks
from lgsp.documents.attachments import (
    CHUNK,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    Attachment,
    Base64Spool,
    strip_cid,
)
from lgsp.documents.models import DocumentPackage, StatusPackage
from lgsp.errors import PackageError
from lgsp.findings import Finding

__all__ = ["EDXML_NS", "Source", "read_document", "read_package", "read_status"]

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
_NS_PREFIX = "{" + EDXML_NS + "}"
_CTE = "ContentTransferEncoded"

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
"""Bytes, a path (or XML text starting with '<'), or a binary file object."""


def _local(tag: object) -> str | None:
    if not isinstance(tag, str):
        return None  # comments and processing instructions
    if tag[0] == "{":
        return tag[tag.index("}") + 1 :]
    return tag.rpartition(":")[2]


def _text(el: etree._Element) -> str | None:
    text = el.text if len(el) == 0 else "".join(el.itertext())
    if text is None:
        return None
    text = text.strip()
    return text or None


class _Reader:
    """Maps a parsed tree onto the package models, collecting notes."""

    def __init__(self, parsed: ParsedXML, source: str | None, spool_memory: int, max_bytes: int):
        self.parsed = parsed
        self.source = source
        self.notes: list[Finding] = [
            Finding(
                rule=n.rule,
                severity="warning",
                location=f"line {n.line}" if n.line else "document",
                message=n.message,
            )
            for n in parsed.notes
        ]
        self.spool_memory = spool_memory
        self.max_bytes = max_bytes
        self.foreign_ns: set[str] = set()
        self.bare = False

    # helpers --------------------------------------------------------------------------------
    def note(self, rule: str, location: str, message: str, severity: str = "info") -> None:
        self.notes.append(
            Finding(rule=rule, severity=severity, location=location, message=message)  # type: ignore[arg-type]
        )

    def children(self, el: etree._Element, path: str) -> dict[str, list[etree._Element]]:
        out: dict[str, list[etree._Element]] = {}
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag.startswith(_NS_PREFIX):
                local = tag[len(_NS_PREFIX) :]
            elif tag[0] == "{":
                local = tag[tag.index("}") + 1 :]
                if local != "Signature":
                    self.foreign_ns.add(tag[1 : tag.index("}")])
                    self.note(
                        "read.unknown_element",
                        f"{path}/{local}",
                        f"element in foreign namespace {tag[1 : tag.index('}')]} ignored",
                        "warning",
                    )
                    continue
            else:
                # An undeclared prefix survives recovery as part of the name ("edXML:Attachment
                # Encoded" outside the envelope that declares it, in the kit's edoc.edxml).
                local = tag.rpartition(":")[2]
                self.bare = True
            out.setdefault(local, []).append(child)
        return out

    def one(
        self, kids: dict[str, list[etree._Element]], name: str, path: str
    ) -> etree._Element | None:
        found = kids.get(name)
        if not found:
            return None
        if len(found) > 1:
            self.note(
                "read.duplicate_element",
                f"{path}/{name}",
                f"{len(found)} {name} elements; the first is used",
                "warning",
            )
        return found[0]

    def flat(self, el: etree._Element, path: str, known: frozenset[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, els in self.children(el, path).items():
            if name not in known:
                self.note("read.unknown_element", f"{path}/{name}", f"unknown element {name}")
                continue
            value = _text(els[0])
            if value is not None:
                out[name] = value
        return out

    def texts(self, el: etree._Element | None, item: str, path: str) -> list[str]:
        if el is None:
            return []
        kids = self.children(el, path)
        for name in kids:
            if name != item:
                self.note("read.unknown_element", f"{path}/{name}", f"unknown element {name}")
        return [t for c in kids.get(item, []) if (t := _text(c)) is not None]

    # blocks --------------------------------------------------------------------------------
    def organization(self, el: etree._Element, path: str) -> dict[str, Any]:
        return self.flat(el, path, _ORG)

    def response_for(self, els: list[etree._Element], path: str) -> list[dict[str, Any]]:
        out = []
        for i, el in enumerate(els, 1):
            item = self.flat(el, f"{path}[{i}]", _RESPONSE_FOR)
            if item:
                out.append(item)
            else:
                self.note("read.empty_block", f"{path}[{i}]", "empty ResponseFor ignored")
        return out

    def document_header(self, mh: etree._Element, path: str) -> dict[str, Any]:
        kids = self.children(mh, path)
        out: dict[str, Any] = {}
        for name, els in kids.items():
            here = f"{path}/{name}"
            if name == "From":
                if len(els) > 1:
                    self.note("read.duplicate_element", here, "several From; the first is used")
                out["From"] = self.organization(els[0], here)
            elif name == "To":
                out["To"] = [self.organization(e, f"{here}[{i}]") for i, e in enumerate(els, 1)]
            elif name in _HEADER_TEXT:
                value = _text(self.one(kids, name, path))  # type: ignore[arg-type]
                if value is not None:
                    out[name] = value
            elif name in _HEADER_FLAT:
                out[name] = self.flat(self.one(kids, name, path), here, _HEADER_FLAT[name])  # type: ignore[arg-type]
            elif name == "OtherInfo":
                out[name] = self.other_info(els[0], here)
            elif name == "ResponseFor":
                out[name] = self.response_for(els, here)
            elif name == "ResponseForTask":
                out[name] = self.texts(els[0], "TaskCode", here)
            elif name == "ToPlaces":
                out[name] = self.texts(els[0], "Place", here)
            else:
                self.note("read.unknown_element", here, f"unknown element {name} in MessageHeader")
        return out

    def other_info(self, el: etree._Element, path: str) -> dict[str, Any]:
        kids = self.children(el, path)
        out: dict[str, Any] = {}
        for name, els in kids.items():
            if name in _OTHER_TEXT:
                value = _text(els[0])
                if value is not None:
                    out[name] = value
            elif name == "Appendixes":
                out[name] = self.texts(els[0], "Appendix", f"{path}/{name}")
            elif name in ("ReplyFors", "ReferenceCodes"):
                # No documented structure: keep the element verbatim.
                out[name] = etree.tostring(els[0], encoding="unicode", with_tail=False)
            else:
                self.note("read.unknown_element", f"{path}/{name}", f"unknown element {name}")
        return out

    def business(self, el: etree._Element, path: str) -> dict[str, Any]:
        kids = self.children(el, path)
        out: dict[str, Any] = {}
        for name, els in kids.items():
            here = f"{path}/{name}"
            if name in ("DocumentId", "BussinessDocType", "BussinessDocReason", "Paper"):
                value = _text(els[0])
                if value is not None:
                    out[name] = value
            elif name == "StaffInfo":
                out[name] = self.flat(els[0], here, _STAFF)
            elif name == "BussinessDocumentInfo":
                info_kids = self.children(els[0], here)
                info: dict[str, Any] = {}
                for key in ("DocumentInfo", "DocumentReceiver"):
                    if key in info_kids and (value := _text(info_kids[key][0])) is not None:
                        info[key] = value
                if "ReceiverList" in info_kids:
                    rl = f"{here}/ReceiverList"
                    info["ReceiverList"] = [
                        self.flat(r, f"{rl}/Receiver[{i}]", _RECEIVER)
                        for i, r in enumerate(
                            self.children(info_kids["ReceiverList"][0], rl).get("Receiver", []), 1
                        )
                    ]
                out[name] = info
            elif name == "ReplacementInfoList":
                items = []
                for i, r in enumerate(self.children(els[0], here).get("ReplacementInfo", []), 1):
                    rk = self.children(r, f"{here}/ReplacementInfo[{i}]")
                    item: dict[str, Any] = {}
                    if "DocumentId" in rk and (value := _text(rk["DocumentId"][0])) is not None:
                        item["DocumentId"] = value
                    if "OrganIdList" in rk:
                        item["OrganIdList"] = self.texts(
                            rk["OrganIdList"][0], "OrganId", f"{here}/OrganIdList"
                        )
                    items.append(item)
                out[name] = items
            else:
                self.note("read.unknown_element", here, f"unknown element {name} in Bussiness")
        return out

    def trace_list(self, el: etree._Element, path: str, out: dict[str, Any]) -> None:
        if el.get("id"):
            out["trace_list_id"] = el.get("id")
        if el.get("version"):
            out["trace_list_version"] = el.get("version")
        kids = self.children(el, path)
        out["TraceHeaderList"] = [
            self.flat(t, f"{path}/TraceHeader[{i}]", _TRACE)
            for i, t in enumerate(kids.get("TraceHeader", []), 1)
        ]
        for name, els in kids.items():
            if name == "Bussiness":
                if len(els) > 1:
                    self.note("read.duplicate_element", f"{path}/Bussiness", "several Bussiness")
                out["Bussiness"] = self.business(els[0], f"{path}/Bussiness")
            elif name == "Business":
                self.note(
                    "read.business_spelling",
                    f"{path}/Business",
                    "business block spelled 'Business'; QCVN 102 spells it 'Bussiness'",
                    "warning",
                )
                out["Bussiness"] = self.business(els[0], f"{path}/Business")
            elif name != "TraceHeader":
                self.note("read.unknown_element", f"{path}/{name}", f"unknown element {name}")

    def attachments(self, root_kids: dict[str, list[etree._Element]], path: str) -> list[Attachment]:
        out: list[Attachment] = []
        for holder in root_kids.get("AttachmentEncoded", []):
            here = f"{path}/AttachmentEncoded"
            for i, att in enumerate(self.children(holder, here).get("Attachment", []), 1):
                apath = f"{here}/Attachment[{i}]"
                kids = self.children(att, apath)
                meta = {
                    name: _text(kids[name][0]) if name in kids else None
                    for name in ("ContentId", "AttachmentName", "Description", "ContentType",
                                 "FieldName", "MimeType")
                }
                cte = kids.get(_CTE)
                spool = self.spool_for(cte[0] if cte else None)
                if cte is None:
                    spool.error = "the Attachment has no ContentTransferEncoded"
                cid = meta["ContentId"]
                if cid is None:
                    self.note("read.content_id", apath, "Attachment without ContentId", "warning")
                elif not cid.lower().startswith("cid:"):
                    self.note("read.content_id", apath, f"ContentId {cid!r} has no 'cid:' prefix")
                out.append(
                    Attachment._from_wire(
                        content_id=strip_cid(cid) if cid else f"attachment-{i}",
                        name=meta["AttachmentName"] or "",
                        description=meta["Description"],
                        wire_content_type=meta["ContentType"],
                        field_name=meta["FieldName"],
                        mime_type=meta["MimeType"],
                        spool=spool,
                        max_bytes=self.max_bytes,
                    )
                )
        return out

    def spool_for(self, cte: etree._Element | None) -> Base64Spool:
        if cte is not None:
            sink = self.parsed.sinks.get(cte)
            if isinstance(sink, Base64Spool):
                return sink
        spool = Base64Spool(self.spool_memory)
        if cte is not None:
            spool.write(cte.text if len(cte) == 0 else "".join(cte.itertext()) or "")
            spool.close()
            cte.text = None  # the tree keeps no copy of the payload
        return spool

    # packages ------------------------------------------------------------------------------
    def package(self) -> DocumentPackage | StatusPackage:
        root = self.parsed.root
        local = _local(root.tag)
        ns = root.tag[1 : root.tag.index("}")] if root.tag[0] == "{" else None
        if local != "edXML" or ns not in (EDXML_NS, None):
            raise PackageError(
                f"root element is {root.tag!r}; an edXML package has root edXML in namespace "
                f"{EDXML_NS}" + (" (http://www.go.vn/eDoc is a withdrawn draft)" if ns and
                                 "go.vn" in ns else ""),
                source=self.source,
            )
        if ns is None:
            self.bare = True
        root_kids = self.children(root, "edXML")
        envelope = self.one(root_kids, "edXMLEnvelope", "edXML")
        if envelope is None:
            raise PackageError("no edXMLEnvelope", source=self.source, path="edXML")
        env_kids = self.children(envelope, "edXML/edXMLEnvelope")
        header = self.one(env_kids, "edXMLHeader", "edXML/edXMLEnvelope")
        if header is None:
            raise PackageError("no edXMLHeader", source=self.source, path="edXML/edXMLEnvelope")
        hpath = "edXML/edXMLEnvelope/edXMLHeader"
        head_kids = self.children(header, hpath)
        mh = self.one(head_kids, "MessageHeader", hpath)
        if mh is None:
            raise PackageError("no MessageHeader", source=self.source, path=hpath)
        mpath = f"{hpath}/MessageHeader"
        signature = self.signature(head_kids, hpath)
        is_status = any(_local(c.tag) == "StatusCode" for c in mh)
        if self.bare:
            self.note("read.namespace", "edXML", "elements without the QCVN 102 namespace")
        try:
            if is_status:
                return self.status(mh, mpath, env_kids, root_kids, signature)
            return self.document(mh, mpath, head_kids, env_kids, root_kids, signature)
        except pydantic.ValidationError as exc:
            raise self.value_error(exc, mpath) from exc

    def signature(self, head_kids: dict[str, list[etree._Element]], hpath: str) -> str | None:
        if "DigitalSignature" in head_kids:
            self.note("read.signature", f"{hpath}/DigitalSignature",
                      "DigitalSignature element (.NET form) carries no XML-DSig signature")
        sig = self.one(head_kids, "Signature", hpath)
        if sig is None:
            return None
        if sig.tag != "{http://www.w3.org/2000/09/xmldsig#}Signature":
            self.note("read.signature", f"{hpath}/Signature",
                      "Signature is not in the XML-DSig namespace (legacy QCVN 102 form)")
        return etree.tostring(sig, encoding="unicode", with_tail=False)

    def document(
        self,
        mh: etree._Element,
        mpath: str,
        head_kids: dict[str, list[etree._Element]],
        env_kids: dict[str, list[etree._Element]],
        root_kids: dict[str, list[etree._Element]],
        signature: str | None,
    ) -> DocumentPackage:
        data: dict[str, Any] = {"MessageHeader": self.document_header(mh, mpath)}
        hpath = "edXML/edXMLEnvelope/edXMLHeader"
        trace = self.one(head_kids, "TraceHeaderList", hpath)
        if trace is not None:
            self.trace_list(trace, f"{hpath}/TraceHeaderList", data)
        for name in head_kids:
            if name not in ("MessageHeader", "TraceHeaderList", "Signature", "DigitalSignature"):
                self.note("read.unknown_element", f"{hpath}/{name}", f"unknown element {name}")
        body = self.one(env_kids, "edXMLBody", "edXML/edXMLEnvelope")
        manifest: list[dict[str, Any]] = []
        if body is not None:
            bpath = "edXML/edXMLEnvelope/edXMLBody"
            man = self.one(self.children(body, bpath), "edXMLManifest", bpath)
            if man is not None:
                manifest = [
                    self.flat(r, f"{bpath}/edXMLManifest/Reference[{i}]", _REFERENCE)
                    for i, r in enumerate(
                        self.children(man, f"{bpath}/edXMLManifest").get("Reference", []), 1
                    )
                ]
        data["edXMLManifest"] = manifest
        data["Signature"] = signature
        attachments = self.attachments(root_kids, "edXML")
        if "AttachmentEncoded" in env_kids:
            self.note("read.attachment_place", "edXML/edXMLEnvelope/AttachmentEncoded",
                      "AttachmentEncoded inside the envelope; QCVN 102 puts it beside it",
                      "warning")
            attachments += self.attachments(env_kids, "edXML/edXMLEnvelope")
        try:
            pkg = DocumentPackage.model_validate(data)
        except pydantic.ValidationError:
            for att in attachments:
                att.close()
            raise
        pkg.attachments = attachments
        return pkg

    def status(
        self,
        mh: etree._Element,
        mpath: str,
        env_kids: dict[str, list[etree._Element]],
        root_kids: dict[str, list[etree._Element]],
        signature: str | None,
    ) -> StatusPackage:
        kids = self.children(mh, mpath)
        data: dict[str, Any] = {}
        for name, els in kids.items():
            here = f"{mpath}/{name}"
            if name == "From":
                data[name] = self.organization(els[0], here)
            elif name == "ResponseFor":
                data[name] = self.flat(els[0], here, _RESPONSE_FOR)
            elif name == "StaffInfo":
                data[name] = self.flat(els[0], here, _STAFF)
            elif name in ("StatusCode", "Description", "Timestamp"):
                value = _text(els[0])
                if value is not None:
                    data[name] = value
            else:
                self.note("read.unknown_element", here, f"unknown element {name} in status")
        if "edXMLBody" in env_kids or "AttachmentEncoded" in root_kids:
            self.note("read.status_body", "edXML", "status package with a body or attachments: "
                      "ignored", "warning")
        return StatusPackage.model_validate({"MessageHeader": data, "Signature": signature})

    def value_error(self, exc: pydantic.ValidationError, base: str) -> PackageError:
        first = exc.errors()[0]
        loc = "/".join(str(p) for p in first["loc"] if p != "MessageHeader")
        value = first.get("input")
        return PackageError(
            f"{first['msg']} (value {value!r})" if isinstance(value, str) else first["msg"],
            source=self.source,
            path=f"{base}/{loc}" if loc else base,
        )


_ORG = frozenset(
    ("OrganId", "OrganizationInCharge", "OrganName", "OrganAdd", "Email", "Telephone", "Fax",
     "Website")
)
_RESPONSE_FOR = frozenset(("OrganId", "Code", "PromulgationDate", "DocumentId"))
_STAFF = frozenset(("Department", "DepartmentId", "Staff", "StaffId", "Email", "Mobile"))
_RECEIVER = frozenset(("OrganId", "ReceiverType"))
_TRACE = frozenset(("OrganId", "Timestamp"))
_REFERENCE = frozenset(("ContentId", "ContentType", "Description", "AttachmentName"))
_HEADER_TEXT = frozenset(
    ("DocumentId", "Subject", "Content", "DueDate", "SteeringType", "ApplicationType")
)
_HEADER_FLAT = {
    "Code": frozenset(("CodeNumber", "CodeNotation")),
    "PromulgationInfo": frozenset(("Place", "PromulgationDate")),
    "DocumentType": frozenset(("Type", "TypeDetail", "TypeName")),
    "SignerInfo": frozenset(("Competence", "Position", "FullName")),
}
_OTHER_TEXT = frozenset(
    ("Priority", "SphereOfPromulgation", "TyperNotation", "PromulgationAmount", "PageAmount",
     "Direction")
)


def _chunks_of(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        yield bytes(view[start : start + CHUNK])


def _file_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _parse(source: Source, name: str | None, limits: XMLLimits) -> tuple[ParsedXML, str | None]:
    def sinks(tag: str) -> TextSink | None:
        return Base64Spool(limits.spool_memory) if tag.endswith(_CTE) else None

    def stream(chunks: Iterable[bytes], label: str | None) -> ParsedXML:
        return parse_chunks(chunks, source=label, limits=limits, sink_factory=sinks)

    threshold = limits.in_memory_threshold
    if isinstance(source, str) and source.lstrip()[:1] == "<":
        source = source.encode("utf-8")
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) <= threshold:
            return parse_bytes(data, source=name, limits=limits), name
        return stream(_chunks_of(data), name), name
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or str(path)
        try:
            size = path.stat().st_size
            if size <= threshold:
                return parse_bytes(path.read_bytes(), source=label, limits=limits), label
            with path.open("rb") as fh:
                return stream(_file_chunks(fh), label), label
        except OSError as exc:
            raise PackageError(f"cannot read the file: {exc.strerror or exc}", source=label) from exc
    head = source.read(threshold + 1)
    label = name or getattr(source, "name", None)
    if len(head) <= threshold:
        return parse_bytes(head, source=label, limits=limits), label
    return stream(itertools.chain([head], _file_chunks(source)), label), label


def read_package(
    source: Source,
    *,
    name: str | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> DocumentPackage | StatusPackage:
    """Read a document or status package from bytes, a path or a binary file object.

    ``name`` labels errors and notes (defaults to the path). Raises
    :class:`~lgsp.errors.XMLError` (not XML; with line and column),
    :class:`~lgsp.errors.HostileXMLError` (DTD, entities, limits) or
    :class:`~lgsp.errors.PackageError` (XML, but not an edXML package we can read).
    """
    parsed, label = _parse(source, name, limits)
    reader = _Reader(parsed, label, limits.spool_memory, max_attachment_bytes)
    pkg = reader.package()
    pkg.notes = reader.notes
    pkg._tree = parsed.root
    return pkg


def read_document(source: Source, **options: Any) -> DocumentPackage:
    """Read a document package; a status package raises PackageError."""
    pkg = read_package(source, **options)
    if not isinstance(pkg, DocumentPackage):
        raise PackageError("this is a status package, not a document package",
                           source=options.get("name"))
    return pkg


def read_status(source: Source, **options: Any) -> StatusPackage:
    """Read a status package; a document package raises PackageError."""
    pkg = read_package(source, **options)
    if not isinstance(pkg, StatusPackage):
        pkg.close()
        raise PackageError("this is a document package, not a status package",
                           source=options.get("name"))
    return pkg
