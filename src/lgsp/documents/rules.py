"""Business rules of edXML packages, each with an id and a severity per profile.

The catalogue :data:`RULES` is the one place that says how serious each rule is under the
``strict`` profile (what lgsp sends) and the ``lenient`` profile (what it accepts). Lengths are
those of Nghị định 30/2020 Phụ lục VI and the Bkav hub's checker (vn-contracts §1.3, §5.4),
counted in characters after NFC normalisation — never bytes, never dot-separated segments (the
Bkav checker's bug), and never code points of decomposed text (NFD Vietnamese would count
every tone mark twice).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator

from lgsp import codes
from lgsp.documents.attachments import strip_cid
from lgsp.documents.models import (
    BusinessDocType,
    DocumentPackage,
    Organization,
    StatusCode,
    StatusPackage,
)
from lgsp.errors import AttachmentError, CodeError
from lgsp.findings import Finding, Profile, Rule

__all__ = ["LENGTH_LIMITS", "RULES", "Rule", "char_length", "check_document", "check_status"]


_CATALOGUE = [
    Rule("xml.schema", "error", "warning", "structure and order against the QCVN 102 XSD"),
    Rule("read.undeclared_prefix", "error", "warning", "a namespace prefix with no declaration"),
    Rule("read.namespace", "error", "info", "elements outside the QCVN 102 namespace"),
    Rule("read.unknown_element", "warning", "info", "an element QCVN 102 does not define"),
    Rule("read.duplicate_element", "error", "warning", "an element given more than once"),
    Rule("read.empty_block", "warning", "info", "a block with no content"),
    Rule("read.signature", "warning", "info", "Signature in the legacy or .NET form"),
    Rule("read.content_id", "error", "info", "ContentId without the 'cid:' prefix"),
    Rule("read.business_spelling", "error", "warning", "'Business' where QCVN 102 has 'Bussiness'"),
    Rule("read.attachment_place", "error", "warning", "AttachmentEncoded inside the envelope"),
    Rule("read.status_body", "error", "warning", "a status package with a body"),
    Rule("header.required", "error", "error", "an element a receiver cannot do without"),
    Rule("header.recommended", "error", "warning", "an element QCVN 102 requires"),
    Rule("organ_id.format", "error", "warning", "organ code form (strict: QCVN 102, 13 chars)"),
    Rule("length.max", "error", "warning", "text longer than NĐ 30/2020 Phụ lục VI allows"),
    Rule("number.range", "error", "warning", "a count or code outside its range"),
    Rule("priority.range", "error", "warning", "Priority outside 0–4"),
    Rule("document_type.type", "warning", "info", "DocumentType/Type outside {1, 2}"),
    Rule("document_id.format", "warning", "info", "DocumentId neither organ,date,code nor UUID"),
    Rule("date.order", "warning", "info", "a due date before the promulgation date"),
    Rule("trace.missing", "warning", "info", "a document package without TraceHeader"),
    Rule("business.missing", "error", "warning", "a document package without Bussiness"),
    Rule("business.doc_type", "error", "warning", "BussinessDocType outside 0–3"),
    Rule("business.revoke.target", "error", "warning", "a revoke that names no target"),
    Rule("business.update.info", "error", "warning", "an update without BussinessDocumentInfo"),
    Rule("business.replace.list", "error", "warning", "a replace without ReplacementInfo"),
    Rule("business.extra_block", "warning", "info", "a sub-block that belongs to another type"),
    Rule("manifest.attachment_missing", "error", "error", "a Reference with no Attachment"),
    Rule("manifest.reference_missing", "error", "warning", "an Attachment not in the manifest"),
    Rule("manifest.duplicate_id", "error", "error", "two attachments with one ContentId"),
    Rule("manifest.mismatch", "warning", "info", "Reference and Attachment disagree"),
    Rule("attachment.content", "error", "error", "undecodable Base64 or a corrupt ZIP"),
    Rule("attachment.label", "error", "warning", "ContentType that misleads official readers"),
    Rule("attachment.name", "error", "warning", "an attachment without AttachmentName"),
    Rule("status.code", "error", "warning", "a status code no source defines"),
    Rule("status.required", "error", "error", "an element a status package cannot do without"),
    Rule("text.xml_char", "error", "error", "a character XML 1.0 cannot carry (NUL, VT…)"),
]
RULES: dict[str, Rule] = {r.id: r for r in _CATALOGUE}

# (path suffix, limit) — NĐ 30/2020 Phụ lục VI and the Bkav checker (vn-contracts §1.3).
LENGTH_LIMITS: dict[str, int] = {
    "OrganName": 200,
    "OrganizationInCharge": 500,
    "OrganAdd": 500,
    "Email": 100,
    "Telephone": 20,
    "Fax": 20,
    "Website": 100,  # Bkav's 20 refuses the kit's own samples; NĐ 30 sets none. Ours: 100.
    "CodeNumber": 11,
    "CodeNotation": 30,
    "Place": 50,
    "Subject": 500,
    "Content": 500,
    "TypeName": 100,
    "SphereOfPromulgation": 100,
    "TyperNotation": 10,
    "ToPlaces/Place": 150,
    "AttachmentName": 500,
    "Position": 100,
    "FullName": 50,
}


def char_length(text: str) -> int:
    """Length in characters as a reader counts them (NFC code points)."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return len(text)
    return len(unicodedata.normalize("NFC", text))


