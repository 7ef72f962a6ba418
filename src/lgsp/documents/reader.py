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
from typing import IO, Any, cast

import pydantic
from lxml import etree

from lgsp._xml import (
    DEFAULT_LIMITS,
    INSIDE_CTE,
    ParsedXML,
    TextSink,
    XMLLimits,
    parse_bytes,
    parse_chunks,
)
from lgsp.documents.attachments import (
    CHUNK,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    Attachment,
    Base64Spool,
    strip_cid,
)
from lgsp.documents.models import DocumentPackage, StatusPackage
from lgsp.errors import PackageError
from lgsp.findings import Finding, Severity

__all__ = ["EDXML_NS", "Source", "read_document", "read_package", "read_status"]

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
_NS_PREFIX = "{" + EDXML_NS + "}"
_CTE = "ContentTransferEncoded"

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
"""Bytes, a path (or XML text starting with '<'), or a binary file object."""


# Kinds of child in a mapping spec.
_T, _B, _L, _TL, _LB, _R = range(6)
Spec = dict[str, tuple[int, Any]]


def _texts(*names: str) -> Spec:
    return dict.fromkeys(names, (_T, None))


_ORG = _texts(
    "OrganId",
    "OrganizationInCharge",
    "OrganName",
    "OrganAdd",
    "Email",
    "Telephone",
    "Fax",
    "Website",
)
_RESPONSE_FOR = _texts("OrganId", "Code", "PromulgationDate", "DocumentId")
_STAFF = _texts("Department", "DepartmentId", "Staff", "StaffId", "Email", "Mobile")
_OTHER: Spec = {
    **_texts(
        "Priority",
        "SphereOfPromulgation",
        "TyperNotation",
        "PromulgationAmount",
        "PageAmount",
        "Direction",
    ),
    "Appendixes": (_TL, "Appendix"),
    # No documented structure: kept verbatim so that nothing received is lost.
    "ReplyFors": (_R, None),
    "ReferenceCodes": (_R, None),
}
_DOCUMENT_HEADER: Spec = {
    "From": (_B, _ORG),
    "To": (_L, _ORG),
    **_texts("DocumentId", "Subject", "Content", "DueDate", "SteeringType", "ApplicationType"),
    "Code": (_B, _texts("CodeNumber", "CodeNotation")),
    "PromulgationInfo": (_B, _texts("Place", "PromulgationDate")),
    "DocumentType": (_B, _texts("Type", "TypeDetail", "TypeName")),
    "SignerInfo": (_B, _texts("Competence", "Position", "FullName")),
    "OtherInfo": (_B, _OTHER),
    "ResponseFor": (_L, _RESPONSE_FOR),
    "ResponseForTask": (_TL, "TaskCode"),
    "ToPlaces": (_TL, "Place"),
}
_BUSINESS: Spec = {
    **_texts("DocumentId", "BussinessDocType", "BussinessDocReason", "Paper"),
    "BussinessDocumentInfo": (
        _B,
        {
            **_texts("DocumentInfo", "DocumentReceiver"),
            "ReceiverList": (_LB, ("Receiver", _texts("OrganId", "ReceiverType"))),
        },
    ),
    "ReplacementInfoList": (
        _LB,
        (
            "ReplacementInfo",
            {
                **_texts("DocumentId"),
                "OrganIdList": (_TL, "OrganId"),
            },
        ),
    ),
    "StaffInfo": (_B, _STAFF),
}
_TRACE_LIST: Spec = {
    "TraceHeader": (_L, _texts("OrganId", "Timestamp")),
    "Bussiness": (_B, _BUSINESS),
    "Business": (_B, _BUSINESS),  # misspelt the "right" way; noted below
}
_STATUS_HEADER: Spec = {
    "From": (_B, _ORG),
    "ResponseFor": (_B, _RESPONSE_FOR),
    "StaffInfo": (_B, _STAFF),
    **_texts("StatusCode", "Description", "Timestamp"),
}
_REFERENCE = _texts("ContentId", "ContentType", "Description", "AttachmentName")
_ATTACHMENT = {
    **_texts("ContentId", "AttachmentName", "Description", "ContentType", "FieldName", "MimeType"),
    _CTE: (_R, None),
}


