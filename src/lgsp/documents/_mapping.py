"""Mapping a parsed edXML tree onto the package models, noting what was tolerated."""

from __future__ import annotations

from typing import Any

import pydantic
from lxml import etree

from lgsp._xml import INSIDE_CTE, ParsedXML
from lgsp.documents._specs import (
    ATTACHMENT,
    BLOCK,
    BLOCK_LIST,
    CTE,
    DOCUMENT_HEADER,
    EDXML_NS,
    FAST,
    FOREIGN,
    ITEM_LIST,
    NS_PREFIX,
    REFERENCE,
    STATUS_HEADER,
    TEXT,
    TEXT_LIST,
    TRACE_LIST,
    Spec,
    all_text,
    local_name,
    text_of,
)
from lgsp.documents._spool import Base64Spool
from lgsp.documents.attachments import Attachment, strip_cid
from lgsp.documents.models import DocumentPackage, StatusPackage
from lgsp.errors import PackageError
from lgsp.findings import Finding, Severity

# The structural children each level may hold. A Signature anywhere is the verifier's business
# (a misplaced one is signature wrapping), so it is never called unknown here.
_ROOT_CHILDREN = frozenset({"edXMLEnvelope", "AttachmentEncoded", "Signature"})
_ENVELOPE_CHILDREN = frozenset({"edXMLHeader", "edXMLBody", "AttachmentEncoded", "Signature"})
_HEADER_CHILDREN = frozenset({"MessageHeader", "TraceHeaderList", "Signature", "DigitalSignature"})


class PackageMapper:
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
        fast = FAST[id(spec)]
        for child in el:
            # Fast path: a QCVN 102 element this block knows, looked up by its full tag.
            entry = fast.get(child.tag)
            if entry is None:
                entry = self.slow_entry(child, spec, path)
                if entry is None:
                    continue
            local, kind, arg = entry
            if kind == TEXT:
                if local in out:
                    self.duplicate(path, local)
                    continue
                value = all_text(child) if len(child) else child.text
                if value:
                    stripped = value.strip()
                    if stripped is not value and local == "OrganId" and stripped:
                        # Read as the code, but a code with blanks is no code: strict refuses.
                        self.note(
                            "organ_id.format",
                            f"{path}/{local}",
                            f"OrganId {value!r} has whitespace around the code",
                            "warning",
                        )
                    if stripped:
                        out[local] = stripped
            elif kind == BLOCK:
                if local in out:
                    self.duplicate(path, local)
                    continue
                out[local] = self.map(child, arg, f"{path}/{local}")
            elif kind == BLOCK_LIST:
                items = out.setdefault(local, [])
                items.append(self.map(child, arg, f"{path}/{local}[{len(items) + 1}]"))
            elif kind == TEXT_LIST:
                out[local] = self.texts(child, arg, f"{path}/{local}")
            elif kind == ITEM_LIST:
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
        local = local_name(tag)
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
            local = local_name(tag)
            if local == item:
                found.append(child)
            else:
                self.unknown(tag, local, path)
        return found

    def texts(self, el: etree._Element, item: str, path: str) -> list[str]:
        return [t for c in self.named(el, item, path) if (t := text_of(c)) is not None]

    def unknown(self, tag: str, local: str, path: str) -> None:
        if local == FOREIGN:
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
                local = local_name(tag)
                if local == FOREIGN and tag.endswith("}Signature"):
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
                meta = self.map(att, ATTACHMENT, apath)
                cte = meta.get(CTE)
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
                spool.write((cte.text if len(cte) == 0 else all_text(cte)) or "")
            spool.close()
            cte.text = None  # the tree keeps no copy of the payload
        return spool

    # packages ------------------------------------------------------------------------------
    def package(self) -> DocumentPackage | StatusPackage:
        root = self.parsed.root
        tag = root.tag if isinstance(root.tag, str) else ""
        ns = tag[1 : tag.index("}")] if tag.startswith("{") else None
        if local_name(tag) != "edXML" or ns not in (EDXML_NS, None):
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
            mh.find(NS_PREFIX + "StatusCode") is not None
            or mh.find("StatusCode") is not None
            or (
                "TraceHeaderList" not in head_kids
                and "edXMLBody" not in env_kids
                and mh.find(NS_PREFIX + "To") is None
                and mh.find("To") is None
            )
        )
        for kids, known, where in (
            (root_kids, _ROOT_CHILDREN, "edXML"),
            (env_kids, _ENVELOPE_CHILDREN, "edXML/edXMLEnvelope"),
            (head_kids, _HEADER_CHILDREN, hpath),
        ):
            for name, found in kids.items():
                if name not in known:
                    for el in found if name == FOREIGN else found[:1]:
                        self.unknown(el.tag, name, where)
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
        header = self.map(mh, DOCUMENT_HEADER, mpath)
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
            traced = self.map(trace, TRACE_LIST, tpath)
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
                    self.map(r, REFERENCE, f"{here}/Reference[{i}]")
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
        header = self.map(mh, STATUS_HEADER, mpath)
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