Emit = Callable[[str, str, str], None]
_DOC_ID = re.compile(r"^[^,]+,\d{4}/\d{2}/\d{2},[^,]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _emitter(out: list[Finding], profile: Profile) -> Emit:
    """A function that records a finding of a rule with the severity the profile gives it."""

    def emit(rule: str, location: str, message: str) -> None:
        out.append(
            Finding(
                rule=rule,
                severity=RULES[rule].severity(profile),
                location=location,
                message=message,
            )
        )

    return emit


def _length(emit: Emit, path: str, name: str, value: str | None) -> None:
    if value is None:
        return
    limit = LENGTH_LIMITS.get(name)
    # NFC composes: text within the limit in code points is within it in characters.
    if limit is not None and len(value) > limit and (n := char_length(value)) > limit:
        emit("length.max", path, f"{name} has {n} characters; at most {limit} allowed")


@functools.lru_cache(maxsize=4096)
def _organ_problem(value: str, strict: bool) -> str | None:
    # The same senders and receivers recur in every package: parse each code once.
    try:
        codes.parse_organ_code(value, strict=strict)
    except CodeError as exc:
        return f"{exc} (rule {exc.rule})"
    return None


def _organ_id(emit: Emit, path: str, value: str | None, profile: Profile) -> None:
    if value is not None and (problem := _organ_problem(value, profile == "strict")):
        emit("organ_id.format", path, problem)


def _organization(
    emit: Emit, path: str, org: Organization, profile: Profile, *, required: bool
) -> None:
    if org.organ_id is None:
        emit(
            "header.required" if required else "header.recommended",
            f"{path}/OrganId",
            "OrganId is missing",
        )
    _organ_id(emit, f"{path}/OrganId", org.organ_id, profile)
    if org.organ_name is None:
        emit("header.recommended", f"{path}/OrganName", "OrganName is missing")
    for name, alias in _ORG_TEXT:
        _length(emit, f"{path}/{alias}", alias, getattr(org, name))


_ORG_TEXT = tuple(
    (name, info.alias or name)
    for name, info in Organization.model_fields.items()
    if name != "organ_id"
)


def check_document(pkg: DocumentPackage, profile: Profile, *, deep: bool) -> Iterator[Finding]:
    """Every rule of a document package; ``deep`` reads attachments through (CRC, size)."""
    out: list[Finding] = []
    emit = _emitter(out, profile)

    h = pkg.header
    mh = "MessageHeader"
    _organization(emit, f"{mh}/From", h.from_, profile, required=True)
    if not h.to:
        emit("header.required", f"{mh}/To", "no receiving organisation (To)")
    for i, to in enumerate(h.to, 1):
        _organization(emit, f"{mh}/To[{i}]", to, profile, required=True)
    if h.document_id is None:
        emit("header.recommended", f"{mh}/DocumentId", "DocumentId is missing")
    elif not (_DOC_ID.match(h.document_id) or _UUID.match(h.document_id)):
        emit(
            "document_id.format",
            f"{mh}/DocumentId",
            f"{h.document_id!r} is neither '<OrganId>,<yyyy/MM/dd>,<number>/<notation>' nor a UUID",
        )
    for name, value in (
        ("CodeNumber", h.code.number),
        ("CodeNotation", h.code.notation),
        ("Place", h.promulgation.place),
        ("TypeName", h.document_type.type_name),
        ("Position", h.signer.position),
        ("FullName", h.signer.full_name),
    ):
        block = {
            "CodeNumber": "Code",
            "CodeNotation": "Code",
            "Place": "PromulgationInfo",
            "TypeName": "DocumentType",
        }.get(name, "SignerInfo")
        if value is None:
            emit("header.recommended", f"{mh}/{block}/{name}", f"{name} is missing")
        _length(emit, f"{mh}/{block}/{name}", name, value)
    if h.promulgation.date is None:
        emit(
            "header.recommended",
            f"{mh}/PromulgationInfo/PromulgationDate",
            "PromulgationDate is missing",
        )
    if h.document_type.type is None:
        emit("header.recommended", f"{mh}/DocumentType/Type", "Type is missing")
    elif h.document_type.type not in (1, 2):
        emit(
            "document_type.type",
            f"{mh}/DocumentType/Type",
            f"Type {h.document_type.type}: the Bkav hub accepts only 1 or 2",
        )
    if h.subject is None:
        emit("header.required", f"{mh}/Subject", "Subject (trích yếu) is missing")
    _length(emit, f"{mh}/Subject", "Subject", h.subject)
    _length(emit, f"{mh}/Content", "Content", h.content)
    if h.due_date and h.promulgation.date and h.due_date < h.promulgation.date:
        emit(
            "date.order",
            f"{mh}/DueDate",
            f"due date {h.due_date} is before the promulgation date {h.promulgation.date}",
        )
    oi = h.other_info
    if oi is not None:
        if oi.priority is not None and not 0 <= oi.priority <= 4:
            emit("priority.range", f"{mh}/OtherInfo/Priority", f"Priority {oi.priority}: 0–4")
        for name, amount in (
            ("PromulgationAmount", oi.promulgation_amount),
            ("PageAmount", oi.page_amount),
        ):
            if amount is not None and amount < 0:
                emit("number.range", f"{mh}/OtherInfo/{name}", f"{name} {amount} is negative")
        _length(
            emit,
            f"{mh}/OtherInfo/SphereOfPromulgation",
            "SphereOfPromulgation",
            oi.sphere_of_promulgation,
        )
        _length(emit, f"{mh}/OtherInfo/TyperNotation", "TyperNotation", oi.typer_notation)
    for i, rf in enumerate(h.response_for, 1):
        _organ_id(emit, f"{mh}/ResponseFor[{i}]/OrganId", rf.organ_id, profile)
    for i, place in enumerate(h.to_places, 1):
        _length(emit, f"{mh}/ToPlaces/Place[{i}]", "ToPlaces/Place", place)

    trace = "TraceHeaderList"
    if not pkg.traces:
        emit("trace.missing", trace, "no TraceHeader: the package's route is not recorded")
    for i, th in enumerate(pkg.traces, 1):
        _organ_id(emit, f"{trace}/TraceHeader[{i}]/OrganId", th.organ_id, profile)
    _business(emit, pkg)
    _manifest(emit, pkg, deep=deep)
    out.extend(_renoted(pkg.notes, profile))
    return iter(out)


def _business(emit: Emit, pkg: DocumentPackage) -> None:
    path = "TraceHeaderList/Bussiness"
    b = pkg.business
    if b is None:
        emit(
            "business.missing",
            path,
            "no Bussiness block: receivers cannot tell new from "
            "revoke, update or replace (a new document is assumed)",
        )
        return
    kind = b.kind
    if kind is None:
        emit(
            "business.doc_type",
            f"{path}/BussinessDocType",
            f"BussinessDocType {b.doc_type}: 0 new, 1 revoke, 2 update, 3 replace",
        )
    if b.paper is not None and b.paper not in (0, 1):
        emit("number.range", f"{path}/Paper", f"Paper {b.paper}: 0 or 1")
    if (
        kind is BusinessDocType.REVOKE
        and not any(rf.document_id for rf in pkg.header.response_for)
        and not b.document_id
    ):
        emit(
            "business.revoke.target",
            path,
            "a revoke names the revoked document in MessageHeader/ResponseFor/DocumentId",
        )
    if kind is BusinessDocType.UPDATE and b.document_info is None:
        emit("business.update.info", path, "an update carries BussinessDocumentInfo")
    if kind is BusinessDocType.REPLACE:
        if not b.replacements:
            emit("business.replace.list", path, "a replace carries ReplacementInfoList")
        for i, r in enumerate(b.replacements, 1):
            if not r.document_id or not r.organ_ids:
                emit(
                    "business.replace.list",
                    f"{path}/ReplacementInfoList/ReplacementInfo[{i}]",
                    "ReplacementInfo needs DocumentId and at least one OrganId",
                )
    if b.document_info is not None and kind is not BusinessDocType.UPDATE:
        emit(
            "business.extra_block",
            f"{path}/BussinessDocumentInfo",
            "BussinessDocumentInfo belongs to updates (BussinessDocType 2)",
        )
    if b.replacements and kind is not BusinessDocType.REPLACE:
        emit(
            "business.extra_block",
            f"{path}/ReplacementInfoList",
            "ReplacementInfoList belongs to replacements (BussinessDocType 3)",
        )


def _manifest(emit: Emit, pkg: DocumentPackage, *, deep: bool) -> None:
    seen: set[str] = set()
    by_id = {}
    for i, att in enumerate(pkg.attachments, 1):
        path = f"AttachmentEncoded/Attachment[{i}]"
        if att.content_id in seen:
            emit("manifest.duplicate_id", path, f"ContentId {att.content_id!r} is used twice")
        seen.add(att.content_id)
        by_id[att.content_id] = att
        if not att.name:
            emit("attachment.name", f"{path}/AttachmentName", "AttachmentName is missing")
        _length(emit, f"{path}/AttachmentName", "AttachmentName", att.name)
        if att.problem is not None:
            emit("attachment.content", f"{path}/ContentTransferEncoded", att.problem)
        elif deep:
            try:
                att.verify()
            except AttachmentError as exc:
                emit("attachment.content", f"{path}/ContentTransferEncoded", str(exc))
        label = (att.wire_content_type or "").lower()
        if att.encoding == "zip" and label != "application/zip":
            emit(
                "attachment.label",
                f"{path}/ContentType",
                f"payload is a ZIP labelled {att.wire_content_type!r}: official readers unzip "
                "only what is labelled application/zip",
            )
        if att.encoding == "raw" and label == "application/zip" and att.problem is None:
            emit(
                "attachment.label",
                f"{path}/ContentType",
                "labelled application/zip but the payload is not a one-file ZIP",
            )
    if not pkg.manifest:
        return  # a built package: the writer derives the manifest from the attachments
    referenced: set[str] = set()
    for i, ref in enumerate(pkg.manifest, 1):
        path = f"edXMLBody/edXMLManifest/Reference[{i}]"
        cid = strip_cid(ref.content_id) if ref.content_id else None
        if cid is None:
            emit("manifest.attachment_missing", path, "Reference without ContentId")
            continue
        referenced.add(cid)
        target = by_id.get(cid)
        if target is None:
            emit("manifest.attachment_missing", path, f"no Attachment has ContentId {cid!r}")
        elif ref.attachment_name and target.name and ref.attachment_name != target.name:
            emit(
                "manifest.mismatch",
                path,
                f"AttachmentName {ref.attachment_name!r} here, {target.name!r} in the Attachment",
            )
    for i, att in enumerate(pkg.attachments, 1):
        if att.content_id not in referenced:
            emit(
                "manifest.reference_missing",
                f"AttachmentEncoded/Attachment[{i}]",
                f"ContentId {att.content_id!r} is not in the manifest",
            )


def check_status(pkg: StatusPackage, profile: Profile) -> Iterator[Finding]:
    """Every rule of a status package."""
    out: list[Finding] = []
    emit = _emitter(out, profile)

    h = pkg.header
    mh = "MessageHeader"
    _organization(emit, f"{mh}/From", h.from_, profile, required=True)
    if h.response_for.document_id is None:
        emit(
            "status.required",
            f"{mh}/ResponseFor/DocumentId",
            "the status names no document (ResponseFor/DocumentId)",
        )
    _organ_id(emit, f"{mh}/ResponseFor/OrganId", h.response_for.organ_id, profile)
    if h.code is None:
        emit("status.required", f"{mh}/StatusCode", "StatusCode is missing")
    elif h.status is None:
        known = ", ".join(c.value for c in StatusCode)
        emit("status.code", f"{mh}/StatusCode", f"status code {h.code!r} is not one of {known}")
    if h.timestamp is None:
        emit("status.required", f"{mh}/Timestamp", "Timestamp is missing")
    out.extend(_renoted(pkg.notes, profile))
    return iter(out)


def _renoted(notes: list[Finding], profile: Profile) -> Iterator[Finding]:
    """Reader notes, with the severity the profile gives their rule."""
    for note in notes:
        rule = RULES.get(note.rule)
        severity = rule.severity(profile) if rule else note.severity
        yield note if severity == note.severity else note.model_copy(update={"severity": severity})