def _fast_tables(*specs: Spec) -> dict[int, dict[str, tuple[str, int, Any]]]:
    """Per spec, its children keyed by full QCVN 102 tag: one dict lookup per element."""
    tables: dict[int, dict[str, tuple[str, int, Any]]] = {}

    def add(spec: Spec) -> None:
        if id(spec) in tables:
            return
        tables[id(spec)] = {_NS_PREFIX + k: (k, kind, arg) for k, (kind, arg) in spec.items()}
        for kind, arg in spec.values():
            if kind in (_B, _L):
                add(arg)
            elif kind == _LB:
                add(arg[1])

    for spec in specs:
        add(spec)
    return tables


_FOREIGN = "\x00"
_LOCALS: dict[str, str] = {}
_FAST = _fast_tables(_DOCUMENT_HEADER, _TRACE_LIST, _STATUS_HEADER, _REFERENCE, _ATTACHMENT)


def _local(tag: str) -> str:
    """Local name of a QCVN 102 or un-namespaced tag; ``_FOREIGN`` for another namespace.

    An undeclared prefix survives recovery as part of the name ("edXML:AttachmentEncoded"
    outside the envelope that declares it, in the kit's own edoc.edxml): it is dropped.
    """
    local = _LOCALS.get(tag)
    if local is None:
        if tag.startswith(_NS_PREFIX):
            local = tag[len(_NS_PREFIX) :]
        elif tag[0] == "{":
            local = _FOREIGN
        else:
            local = tag.rpartition(":")[2]
        if len(_LOCALS) < 4096:  # bounded: hostile input cannot grow it without end
            _LOCALS[tag] = local
    return local


def _all_text(el: etree._Element) -> str:
    """Text of an element split by comments or child elements, joined."""
    return "".join(cast(Iterator[str], el.itertext()))


def _text(el: etree._Element) -> str | None:
    text = el.text if len(el) == 0 else _all_text(el)
    if text is None:
        return None
    text = text.strip()
    return text or None


