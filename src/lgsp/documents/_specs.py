"""What the edXML reader knows of the standard's structure: one table per block.

Each block is a spec: child name → (kind, argument). The mapper walks a tree with them; the
fast tables key each spec by full QCVN 102 tag so that a conforming element costs one lookup.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from lxml import etree

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
NS_PREFIX = "{" + EDXML_NS + "}"
CTE = "ContentTransferEncoded"


# Kinds of child in a mapping spec.
TEXT, BLOCK, BLOCK_LIST, TEXT_LIST, ITEM_LIST, RAW = range(6)
Spec = dict[str, tuple[int, Any]]


def texts(*names: str) -> Spec:
    return dict.fromkeys(names, (TEXT, None))


ORGANIZATION = texts(
    "OrganId",
    "OrganizationInCharge",
    "OrganName",
    "OrganAdd",
    "Email",
    "Telephone",
    "Fax",
    "Website",
)
RESPONSE_FOR = texts("OrganId", "Code", "PromulgationDate", "DocumentId")
STAFF = texts("Department", "DepartmentId", "Staff", "StaffId", "Email", "Mobile")
OTHER_INFO: Spec = {
    **texts(
        "Priority",
        "SphereOfPromulgation",
        "TyperNotation",
        "PromulgationAmount",
        "PageAmount",
        "Direction",
    ),
    "Appendixes": (TEXT_LIST, "Appendix"),
    # No documented structure: kept verbatim so that nothing received is lost.
    "ReplyFors": (RAW, None),
    "ReferenceCodes": (RAW, None),
}
DOCUMENT_HEADER: Spec = {
    "From": (BLOCK, ORGANIZATION),
    "To": (BLOCK_LIST, ORGANIZATION),
    **texts("DocumentId", "Subject", "Content", "DueDate", "SteeringType", "ApplicationType"),
    "Code": (BLOCK, texts("CodeNumber", "CodeNotation")),
    "PromulgationInfo": (BLOCK, texts("Place", "PromulgationDate")),
    "DocumentType": (BLOCK, texts("Type", "TypeDetail", "TypeName")),
    "SignerInfo": (BLOCK, texts("Competence", "Position", "FullName")),
    "OtherInfo": (BLOCK, OTHER_INFO),
    "ResponseFor": (BLOCK_LIST, RESPONSE_FOR),
    "ResponseForTask": (TEXT_LIST, "TaskCode"),
    "ToPlaces": (TEXT_LIST, "Place"),
}
BUSINESS: Spec = {
    **texts("DocumentId", "BussinessDocType", "BussinessDocReason", "Paper"),
    "BussinessDocumentInfo": (
        BLOCK,
        {
            **texts("DocumentInfo", "DocumentReceiver"),
            "ReceiverList": (ITEM_LIST, ("Receiver", texts("OrganId", "ReceiverType"))),
        },
    ),
    "ReplacementInfoList": (
        ITEM_LIST,
        (
            "ReplacementInfo",
            {
                **texts("DocumentId"),
                "OrganIdList": (TEXT_LIST, "OrganId"),
            },
        ),
    ),
    "StaffInfo": (BLOCK, STAFF),
}
TRACE_LIST: Spec = {
    "TraceHeader": (BLOCK_LIST, texts("OrganId", "Timestamp")),
    "Bussiness": (BLOCK, BUSINESS),
    "Business": (BLOCK, BUSINESS),  # misspelt the "right" way; noted below
}
STATUS_HEADER: Spec = {
    "From": (BLOCK, ORGANIZATION),
    "ResponseFor": (BLOCK, RESPONSE_FOR),
    "StaffInfo": (BLOCK, STAFF),
    **texts("StatusCode", "Description", "Timestamp"),
}
REFERENCE = texts("ContentId", "ContentType", "Description", "AttachmentName")
ATTACHMENT = {
    **texts("ContentId", "AttachmentName", "Description", "ContentType", "FieldName", "MimeType"),
    CTE: (RAW, None),
}


def fast_tables(*specs: Spec) -> dict[int, dict[str, tuple[str, int, Any]]]:
    """Per spec, its children keyed by full QCVN 102 tag: one dict lookup per element."""
    tables: dict[int, dict[str, tuple[str, int, Any]]] = {}

    def add(spec: Spec) -> None:
        if id(spec) in tables:
            return
        tables[id(spec)] = {NS_PREFIX + k: (k, kind, arg) for k, (kind, arg) in spec.items()}
        for kind, arg in spec.values():
            if kind in (BLOCK, BLOCK_LIST):
                add(arg)
            elif kind == ITEM_LIST:
                add(arg[1])

    for spec in specs:
        add(spec)
    return tables


FOREIGN = "\x00"
LOCALS: dict[str, str] = {}
FAST = fast_tables(DOCUMENT_HEADER, TRACE_LIST, STATUS_HEADER, REFERENCE, ATTACHMENT)


def local_name(tag: str) -> str:
    """Local name of a QCVN 102 or un-namespaced tag; ``FOREIGN`` for another namespace.

    An undeclared prefix survives recovery as part of the name ("edXML:AttachmentEncoded"
    outside the envelope that declares it, in the kit's own edoc.edxml): it is dropped.
    """
    local = LOCALS.get(tag)
    if local is None:
        if tag.startswith(NS_PREFIX):
            local = tag[len(NS_PREFIX) :]
        elif tag[0] == "{":
            local = FOREIGN
        else:
            local = tag.rpartition(":")[2]
        if len(LOCALS) < 4096:  # bounded: hostile input cannot grow it without end
            LOCALS[tag] = local
    return local


def all_text(el: etree._Element) -> str:
    """Text of an element split by comments or child elements, joined."""
    return "".join(cast(Iterator[str], el.itertext()))


def text_of(el: etree._Element) -> str | None:
    text = el.text if len(el) == 0 else all_text(el)
    if text is None:
        return None
    text = text.strip()
    return text or None