class _Reader:
    """Maps a parsed tree onto the package models in one pass, collecting notes."""

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
        self.bare = False

    def note(self, rule: str, location: str, message: str, severity: Severity = "info") -> None:
        self.notes.append(Finding(rule=rule, severity=severity, location=location, message=message))

    def map(self, el: etree._Element, spec: Spec, path: str) -> dict[str, Any]:
        """One block: known children by kind, unknown ones noted, first of a kind wins."""
        out: dict[str, Any] = {}
        fast = _FAST[id(spec)]
        for child in el:
            # Fast path: a QCVN 102 element this block knows, looked up by its full tag.
            entry = fast.get(child.tag)
            if entry is None:
                entry = self.slow_entry(child, spec, path)
                if entry is None:
                    continue
            local, kind, arg = entry
            if kind == _T:
                if local in out:
                    self.duplicate(path, local)
                    continue
                value = _all_text(child) if len(child) else child.text
                if value:
                    value = value.strip()
                    if value:
                        out[local] = value
            elif kind == _B:
                if local in out:
                    self.duplicate(path, local)
                    continue
                out[local] = self.map(child, arg, f"{path}/{local}")
            elif kind == _L:
                items = out.setdefault(local, [])
                items.append(self.map(child, arg, f"{path}/{local}[{len(items) + 1}]"))
            elif kind == _TL:
                out[local] = self.texts(child, arg, f"{path}/{local}")
            elif kind == _LB:
                item, item_spec = arg
                here = f"{path}/{local}"
                out[local] = [
                    self.map(c, item_spec, f"{here}/{item}[{i}]")
                    for i, c in enumerate(self.named(child, item, here), 1)
                ]
            else:
                out[local] = child
        return out

    def slow_entry(
        self, child: etree._Element, spec: Spec, path: str
    ) -> tuple[str, int, Any] | None:
        """Children off the fast path: comments, un-namespaced, unknown or foreign elements."""
        tag = child.tag
        if type(tag) is not str:
            return None  # comments, processing instructions
        local = _local(tag)
        found = spec.get(local)
        if found is None:
            self.unknown(tag, local, path)
            return None
        self.bare = True  # known name, but not in the QCVN 102 namespace
        return (local, *found)

    def named(self, el: etree._Element, item: str, path: str) -> list[etree._Element]:
        found = []
        for child in el:
            tag = child.tag
            if type(tag) is not str:
                continue
            local = _local(tag)
            if local == item:
                found.append(child)
            else:
                self.unknown(tag, local, path)
        return found

    def texts(self, el: etree._Element, item: str, path: str) -> list[str]:
        return [t for c in self.named(el, item, path) if (t := _text(c)) is not None]

    def unknown(self, tag: str, local: str, path: str) -> None:
        if local == _FOREIGN:
            ns = tag[1 : tag.index("}")]
            name = tag[tag.index("}") + 1 :]
            self.note(
                "read.unknown_element",
                f"{path}/{name}",
                f"element in foreign namespace {ns} ignored",
                "warning",
            )
        else:
            self.note("read.unknown_element", f"{path}/{local}", f"unknown element {local}")

    def duplicate(self, path: str, local: str) -> None:
        self.note(
            "read.duplicate_element",
            f"{path}/{local}",
            f"{local} given more than once; the first is used",
            "warning",
        )

    def children(self, el: etree._Element) -> dict[str, list[etree._Element]]:
        """Structural children by local name (the few levels above the header)."""
        out: dict[str, list[etree._Element]] = {}
        for child in el:
            tag = child.tag
            if type(tag) is str:
                local = _local(tag)
                if local == _FOREIGN and tag.endswith("}Signature"):
                    local = "Signature"
                if tag[0] != "{":
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
            self.duplicate(path, name)
        return found[0]

    # blocks ---------------------------------------------------------------------------------
    def attachments(self, holders: list[etree._Element], path: str) -> list[Attachment]:
        out: list[Attachment] = []
        for holder in holders:
            here = f"{path}/AttachmentEncoded"
            for i, att in enumerate(self.named(holder, "Attachment", here), 1):
                apath = f"{here}/Attachment[{i}]"
                meta = self.map(att, _ATTACHMENT, apath)
                cte = meta.get(_CTE)
                spool = self.spool_for(cte)
                if cte is None:
                    spool.error = "the Attachment has no ContentTransferEncoded"
                if meta.get("AttachmentName") is None:
                    self.note(
                        "attachment.name",
                        f"{apath}/AttachmentName",
                        "AttachmentName is missing; the file is named after its ZIP member or "
                        "ContentId",
                        "warning",
                    )
                cid = meta.get("ContentId")
                if cid is None:
                    self.note("read.content_id", apath, "Attachment without ContentId", "warning")
                elif not cid.lower().startswith("cid:"):
                    self.note("read.content_id", apath, f"ContentId {cid!r} has no 'cid:' prefix")
                out.append(
                    Attachment._from_wire(
                        content_id=strip_cid(cid) if cid else f"attachment-{i}",
                        name=meta.get("AttachmentName") or "",
                        description=meta.get("Description"),
                        wire_content_type=meta.get("ContentType"),
                        field_name=meta.get("FieldName"),
                        mime_type=meta.get("MimeType"),
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
            if any(isinstance(child.tag, str) for child in cte):
                spool.fail(INSIDE_CTE)  # the streaming path decides the same
            else:
                spool.write((cte.text if len(cte) == 0 else _all_text(cte)) or "")
            spool.close()
            cte.text = None  # the tree keeps no copy of the payload
        return spool

    # packages ------------------------------------------------------------------------------
    def package(self) -> DocumentPackage | StatusPackage:
        root = self.parsed.root
        tag = root.tag if isinstance(root.tag, str) else ""
        ns = tag[1 : tag.index("}")] if tag.startswith("{") else None
        if _local(tag) != "edXML" or ns not in (EDXML_NS, None):
            hint = " (http://www.go.vn/eDoc is a withdrawn draft)" if ns and "go.vn" in ns else ""
            raise PackageError(
                f"root element is {tag!r}; an edXML package has root edXML in namespace "
                f"{EDXML_NS}{hint}",
                source=self.source,
            )
        root_kids = self.children(root)
        envelope = self.one(root_kids, "edXMLEnvelope", "edXML")
        if envelope is None:
            raise PackageError("no edXMLEnvelope", source=self.source, path="edXML")
        env_kids = self.children(envelope)
        header = self.one(env_kids, "edXMLHeader", "edXML/edXMLEnvelope")
        if header is None:
            raise PackageError("no edXMLHeader", source=self.source, path="edXML/edXMLEnvelope")
        hpath = "edXML/edXMLEnvelope/edXMLHeader"
        head_kids = self.children(header)
        mh = self.one(head_kids, "MessageHeader", hpath)
        if mh is None:
            raise PackageError("no MessageHeader", source=self.source, path=hpath)
        mpath = f"{hpath}/MessageHeader"
        signature = self.signature(head_kids, hpath)
        # A status package carries StatusCode; one that lost it is still recognisable: no To,
        # no trace list, no body.
        is_status = (
            mh.find(_NS_PREFIX + "StatusCode") is not None
            or mh.find("StatusCode") is not None
            or (
                "TraceHeaderList" not in head_kids
                and "edXMLBody" not in env_kids
                and mh.find(_NS_PREFIX + "To") is None
                and mh.find("To") is None
            )
        )
        for name in head_kids:
            if name not in ("MessageHeader", "TraceHeaderList", "Signature", "DigitalSignature"):
                self.note("read.unknown_element", f"{hpath}/{name}", f"unknown element {name}")
        try:
            if is_status:
                pkg: DocumentPackage | StatusPackage = self.status(
                    mh=mh, mpath=mpath, env_kids=env_kids, root_kids=root_kids, signature=signature
                )
            else:
                pkg = self.document(
                    mh=mh,
                    mpath=mpath,
                    head_kids=head_kids,
                    env_kids=env_kids,
                    root_kids=root_kids,
                    signature=signature,
                )
        except pydantic.ValidationError as exc:
            raise self.value_error(exc, mpath) from exc
        if self.bare:
            self.note("read.namespace", "edXML", "elements without the QCVN 102 namespace")
        return pkg

    def signature(
        self, head_kids: dict[str, list[etree._Element]], hpath: str
    ) -> etree._Element | None:
        if "DigitalSignature" in head_kids:
            self.note(
                "read.signature",
                f"{hpath}/DigitalSignature",
                "DigitalSignature element (.NET form) carries no XML-DSig signature",
            )
        sig = self.one(head_kids, "Signature", hpath)
        if sig is None:
            return None
        if sig.tag != "{http://www.w3.org/2000/09/xmldsig#}Signature":
            self.note(
                "read.signature",
                f"{hpath}/Signature",
                "Signature is not in the XML-DSig namespace (legacy QCVN 102 form)",
            )
        return sig

    def document(
        self,
        *,
        mh: etree._Element,
        mpath: str,
        head_kids: dict[str, list[etree._Element]],
        env_kids: dict[str, list[etree._Element]],
        root_kids: dict[str, list[etree._Element]],
        signature: etree._Element | None,
    ) -> DocumentPackage:
        header = self.map(mh, _DOCUMENT_HEADER, mpath)
        if "ResponseFor" in header:
            kept = [rf for rf in header["ResponseFor"] if rf]
            if len(kept) < len(header["ResponseFor"]):
                self.note("read.empty_block", f"{mpath}/ResponseFor", "empty ResponseFor ignored")
            header["ResponseFor"] = kept
        data: dict[str, Any] = {"MessageHeader": header}
        hpath = "edXML/edXMLEnvelope/edXMLHeader"
        trace = self.one(head_kids, "TraceHeaderList", hpath)
        if trace is not None:
            tpath = f"{hpath}/TraceHeaderList"
            traced = self.map(trace, _TRACE_LIST, tpath)
            data["TraceHeaderList"] = traced.get("TraceHeader", [])
            if "Business" in traced:
                self.note(
                    "read.business_spelling",
                    f"{tpath}/Business",
                    "business block spelled 'Business'; QCVN 102 spells it 'Bussiness'",
                    "warning",
                )
                data["Bussiness"] = traced.get("Bussiness", traced["Business"])
            elif "Bussiness" in traced:
                data["Bussiness"] = traced["Bussiness"]
            if trace.get("id"):
                data["trace_list_id"] = trace.get("id")
            if trace.get("version"):
                data["trace_list_version"] = trace.get("version")
        body = self.one(env_kids, "edXMLBody", "edXML/edXMLEnvelope")
        if body is not None:
            bpath = "edXML/edXMLEnvelope/edXMLBody"
            manifest = self.one(self.children(body), "edXMLManifest", bpath)
            if manifest is not None:
                here = f"{bpath}/edXMLManifest"
                data["edXMLManifest"] = [
                    self.map(r, _REFERENCE, f"{here}/Reference[{i}]")
                    for i, r in enumerate(self.named(manifest, "Reference", here), 1)
                ]
        attachments = self.attachments(root_kids.get("AttachmentEncoded", []), "edXML")
        if "AttachmentEncoded" in env_kids:
            self.note(
                "read.attachment_place",
                "edXML/edXMLEnvelope/AttachmentEncoded",
                "AttachmentEncoded inside the envelope; QCVN 102 puts it beside it",
                "warning",
            )
            attachments += self.attachments(env_kids["AttachmentEncoded"], "edXML/edXMLEnvelope")
        data["AttachmentEncoded"] = attachments
        try:
            pkg = DocumentPackage.model_validate(data)
        except pydantic.ValidationError:
            for att in attachments:
                att.close()
            raise
        pkg._signature = signature
        return pkg

    def status(
        self,
        *,
        mh: etree._Element,
        mpath: str,
        env_kids: dict[str, list[etree._Element]],
        root_kids: dict[str, list[etree._Element]],
        signature: etree._Element | None,
    ) -> StatusPackage:
        header = self.map(mh, _STATUS_HEADER, mpath)
        if "edXMLBody" in env_kids or "AttachmentEncoded" in root_kids:
            self.note(
                "read.status_body",
                "edXML",
                "status package with a body or attachments: ignored",
                "warning",
            )
        pkg = StatusPackage.model_validate({"MessageHeader": header})
        pkg._signature = signature
        return pkg

    def value_error(self, exc: pydantic.ValidationError, base: str) -> PackageError:
        """The first value that cannot be read, with its wire path (1-based indices)."""
        first = exc.errors()[0]
        header = base.rsplit("/", 1)[0]  # edXML/edXMLEnvelope/edXMLHeader
        parts: list[str] = []
        for item in first["loc"]:
            if isinstance(item, int):
                parts[-1] += f"[{item + 1}]"
            elif item == "TraceHeaderList":
                parts += ["TraceHeaderList", "TraceHeader"]
            elif item == "Bussiness":
                parts += ["TraceHeaderList", "Bussiness"]
            else:
                parts.append(str(item))
        value = first.get("input")
        return PackageError(
            f"{first['msg']} (value {value!r})" if isinstance(value, str) else first["msg"],
            source=self.source,
            path="/".join([header, *parts]),
        )


def _chunks_of(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        yield bytes(view[start : start + CHUNK])


MAX_IN_MEMORY = 8 << 20


def _read_up_to(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes: a file object may return fewer per read (pipes, sockets)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _file_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _parse(source: Source, name: str | None, limits: XMLLimits) -> tuple[ParsedXML, str | None]:
    def sinks(tag: str) -> TextSink | None:
        return Base64Spool(limits.spool_memory) if tag.endswith(_CTE) else None

    def stream(chunks: Iterable[bytes], label: str | None) -> ParsedXML:
        return parse_chunks(chunks, source=label, limits=limits, sink_factory=sinks)

    # Whole-document parsing stops at 8 MiB whatever the setting: libxml2 refuses a text node
    # over 10 MB (an attachment of ~7.5 MB) unless its own limits are lifted.
    threshold = min(limits.in_memory_threshold, MAX_IN_MEMORY)
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
            raise PackageError(
                f"cannot read the file: {exc.strerror or exc}", source=label
            ) from exc
    head = _read_up_to(source, threshold + 1)
    stream_label: str | None = name or cast(str | None, getattr(source, "name", None))
    if len(head) <= threshold:
        return parse_bytes(head, source=stream_label, limits=limits), stream_label
    return stream(itertools.chain([head], _file_chunks(source)), stream_label), stream_label


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
    # Set without re-validation: the reader built both.
    pkg.__dict__["notes"] = reader.notes
    pkg._tree = parsed.root
    return pkg


def read_document(source: Source, **options: Any) -> DocumentPackage:
    """Read a document package; a status package raises PackageError."""
    pkg = read_package(source, **options)
    if not isinstance(pkg, DocumentPackage):
        raise PackageError(
            "this is a status package, not a document package", source=options.get("name")
        )
    return pkg


def read_status(source: Source, **options: Any) -> StatusPackage:
    """Read a status package; a document package raises PackageError."""
    pkg = read_package(source, **options)
    if not isinstance(pkg, StatusPackage):
        pkg.close()
        raise PackageError(
            "this is a document package, not a status package", source=options.get("name")
        )
    return pkg
